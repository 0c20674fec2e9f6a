"""OpenTelemetry: a span per call and a child span per HTTP attempt, on every transport.

Spans go to the SDK's in-memory exporter through a tracer provider of the test's own (the
global one is never set). The async tests run over both async transports.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from django_api_orm import _observe, otel, signals
from tests.conftest import service_settings
from tests.models import Book
from tests.upstream_fixture import Upstream


class Spans:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def all(self) -> list[ReadableSpan]:
        return sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)

    def calls(self) -> list[ReadableSpan]:
        return [s for s in self.all() if s.kind == SpanKind.INTERNAL]

    def attempts(self) -> list[ReadableSpan]:
        return [s for s in self.all() if s.kind == SpanKind.CLIENT]

    def only_call(self) -> ReadableSpan:
        [call] = [s for s in self.calls() if s.name != "test"]
        return call


@pytest.fixture
def spans() -> Iterator[Spans]:
    recorded = Spans()
    otel.instrument(tracer_provider=recorded.provider)
    try:
        yield recorded
    finally:
        otel.uninstrument()
    assert _observe._observers == ()


@pytest.fixture(params=["httpx", "aiohttp"])
def async_transport(request: pytest.FixtureRequest, upstream: Upstream) -> Iterator[str]:
    raw = service_settings(upstream, ASYNC_TRANSPORT=request.param)
    with override_settings(API_ORM_SERVICES={"default": raw}):
        yield request.param


def children_of(call: ReadableSpan, spans: Spans) -> list[ReadableSpan]:
    assert call.context is not None
    return [s for s in spans.attempts() if s.parent and s.parent.span_id == call.context.span_id]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def check_get_book_7(spans: Spans, upstream: Upstream, name: str) -> None:
    call = spans.only_call()
    assert call.name == name
    assert attributes(call) == {
        "django_api_orm.service": "default",
        "django_api_orm.model": "Book",
        "django_api_orm.method": name.removeprefix("Book."),
    }
    assert call.status.status_code == StatusCode.UNSET
    [attempt] = children_of(call, spans)
    assert attempt.name == "GET" and attempt.kind == SpanKind.CLIENT
    port = int(upstream.url.rsplit(":", 1)[1])
    assert attributes(attempt) == {
        "http.request.method": "GET",
        "url.full": f"{upstream.url}/api/books/7/",
        "url.scheme": "http",
        "server.address": "127.0.0.1",
        "server.port": port,
        "http.response.status_code": 200,
        "django_api_orm.service": "default",
    }
    assert attempt.status.status_code == StatusCode.UNSET
    assert call.start_time is not None and attempt.start_time is not None
    assert call.end_time is not None and attempt.end_time is not None
    assert call.start_time <= attempt.start_time < attempt.end_time <= call.end_time


# -- one call, one attempt, on each transport ----------------------------------------------------


def test_sync_httpx(spans: Spans, upstream: Upstream) -> None:
    assert Book.objects.get(pk=7).pk == 7
    check_get_book_7(spans, upstream, "Book.objects.get")


async def test_async_transports(spans: Spans, upstream: Upstream, async_transport: str) -> None:
    assert (await Book.objects.aget(pk=7)).pk == 7
    check_get_book_7(spans, upstream, "Book.objects.aget")


# -- retries, failures, errors --------------------------------------------------------------------


def check_retried(spans: Spans) -> None:
    call = spans.only_call()
    attempts = children_of(call, spans)
    assert [attributes(a)["http.response.status_code"] for a in attempts] == [503, 503, 200]
    assert [attributes(a).get("http.request.resend_count") for a in attempts] == [None, 1, 2]
    assert [attributes(a).get("error.type") for a in attempts] == ["503", "503", None]
    assert [a.status.status_code for a in attempts][:2] == [StatusCode.ERROR] * 2
    assert call.status.status_code == StatusCode.UNSET


def test_retries_sync(spans: Spans, upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/7/", status=503, times=2)
    Book.objects.get(pk=7)
    check_retried(spans)


async def test_retries_async(spans: Spans, upstream: Upstream, async_transport: str) -> None:
    upstream.fault(path_prefix="/api/books/7/", status=503, times=2)
    await Book.objects.aget(pk=7)
    check_retried(spans)


@pytest.fixture
def dead_service(upstream: Upstream, request: pytest.FixtureRequest) -> Iterator[None]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = getattr(request, "param", "auto")
    dead = service_settings(upstream, MAX_RETRIES=1, ASYNC_TRANSPORT=transport)
    dead["BASE_URL"] = f"http://127.0.0.1:{port}/api/"
    with override_settings(API_ORM_SERVICES={"default": dead}):
        yield


def check_connection_failed(spans: Spans) -> None:
    call = spans.only_call()
    failure = "django_api_orm.exceptions.APIConnectionError"
    assert attributes(call)["error.type"] == failure
    assert call.status.status_code == StatusCode.ERROR
    attempts = children_of(call, spans)
    assert [attributes(a).get("error.type") for a in attempts] == [failure, failure]
    assert all("http.response.status_code" not in attributes(a) for a in attempts)
    assert [attributes(a).get("http.request.resend_count") for a in attempts] == [None, 1]


@pytest.mark.usefixtures("dead_service")
def test_connection_failure_sync(spans: Spans) -> None:
    with pytest.raises(Exception, match="Connection refused"):
        Book.objects.count()
    check_connection_failed(spans)


@pytest.mark.parametrize("dead_service", ["httpx", "aiohttp"], indirect=True)
@pytest.mark.usefixtures("dead_service")
async def test_connection_failure_async(spans: Spans) -> None:
    with pytest.raises(Exception, match="Connection refused"):
        await Book.objects.acount()
    check_connection_failed(spans)


def test_does_not_exist(spans: Spans, upstream: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(pk=999)
    call = spans.only_call()
    assert attributes(call)["error.type"] == "tests.models.Book.DoesNotExist"
    [attempt] = children_of(call, spans)
    assert attributes(attempt)["http.response.status_code"] == 404
    assert attributes(attempt)["error.type"] == "404"


# -- secrets ---------------------------------------------------------------------------------------


async def test_no_secret_in_any_span(spans: Spans, upstream: Upstream) -> None:
    book = Book.objects.using("private")
    await book.params(api_key="s3cret", access_token="t0ken").acount()
    [attempt] = spans.attempts()
    assert "api_key=***" in attributes(attempt)["url.full"]
    assert "access_token=***" in attributes(attempt)["url.full"]
    for span in spans.all():
        text = repr(sorted((span.attributes or {}).items())) + span.name
        for secret in ("s3cret", "t0ken", "test-token", "Bearer"):
            assert secret not in text
        assert not any("authorization" in key.lower() for key in span.attributes or {})
    [request] = upstream.requests()
    assert request["headers"].get("authorization") == "Bearer test-token"  # it was sent


# -- shapes of calls -------------------------------------------------------------------------------


async def test_gathered_requests_are_children_of_the_call(
    spans: Spans, upstream: Upstream, async_transport: str
) -> None:
    assert await Book.objects.filter(author="Ada").aupdate(in_stock=False) == 5
    call = spans.only_call()
    assert call.name == "Book.objects.aupdate"
    methods = sorted(a.name for a in children_of(call, spans))
    assert methods == ["GET"] + ["PATCH"] * 5
    assert len(spans.attempts()) == 6


async def test_async_for_is_one_call_current_only_while_fetching(
    spans: Spans, upstream: Upstream, async_transport: str
) -> None:
    from opentelemetry import trace

    seen = set()
    titles = []
    async for book in Book.objects.all():
        seen.add(trace.get_current_span().get_span_context().span_id)
        titles.append(book.title)
    assert len(titles) == 25
    call = spans.only_call()
    assert call.name == "Book.objects.aiterator"
    assert len(children_of(call, spans)) == len(spans.attempts()) == 3
    assert call.context is not None and call.context.span_id not in seen


def test_iterator_sync_and_early_stop(spans: Spans, upstream: Upstream) -> None:
    for _book in Book.objects.all().iterator(chunk_size=5):
        break
    call = spans.only_call()
    assert call.name == "Book.objects.iterator"
    assert call.status.status_code == StatusCode.UNSET  # stopping early is no error
    assert len(children_of(call, spans)) == 1


async def test_model_methods(spans: Spans, upstream: Upstream) -> None:
    book = await Book.objects.aget(pk=3)
    book.title = "Renamed"
    await book.asave(update_fields=["title"])
    assert [s.name for s in spans.calls()] == ["Book.objects.aget", "Book.asave"]
    assert children_of(spans.calls()[1], spans)[0].name == "PATCH"


def test_calls_nest_under_the_current_span(spans: Spans, upstream: Upstream) -> None:
    tracer = spans.provider.get_tracer("test")
    with tracer.start_as_current_span("test") as outer:
        Book.objects.count()
    call = spans.only_call()
    assert call.parent is not None and call.parent.span_id == outer.get_span_context().span_id


def test_attempts_without_a_call_use_the_current_span(spans: Spans, upstream: Upstream) -> None:
    from django_api_orm import ServiceClient

    tracer = spans.provider.get_tracer("test")
    with (
        tracer.start_as_current_span("test") as outer,
        ServiceClient(base_url=f"{upstream.url}/api/") as client,
    ):
        client.get("/books/7/")
    [attempt] = spans.attempts()
    assert attempt.parent is not None
    assert attempt.parent.span_id == outer.get_span_context().span_id


# -- switching it on and off -----------------------------------------------------------------------


def test_off_costs_nothing(upstream: Upstream) -> None:
    assert not otel.is_instrumented()
    assert _observe._observers == ()
    assert not signals.api_request.has_listeners()
    assert _observe.call(Book, "aget", Book._meta.get_service()) is _observe._NOOP
    stream = iter([])
    assert _observe.pages(Book, "iterator", Book._meta.get_service(), stream) is stream


def test_setting_turns_it_on_and_off(upstream: Upstream) -> None:
    with override_settings(API_ORM_OPENTELEMETRY=True):
        assert otel.is_instrumented()
        assert signals.api_request.has_listeners()
    assert not otel.is_instrumented()
    with (
        pytest.raises(ImproperlyConfigured, match="True or False"),
        override_settings(API_ORM_OPENTELEMETRY="yes"),
    ):
        pass
    otel.uninstrument()


def test_instrument_twice_keeps_one_observer(spans: Spans, upstream: Upstream) -> None:
    otel.instrument(tracer_provider=spans.provider)
    Book.objects.count()
    assert len(spans.calls()) == 1 and len(_observe._observers) == 1


def test_a_failing_observer_never_breaks_the_call(
    spans: Spans, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(_observe.Observer):
        def call_started(self, call: _observe.Call) -> None:
            raise RuntimeError("observer bug")

        def attempt(self, attempt: _observe.Attempt) -> None:
            raise RuntimeError("observer bug")

    broken = Broken()
    _observe.subscribe(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="django_api_orm"):
            assert Book.objects.get(pk=7).pk == 7
    finally:
        _observe.unsubscribe(broken)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage().rsplit(".", 1)[-1] for r in failures] == [
        "call_started failed",
        "attempt failed",
    ]
    assert len(spans.calls()) == 1


def test_a_failing_stream_marks_its_span(spans: Spans, upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", status=500, times=None)
    with pytest.raises(Exception, match="500"):
        list(Book.objects.all().iterator())
    call = spans.only_call()
    assert attributes(call)["error.type"] == "django_api_orm.exceptions.ServerError"


async def test_a_failing_async_stream_marks_its_span(
    spans: Spans, upstream: Upstream, async_transport: str
) -> None:
    upstream.fault(path_prefix="/api/books/", status=500, times=None)
    with pytest.raises(Exception, match="500"):
        [book async for book in Book.objects.all()]
    call = spans.only_call()
    assert attributes(call)["error.type"] == "django_api_orm.exceptions.ServerError"


async def test_an_async_stream_left_early_ends_its_span(spans: Spans, upstream: Upstream) -> None:
    import asyncio

    async for _book in Book.objects.all():
        break
    for _ in range(20):  # the abandoned generators are closed by the loop, soon after
        await asyncio.sleep(0.01)
        if spans.calls():
            break
    call = spans.only_call()
    assert call.name == "Book.objects.aiterator"
    assert call.status.status_code == StatusCode.UNSET


async def test_call_names_are_the_methods_called(spans: Spans, upstream: Upstream) -> None:
    from asgiref.sync import sync_to_async

    await Book.objects.alast()
    await Book.objects.filter(author="Ada").aall()
    await Book.objects.aexists()

    def sync_calls() -> None:
        Book.objects.last()
        list(Book.objects.filter(author="Ada"))
        (book := Book.objects.get(pk=2)).refresh_from_api()
        assert book.pk == 2

    await sync_to_async(sync_calls)()
    assert [span.name for span in spans.calls()] == [
        "Book.objects.alast",
        "Book.objects.aall",
        "Book.objects.aexists",
        "Book.objects.last",
        "Book.objects.all",
        "Book.objects.get",
        "Book.refresh_from_api",
    ]
