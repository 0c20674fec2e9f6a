"""Retries: the pure policy, the ``send`` plan driven by hand, and the drivers against faults."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import exceptions as exc
from django_api_orm._core.messages import Request, Response, Send, Sleep
from django_api_orm._core.retry import RETRY_STATUSES, RetryPolicy, send
from django_api_orm._registry import services
from django_api_orm.client import request_plan
from tests.conftest import service_settings
from tests.faults import recorded_attempts, syn_blackhole
from tests.models import Book
from tests.upstream_fixture import Upstream

GET = Request("GET", "books/1/")
POST = Request("POST", "books/", json={"title": "t", "year": 1})
KEYED_POST = Request("POST", "books/", json={}, headers={"Idempotency-Key": "k-1"})


def resp(status: int, headers: dict[str, str] | None = None, content: bytes = b"{}") -> Response:
    return Response(
        status_code=status, headers=headers or {}, content=content, method="GET", url="u"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def policy(**options: Any) -> RetryPolicy:
    options.setdefault("clock", FakeClock())
    options.setdefault("random", lambda: 0.0)
    return RetryPolicy(**options)


def connection_error(retryable: bool = True) -> exc.APIConnectionError:
    return exc.APIConnectionError("refused", method="GET", url="u", retryable=retryable)


# -- should_retry ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_retry_statuses_are_retried_for_idempotent_requests(status: int) -> None:
    assert policy().should_retry(GET, resp(status))
    assert policy().should_retry(KEYED_POST, resp(status))


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 500, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not policy().should_retry(GET, resp(status))


def test_retry_statuses_are_exactly_these() -> None:
    assert frozenset({429, 502, 503, 504}) == RETRY_STATUSES


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
def test_idempotent_methods(method: str) -> None:
    assert Request(method, "x").idempotent
    assert policy().should_retry(Request(method, "x"), resp(503))


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_methods_are_not_retried(method: str) -> None:
    request = Request(method, "x")
    assert not request.idempotent
    assert not policy().should_retry(request, resp(503))
    assert not policy().should_retry(request, connection_error())
    keyed = Request(method, "x", headers={"idempotency-key": "abc"})
    assert keyed.idempotent
    assert policy().should_retry(keyed, resp(503))


def test_transport_errors_retried_only_when_retryable() -> None:
    assert policy().should_retry(GET, connection_error(retryable=True))
    assert not policy().should_retry(GET, connection_error(retryable=False))
    read_timeout = exc.APITimeoutError("read timeout", method="GET", url="u")
    assert not policy().should_retry(GET, read_timeout)
    connect_timeout = exc.APITimeoutError("connect", method="GET", url="u", retryable=True)
    assert policy().should_retry(GET, connect_timeout)


# -- wait ---------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    low = policy(delay=0.1, random=lambda: 0.0)
    high = policy(delay=0.1, random=lambda: 1.0)
    for attempt in range(5):
        base = 0.1 * 2**attempt
        assert low.wait(attempt, resp(503)) == pytest.approx(base * 0.5)
        assert high.wait(attempt, resp(503)) == pytest.approx(base)
    mid = policy(delay=1.0, random=lambda: 0.5)
    assert mid.wait(2, resp(503)) == pytest.approx(4 * 0.75)


def test_backoff_with_real_random_stays_in_bounds() -> None:
    real = RetryPolicy(delay=0.2)
    for attempt in range(4):
        for _ in range(50):
            wait = real.wait(attempt, resp(503))
            assert 0.1 * 2**attempt <= wait <= 0.2 * 2**attempt


def test_backoff_capped_by_max_wait() -> None:
    capped = policy(delay=1.0, max_wait=3.0, random=lambda: 1.0)
    assert [capped.wait(a, resp(503)) for a in range(4)] == [1.0, 2.0, 3.0, 3.0]


def test_retry_after_honoured_and_capped() -> None:
    p = policy(delay=100.0, max_wait=10.0)
    assert p.wait(0, resp(503, {"retry-after": "2"})) == 2.0
    assert p.wait(3, resp(429, {"retry-after": "0"})) == 0.0
    assert p.wait(0, resp(429, {"retry-after": "3600"})) == 10.0
    # An unparseable hint falls back to the backoff.
    assert p.wait(0, resp(503, {"retry-after": "later"})) == 10.0
    assert policy(delay=1.0).wait(0, resp(503, {"retry-after": "later"})) == 0.5


def test_transport_error_wait_is_backoff() -> None:
    assert policy(delay=0.4).wait(1, connection_error()) == pytest.approx(0.4)


def test_policy_defaults() -> None:
    default = RetryPolicy()
    assert (default.max_retries, default.delay, default.max_wait, default.max_elapsed) == (
        3,
        1.0,
        30.0,
        60.0,
    )


# -- the send plan, driven by hand --------------------------------------------------------------


def drive(plan: Any, outcomes: list[Any]) -> tuple[list[Any], Any]:
    """Feed ``outcomes`` to each Send; return the effects seen and the result (or error)."""
    effects = [next(plan)]
    answers = iter(outcomes)
    try:
        while True:
            effect = effects[-1]
            value = next(answers) if isinstance(effect, Send) else None
            effects.append(plan.send(value))
    except StopIteration as stop:
        return effects, stop.value
    except exc.APIError as error:
        return effects, error


def test_send_returns_first_success() -> None:
    ok = resp(200)
    effects, result = drive(send(GET, policy()), [ok])
    assert effects == [Send(GET)]
    assert result is ok


def test_send_retries_503_then_succeeds() -> None:
    ok = resp(200)
    effects, result = drive(send(GET, policy(delay=1.0)), [resp(503), resp(503), ok])
    assert effects == [Send(GET), Sleep(0.5), Send(GET), Sleep(1.0), Send(GET)]
    assert result is ok


def test_send_gives_up_after_max_retries() -> None:
    outcomes = [resp(503, {"retry-after": "0"})] * 10
    effects, error = drive(send(GET, policy(max_retries=3), service="svc"), outcomes)
    assert [type(e) for e in effects] == [Send, Sleep, Send, Sleep, Send, Sleep, Send]
    assert all(e.seconds == 0.0 for e in effects if isinstance(e, Sleep))
    assert isinstance(error, exc.ServerError)
    assert error.status_code == 503
    assert error.service == "svc"
    assert error.retry_after == 0.0


def test_send_max_retries_zero_never_sleeps() -> None:
    effects, error = drive(send(GET, policy(max_retries=0)), [resp(503)])
    assert effects == [Send(GET)]
    assert isinstance(error, exc.ServerError)


def test_send_never_retries_client_errors() -> None:
    for status, cls in [(400, exc.ValidationError), (404, exc.NotFound), (500, exc.ServerError)]:
        effects, error = drive(send(GET, policy()), [resp(status)])
        assert effects == [Send(GET)]
        assert type(error) is cls


def test_send_post_without_key_not_retried_but_keyed_post_is() -> None:
    effects, error = drive(send(POST, policy()), [resp(503)])
    assert effects == [Send(POST)]
    assert isinstance(error, exc.ServerError)
    effects, result = drive(send(KEYED_POST, policy()), [resp(503), resp(201)])
    assert effects == [Send(KEYED_POST), Sleep(0.5), Send(KEYED_POST)]
    assert result.status_code == 201


def test_send_retries_connection_errors_and_raises_last_with_service() -> None:
    errors = [connection_error() for _ in range(3)]
    effects, error = drive(send(GET, policy(max_retries=2, delay=0.0), service="svc"), errors)
    assert effects == [Send(GET), Sleep(0.0), Send(GET), Sleep(0.0), Send(GET)]
    assert error is errors[-1]
    assert error.service == "svc"


def test_send_does_not_retry_read_timeout() -> None:
    timeout = exc.APITimeoutError("read", method="GET", url="u")
    effects, error = drive(send(GET, policy()), [timeout])
    assert effects == [Send(GET)]
    assert error is timeout


def test_send_stops_when_elapsed_budget_is_spent() -> None:
    clock = FakeClock()
    p = policy(clock=clock, delay=1.0, max_wait=100.0, max_elapsed=10.0, max_retries=10)
    plan = send(GET, p)
    assert next(plan) == Send(GET)
    clock.now += 4.0
    assert plan.send(resp(503, {"retry-after": "5"})) == Sleep(5.0)  # 4 + 5 <= 10
    clock.now += 5.0
    assert plan.send(None) == Send(GET)
    clock.now += 0.5
    # 9.5 s spent; another 5 s wait would end past the 10 s budget: give up now.
    with pytest.raises(exc.ServerError):
        plan.send(resp(503, {"retry-after": "5"}))


def test_send_budget_allows_wait_that_fits_exactly() -> None:
    clock = FakeClock()
    p = policy(clock=clock, max_elapsed=2.0)
    plan = send(GET, p)
    next(plan)
    clock.now += 1.0
    assert plan.send(resp(503, {"retry-after": "1"})) == Sleep(1.0)


# -- end to end against the live upstream -------------------------------------------------------


def paths(upstream: Upstream, prefix: str) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in upstream.requests(prefix)]


def test_get_retried_after_503(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/1/", status=503)
    assert Book.objects.get(pk=1).title == "Book 01"
    assert paths(upstream, "/api/books/") == ["GET /api/books/1/"] * 2


def test_get_retried_after_429_with_retry_after(upstream: Upstream) -> None:
    upstream.fault(
        method="GET",
        path_prefix="/api/books/",
        status=429,
        headers={"Retry-After": "0"},
        body={"detail": "Slow down."},
    )
    started = time.perf_counter()
    assert Book.objects.count() == 25
    assert time.perf_counter() - started < 1.0
    assert len(upstream.requests("/api/books/")) == 2


def test_get_succeeds_on_third_attempt(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/2/", status=503, times=2)
    assert Book.objects.get(pk=2).id == 2
    assert paths(upstream, "/api/books/") == ["GET /api/books/2/"] * 3


def test_get_gives_up_after_max_retries(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/2/", status=502, times=None)
    with pytest.raises(exc.ServerError) as info:
        Book.objects.get(pk=2)
    assert info.value.status_code == 502
    assert len(upstream.requests("/api/books/")) == 4  # MAX_RETRIES=3 by default


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, exc.ValidationError), (404, Book.DoesNotExist), (500, exc.ServerError)],
)
def test_4xx_and_500_never_retried(upstream: Upstream, status: int, error: type) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/3/", status=status, body={"detail": "x"})
    with pytest.raises(error):
        Book.objects.get(pk=3)
    assert len(upstream.requests("/api/books/")) == 1


def test_post_without_idempotency_key_not_retried(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", status=503)
    service = services["default"]
    plan = request_plan(service.context, "POST", "books/", data={"title": "Once", "year": 2001})
    with pytest.raises(exc.ServerError):
        service.run(plan)
    log = upstream.requests("/api/books/")
    assert [e["method"] for e in log] == ["POST"]
    assert "idempotency-key" not in log[0]["headers"]
    assert Book.objects.count() == 25


def test_create_retried_with_same_idempotency_key(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", status=503, times=2)
    book = Book.objects.create(title="Retried", year=2024)
    assert book.id == 26
    posts = [e for e in upstream.requests("/api/books/") if e["method"] == "POST"]
    assert len(posts) == 3
    keys = {e["headers"].get("idempotency-key") for e in posts}
    assert len(keys) == 1 and None not in keys
    assert Book.objects.filter(title="Retried").count() == 1
    assert Book.objects.count() == 26


def test_create_after_dropped_connection_is_created_once(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", action="close")
    book = Book.objects.create(title="Dropped", year=2024)
    assert book.id == 26
    assert Book.objects.filter(title="Dropped").count() == 1


def test_each_create_gets_its_own_key(upstream: Upstream) -> None:
    Book.objects.create(title="A", year=1)
    Book.objects.create(title="A", year=1)
    keys = [e["headers"]["idempotency-key"] for e in upstream.requests() if e["method"] == "POST"]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert Book.objects.filter(title="A").count() == 2


def test_dropped_connection_on_get_retried(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/4/", action="close")
    assert Book.objects.get(pk=4).id == 4
    assert len(upstream.requests("/api/books/")) == 2


async def test_async_get_retried_after_503_and_drop(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/5/", status=503)
    upstream.fault(method="GET", path_prefix="/api/books/5/", action="close")
    assert (await Book.objects.aget(pk=5)).id == 5
    assert len(upstream.requests("/api/books/")) == 3


async def test_async_create_retried_with_same_key(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", status=503)
    book = await Book.objects.acreate(title="Async", year=2000)
    assert book.id == 26
    posts = upstream.requests("/api/books/")
    assert len(posts) == 2
    assert posts[0]["headers"]["idempotency-key"] == posts[1]["headers"]["idempotency-key"]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_connection_refused_raises_after_all_attempts(
    upstream: Upstream, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    base_url = f"http://127.0.0.1:{closed_port}/api/"
    settings = {"BASE_URL": base_url, "MAX_RETRIES": 2, "RETRY_DELAY": 0.01}
    caplog.set_level(logging.DEBUG, logger="django_api_orm")
    with override_settings(API_ORM_SERVICES={"default": settings}):
        started = time.perf_counter()
        with pytest.raises(exc.APIConnectionError) as info:
            Book.objects.get(pk=1)
        elapsed = time.perf_counter() - started
    failures = [r for r in caplog.records if "failed after" in r.getMessage()]
    assert len(failures) == 3  # MAX_RETRIES + 1
    assert elapsed < 1.0
    assert info.value.retryable
    assert info.value.service == "default"
    assert info.value.method == "GET"
    assert str(closed_port) in info.value.url


async def test_connection_refused_async(closed_port: int) -> None:
    settings = {"BASE_URL": f"http://127.0.0.1:{closed_port}/", "MAX_RETRIES": 1, "RETRY_DELAY": 0}
    with override_settings(API_ORM_SERVICES={"default": settings}):
        with pytest.raises(exc.APIConnectionError):
            await Book.objects.aget(pk=1)
        await services["default"].aclose()


def test_slow_server_raises_timeout_within_budget(upstream: Upstream) -> None:
    timeout = 0.3
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream, TIMEOUT=0.3)}):
        Book.objects.get(pk=1)  # warm the pool: connect once, outside the timing
        upstream.clear_requests()
        upstream.fault(method="GET", path_prefix="/api/books/6/", delay=0.6)
        started = time.perf_counter()
        with pytest.raises(exc.APITimeoutError) as info:
            Book.objects.get(pk=6)
        elapsed = time.perf_counter() - started
    assert timeout * 0.9 <= elapsed <= timeout * 1.1
    assert not info.value.retryable  # a read timeout: the server may have acted on it
    assert len(upstream.requests("/api/books/")) == 1


def test_server_sends_broken_gzip_raises_response_error(upstream: Upstream) -> None:
    upstream.fault(
        method="GET",
        path_prefix="/api/books/7/",
        status=200,
        headers={"Content-Encoding": "gzip"},
        body="this is not gzip",
        content_type="application/json",
    )
    with pytest.raises(exc.ResponseError, match="decode"):
        Book.objects.get(pk=7)
    assert len(upstream.requests("/api/books/")) == 1


# -- a connect timeout: a listening socket whose accept queue is full drops every SYN -----------


def test_connect_timeout_is_retried() -> None:
    timeout = {"connect": 0.2, "total": 5}
    with syn_blackhole() as url, recorded_attempts() as attempts:
        configured = {"BASE_URL": f"{url}/api/", "RETRY_DELAY": 0, "TIMEOUT": timeout}
        with override_settings(API_ORM_SERVICES={"default": configured}):
            started = time.perf_counter()
            with pytest.raises(exc.APITimeoutError, match="Connect timeout") as info:
                Book.objects.get(pk=1)
            elapsed = time.perf_counter() - started
    assert info.value.retryable
    assert len(attempts) == 4  # MAX_RETRIES=3: the connect timeout was retried
    assert 0.6 <= elapsed < 2.5, elapsed
