"""Every driver, against a misbehaving server on 127.0.0.1: the same guarantees whichever HTTP
stack carries the request (``SYNC_TRANSPORTS`` x ``ASYNC_TRANSPORTS``).

* every transport failure is a typed error of the ``APIError`` tree (a malformed response
  too), retried when it may be; a refused connection says so;
* the server sees at most ``MAX_RETRIES + 1`` sends (no HTTP library resends by itself);
* one deadline per call covers connecting, every attempt, the waits and the body;
* configured headers never reach another origin, cookies are not kept unless ``COOKIES``,
  secrets show in no log line (the HTTP libraries' own included), in no error and in no
  frame local of the request path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import exceptions as exc
from django_api_orm._registry import services
from django_api_orm.client import request_plan
from tests.faults import (
    ASYNC_TRANSPORTS,
    SYNC_TRANSPORTS,
    RawServer,
    Seen,
    aclosing_services,
    book_json,
    recorded_attempts,
    reply,
    settings_for,
)
from tests.faults.test_secrets import technical_pages, texts_of
from tests.models import Book

TOKEN = "tok-5ecr3t-drivers"
API_KEY = "key-5ecr3t-drivers"
QUERY_SECRET = "q-5ecr3t-drivers"


def configured(server: RawServer, sync: str | None = None, aio: str | None = None, **extra: Any):
    options: dict[str, Any] = {"AUTH_TOKEN": TOKEN, "HEADERS": {"X-API-Key": API_KEY}}
    if sync:
        options["SYNC_TRANSPORT"] = sync
    if aio:
        options["ASYNC_TRANSPORT"] = aio
    return settings_for(server.url, **{**options, **extra})


def get_sync(server: RawServer, transport: str, call: Callable[[], Any], **extra: Any) -> Any:
    with override_settings(API_ORM_SERVICES={"default": configured(server, transport, **extra)}):
        return call()


def answer_book(seen: Seen, handler: Any) -> None:
    pk = seen.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    reply(handler, 200, book_json(pk if pk.isdigit() else 1))


# -- malformed responses are typed, retried, and leak nothing -----------------------------------


def malformed(seen: Seen, handler: Any) -> None:
    handler.close_connection = True
    handler.wfile.write(b"NOT HTTP AT ALL\r\nX: y\r\n\r\n")


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_malformed_response_is_a_typed_retried_error(transport: str) -> None:
    with RawServer(malformed) as server, pytest.raises(exc.APIConnectionError) as info:
        get_sync(server, transport, lambda: Book.objects.get(pk=1), MAX_RETRIES=2)
    assert "Not a valid HTTP response" in str(info.value)
    assert info.value.retryable and len(server.seen) == 3
    pages = [*texts_of(info.value), *technical_pages(info.value)]
    assert not [t for t in pages if TOKEN in t or API_KEY in t]


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_malformed_response_is_a_typed_retried_error(transport: str) -> None:
    with RawServer(malformed) as server:
        async with aclosing_services(default=configured(server, aio=transport, MAX_RETRIES=2)):
            with pytest.raises(exc.APIConnectionError) as info:
                await Book.objects.aget(pk=1)
    assert "Not a valid HTTP response" in str(info.value)
    assert len(server.seen) == 3
    pages = [*texts_of(info.value), *technical_pages(info.value)]
    assert not [t for t in pages if TOKEN in t or API_KEY in t]


# -- refused is refused ---------------------------------------------------------------------


def check_refused(error: BaseException, attempts: list[dict[str, Any]], elapsed: float) -> None:
    assert type(error) is exc.APIConnectionError, repr(error)
    assert "Connection refused by 127.0.0.1:" in str(error)
    assert "ssl" not in str(error).lower() and "timeout" not in str(error).lower()
    assert len(attempts) == 2  # MAX_RETRIES=1
    assert elapsed < 1.0


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_connection_refused_is_reported_as_refused(transport: str) -> None:
    with RawServer(answer_book, start=False) as server, recorded_attempts() as attempts:
        started = time.perf_counter()
        with pytest.raises(exc.RequestError) as info:
            get_sync(server, transport, lambda: Book.objects.get(pk=1), MAX_RETRIES=1)
        check_refused(info.value, attempts, time.perf_counter() - started)


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_connection_refused_is_reported_as_refused(transport: str) -> None:
    with RawServer(answer_book, start=False) as server, recorded_attempts() as attempts:
        async with aclosing_services(default=configured(server, aio=transport, MAX_RETRIES=1)):
            started = time.perf_counter()
            with pytest.raises(exc.RequestError) as info:
                await Book.objects.aget(pk=1)
            check_refused(info.value, attempts, time.perf_counter() - started)


# -- at most MAX_RETRIES + 1 sends ------------------------------------------------------------


class DropsReusedConnections:
    """Answers the first request of a connection; reads the next one on that connection,
    then hangs up without answering (a keep-alive connection the server closed)."""

    def __call__(self, seen: Seen, handler: Any) -> None:
        handler.requests_here = getattr(handler, "requests_here", 0) + 1
        if handler.requests_here == 1:
            answer_book(seen, handler)
        else:
            handler.close_connection = True


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_no_driver_resends_by_itself(transport: str) -> None:
    with RawServer(DropsReusedConnections()) as server:

        def calls() -> Any:
            assert Book.objects.get(pk=1).id == 1
            with pytest.raises(exc.APIConnectionError):
                Book.objects.get(pk=2)  # on the kept-alive connection, which the server drops

        get_sync(server, transport, calls, MAX_RETRIES=0)
    assert [s.path for s in server.seen] == ["/api/books/1/", "/api/books/2/"]


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_no_driver_resends_by_itself(transport: str) -> None:
    with RawServer(DropsReusedConnections()) as server:
        async with aclosing_services(default=configured(server, aio=transport, MAX_RETRIES=0)):
            assert (await Book.objects.aget(pk=1)).id == 1
            with pytest.raises(exc.APIConnectionError):
                await Book.objects.aget(pk=2)
    assert [s.path for s in server.seen] == ["/api/books/1/", "/api/books/2/"]


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_retries_are_the_policys_only(transport: str) -> None:
    with RawServer(DropsReusedConnections()) as server:
        async with aclosing_services(default=configured(server, aio=transport, MAX_RETRIES=1)):
            assert (await Book.objects.aget(pk=1)).id == 1
            assert (await Book.objects.aget(pk=2)).id == 2  # the policy's one retry
    assert len(server.seen) == 3  # 1 + (MAX_RETRIES + 1)


# -- one deadline per call ----------------------------------------------------------------------


def trickle(seen: Seen, handler: Any) -> None:
    """Headers at once, then the body 1 byte every 0.25 s."""
    body = book_json(1).ljust(100)
    handler.close_connection = True
    try:
        handler.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.25)
    except OSError:
        pass


def check_deadline(error: BaseException, elapsed: float) -> None:
    assert type(error) is exc.APITimeoutError, repr(error)
    assert 0.9 <= elapsed <= 1.4, elapsed


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_a_trickled_body_ends_at_the_deadline(transport: str) -> None:
    with RawServer(trickle) as server:
        started = time.perf_counter()
        with pytest.raises(exc.RequestError) as info:
            get_sync(server, transport, lambda: Book.objects.get(pk=1), TIMEOUT=1)
        check_deadline(info.value, time.perf_counter() - started)
    assert len(server.seen) == 1  # a timeout after sending is not retried


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_trickled_body_ends_at_the_deadline(transport: str) -> None:
    with RawServer(trickle) as server:
        async with aclosing_services(default=configured(server, aio=transport, TIMEOUT=1)):
            started = time.perf_counter()
            with pytest.raises(exc.RequestError) as info:
                await Book.objects.aget(pk=1)
            check_deadline(info.value, time.perf_counter() - started)


RETRYING = {"TIMEOUT": 1, "MAX_RETRIES": 10, "RETRY_DELAY": 0.3, "RETRY_MAX_WAIT": 5}


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_retries_and_waits_end_within_the_deadline(transport: str) -> None:
    with RawServer(answer_book, start=False) as server, recorded_attempts() as attempts:
        started = time.perf_counter()
        with pytest.raises(exc.APIConnectionError):
            get_sync(server, transport, lambda: Book.objects.get(pk=1), **RETRYING)
        elapsed = time.perf_counter() - started
    assert 2 <= len(attempts) < 11 and elapsed <= 1.2, (len(attempts), elapsed)


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_retries_and_waits_end_within_the_deadline(transport: str) -> None:
    with RawServer(answer_book, start=False) as server, recorded_attempts() as attempts:
        async with aclosing_services(default=configured(server, aio=transport, **RETRYING)):
            started = time.perf_counter()
            with pytest.raises(exc.APIConnectionError):
                await Book.objects.aget(pk=1)
            elapsed = time.perf_counter() - started
    assert 2 <= len(attempts) < 11 and elapsed <= 1.2, (len(attempts), elapsed)


# -- redirects: configured headers stay on their origin -------------------------------------


@pytest.fixture
def landing() -> Iterator[RawServer]:
    with RawServer(lambda seen, handler: reply(handler, 200, book_json(1))) as server:
        yield server


@pytest.fixture
def redirecting(landing: RawServer) -> Iterator[RawServer]:
    def answer(seen: Seen, handler: Any) -> None:
        if "/away/" in seen.path:
            reply(handler, 302, b"", [("Location", f"{landing.url}/api/books/1/")])
        elif "/stay/" in seen.path:
            reply(handler, 307, b"", [("Location", "/api/books/1/")])
        else:
            answer_book(seen, handler)

    with RawServer(answer) as server:
        yield server


def secret_headers(seen: Seen) -> list[str]:
    return [name for name in ("authorization", "x-api-key", "cookie") if name in seen.headers]


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_no_configured_header_follows_a_redirect_elsewhere(
    redirecting: RawServer, landing: RawServer, transport: str
) -> None:
    def calls() -> None:
        service = services["default"]
        for path in ("away/", "stay/"):
            assert service.run(request_plan(service.context, "GET", path)).data["id"] == 1

    get_sync(redirecting, transport, calls, FOLLOW_REDIRECTS=True)
    assert [secret_headers(s) for s in landing.seen] == [[]]
    assert [secret_headers(s) for s in redirecting.seen] == [["authorization", "x-api-key"]] * 3
    assert (landing.seen[0].method, landing.seen[0].body) == ("GET", b"")


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_no_configured_header_follows_a_redirect_elsewhere(
    redirecting: RawServer, landing: RawServer, transport: str
) -> None:
    options = configured(redirecting, aio=transport, FOLLOW_REDIRECTS=True)
    async with aclosing_services(default=options):
        service = services["default"]
        for path in ("away/", "stay/"):
            assert (await service.arun(request_plan(service.context, "GET", path))).data["id"] == 1
    assert [secret_headers(s) for s in landing.seen] == [[]]
    assert [secret_headers(s) for s in redirecting.seen] == [["authorization", "x-api-key"]] * 3
    assert "transfer-encoding" not in landing.seen[0].headers


def test_a_303_after_a_post_is_a_get_without_body(
    redirecting: RawServer, landing: RawServer
) -> None:
    def answer(seen: Seen, handler: Any) -> None:
        reply(handler, 303, b"", [("Location", f"{landing.url}/api/books/1/")])

    with RawServer(answer) as server:
        options = configured(server, FOLLOW_REDIRECTS=True)
        with override_settings(API_ORM_SERVICES={"default": options}):
            service = services["default"]
            service.run(request_plan(service.context, "POST", "books/", data={"a": 1}))
    [seen] = landing.seen
    assert (seen.method, seen.body, secret_headers(seen)) == ("GET", b"", [])
    assert "content-type" not in seen.headers and "content-length" not in seen.headers


# -- cookies ----------------------------------------------------------------------------------


def cookie_setter(seen: Seen, handler: Any) -> None:
    pk = seen.path.rstrip("/").rsplit("/", 1)[-1]
    reply(handler, 200, book_json(pk), [("Set-Cookie", f"session=user-{pk}; Path=/")])


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
@pytest.mark.parametrize("keep", [False, True], ids=["default", "COOKIES"])
def test_cookies_are_kept_only_when_enabled(transport: str, keep: bool) -> None:
    with RawServer(cookie_setter) as server:
        get_sync(
            server,
            transport,
            lambda: [Book.objects.get(pk=pk) for pk in (1, 2)],
            **({"COOKIES": True} if keep else {}),
        )
    cookies = [s.headers.get("cookie") for s in server.seen]
    assert cookies == ([None, "session=user-1"] if keep else [None, None])


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
@pytest.mark.parametrize("keep", [False, True], ids=["default", "COOKIES"])
async def test_async_cookies_are_kept_only_when_enabled(transport: str, keep: bool) -> None:
    with RawServer(cookie_setter) as server:
        options = configured(server, aio=transport, **({"COOKIES": True} if keep else {}))
        async with aclosing_services(default=options):
            for pk in (1, 2):
                await Book.objects.aget(pk=pk)
    cookies = [s.headers.get("cookie") for s in server.seen]
    assert cookies == ([None, "session=user-1"] if keep else [None, None])


# -- logs -------------------------------------------------------------------------------------


def every_log_text(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(message)s")
    return [formatter.format(r) + repr(r.args) for r in records]


def answer_or_fail(seen: Seen, handler: Any) -> None:
    if "/books/" in seen.path:
        reply(handler, 500, b'{"detail": "boom"}')
    else:
        reply(handler, 200, json.dumps({"count": 0, "results": []}).encode())


def query_calls(service: Any) -> list[Any]:
    return [
        request_plan(service.context, "GET", "list/", params={"api_key": QUERY_SECRET}),
        request_plan(service.context, "GET", "books/", params={"access_token": QUERY_SECRET}),
    ]


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_query_secrets_show_in_no_log_line(
    caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: httpx, httpcore, aiohttp...
    with RawServer(answer_or_fail) as server:

        def calls() -> None:
            service = services["default"]
            ok, failing = query_calls(service)
            service.run(ok)
            with pytest.raises(exc.ServerError):
                service.run(failing)

        get_sync(server, transport, calls, MAX_RETRIES=0)
    assert [s.path.split("?")[0] for s in server.seen] == ["/api/list/", "/api/books/"]
    assert QUERY_SECRET in server.seen[0].path  # it was sent
    texts = every_log_text(caplog.records)
    assert texts and not [t for t in texts if QUERY_SECRET in t or TOKEN in t or API_KEY in t]


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_query_secrets_show_in_no_log_line(
    caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with RawServer(answer_or_fail) as server:
        async with aclosing_services(default=configured(server, aio=transport, MAX_RETRIES=0)):
            service = services["default"]
            ok, failing = query_calls(service)
            await service.arun(ok)
            with pytest.raises(exc.ServerError):
                await service.arun(failing)
    texts = every_log_text(caplog.records)
    assert texts and not [t for t in texts if QUERY_SECRET in t or TOKEN in t or API_KEY in t]


# -- secrets echoed back --------------------------------------------------------------------------


def echoes(seen: Seen, handler: Any) -> None:
    if seen.path.startswith("/api/books/1/"):
        body = {"detail": f"token {TOKEN} is not valid here"}
        reply(handler, 401, json.dumps(body).encode(), [("WWW-Authenticate", f"Bearer {TOKEN}")])
    else:
        reply(handler, 400, json.dumps({"title": [f"{API_KEY} may not write"]}).encode())


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_secrets_echoed_in_an_error_body_are_masked(
    caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    caplog.set_level(logging.DEBUG)  # httpcore logs response headers at DEBUG
    errors: list[BaseException] = []
    with RawServer(echoes) as server:

        def calls() -> None:
            with pytest.raises(exc.AuthenticationError) as first:
                Book.objects.get(pk=1)
            with pytest.raises(exc.ValidationError) as second:
                Book.objects.create(title="t", year=1)
            errors.extend([first.value, second.value])

        get_sync(server, transport, calls)
    auth, validation = errors
    assert "token *** is not valid here" in str(auth)
    assert validation.field_errors == {"title": ["*** may not write"]}  # type: ignore[attr-defined]
    texts = [t for e in errors for t in (*texts_of(e), *technical_pages(e))]
    texts += every_log_text(caplog.records)
    assert not [t for t in texts if TOKEN in t or API_KEY in t]
    assert server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"


async def test_async_secrets_echoed_in_an_error_body_are_masked() -> None:
    with RawServer(echoes) as server:
        async with aclosing_services(default=configured(server)):
            with pytest.raises(exc.AuthenticationError) as info:
                await Book.objects.aget(pk=1)
    texts = [*texts_of(info.value), *technical_pages(info.value)]
    assert not [t for t in texts if TOKEN in t]


# -- no frame local of the request path holds the token as a str ---------------------------------


class LocalsWatch:
    """A tracer that looks at every local of every frame of the library while it runs."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.frames = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if "django_api_orm" not in frame.f_code.co_filename:
            return None
        self.frames += 1
        self.look(frame)
        return self.look_on

    def look_on(self, frame: FrameType, event: str, arg: Any) -> Any:
        self.look(frame)
        return self.look_on

    def look(self, frame: FrameType) -> None:
        for name, value in frame.f_locals.items():
            text = value if isinstance(value, str) else None
            if isinstance(value, bytes):
                text = value.decode("latin-1")
            if text is not None and (TOKEN in text or API_KEY in text):
                self.found.append(f"{frame.f_code.co_qualname}:{name}")


def frames_watched(run: Callable[[], Any]) -> LocalsWatch:
    watch = LocalsWatch()
    previous = sys.gettrace()  # coverage's tracer, under `make test`: put back afterwards
    sys.settrace(watch)
    try:
        run()
    finally:
        sys.settrace(previous)
    return watch


@pytest.mark.parametrize("transport", SYNC_TRANSPORTS)
def test_the_token_is_no_str_local_of_the_request_path(transport: str) -> None:
    def drops(seen: Seen, handler: Any) -> None:
        if "/2/" in seen.path:
            malformed(seen, handler)
        else:
            answer_book(seen, handler)

    with RawServer(drops) as server:
        options = configured(server, transport, MAX_RETRIES=1)
        with override_settings(API_ORM_SERVICES={"default": options}):
            services["default"].sync_driver()  # the service is configured outside the watch

            def calls() -> None:
                Book.objects.get(pk=1)
                with pytest.raises(exc.APIConnectionError):
                    Book.objects.get(pk=2)

            watch = frames_watched(calls)
    assert watch.frames > 50 and watch.found == []
    assert server.seen[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
def test_the_token_is_no_str_local_of_the_async_request_path(transport: str) -> None:
    with RawServer(answer_book) as server:
        options = configured(server, aio=transport)
        with override_settings(API_ORM_SERVICES={"default": options}):
            services["default"].wire  # noqa: B018 - configured outside the watch

            async def calls() -> None:
                await Book.objects.aget(pk=1)
                await services["default"].aclose()

            watch = frames_watched(lambda: asyncio.run(calls()))
    assert watch.frames > 50 and watch.found == []
    assert server.seen[0].headers["x-api-key"] == API_KEY
