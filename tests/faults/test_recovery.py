"""Recovery: what a failing network costs a caller, in attempts and in seconds.

Already asserted elsewhere, and not repeated here:

* a dropped connection *before* any response byte, GET retried and a keyed POST created once:
  ``tests/test_retries.py::test_dropped_connection_on_get_retried``,
  ``::test_create_after_dropped_connection_is_created_once``;
* a POST without ``Idempotency-Key`` is not retried after a 503:
  ``::test_post_without_idempotency_key_not_retried``; keyed creates resend the same key:
  ``::test_create_retried_with_same_idempotency_key``;
* 400/404/500 never retried: ``::test_4xx_and_500_never_retried``; Retry-After parsing and
  the ``RETRY_MAX_WAIT`` cap on the pure policy: ``::test_retry_after_honoured_and_capped``;
* at most ``MAX_RETRIES + 1`` attempts: ``::test_get_gives_up_after_max_retries``,
  ``::test_connection_refused_raises_after_all_attempts``; the elapsed budget on a fake clock:
  ``::test_send_stops_when_elapsed_budget_is_spent``;
* a sync read timeout within ±10 %: ``::test_slow_server_raises_timeout_within_budget``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from django_api_orm import exceptions as exc
from django_api_orm._core.messages import Request, Response, Send, Sleep
from django_api_orm._core.retry import RetryPolicy, send
from django_api_orm._registry import services
from django_api_orm.client import request_plan
from tests.conftest import service_settings
from tests.faults import (
    ASYNC_TRANSPORTS,
    RawServer,
    Seen,
    aclosing_services,
    book_json,
    recorded_attempts,
    reply,
    settings_for,
)
from tests.models import Book
from tests.upstream_fixture import Upstream

# -- connection refused, then the server comes up ---------------------------------------------

# Attempt 1 at t=0 is refused; retry waits are 0.1-0.2 s, then 0.2-0.4 s, so attempt 2 runs
# at 0.1-0.2 s and attempt 3 at 0.3-0.6 s: a server listening from 0.25 s answers attempt 3.
COMES_UP_AFTER = 0.25
COMES_UP = {"MAX_RETRIES": 5, "RETRY_DELAY": 0.2, "RETRY_MAX_WAIT": 1.0}


def answer_book(seen: Seen, handler: Any) -> None:
    pk = seen.path.rstrip("/").rsplit("/", 1)[-1]
    reply(handler, 200, book_json(pk))


def test_refused_until_the_server_comes_up_then_get_succeeds() -> None:
    with (
        RawServer(answer_book, start=False) as server,
        override_settings(API_ORM_SERVICES={"default": settings_for(server.url, **COMES_UP)}),
        recorded_attempts() as attempts,
    ):
        server.start(after=COMES_UP_AFTER)
        started = time.perf_counter()
        assert Book.objects.get(pk=7).id == 7
        elapsed = time.perf_counter() - started
    refused = [a for a in attempts if isinstance(a["error"], exc.APIConnectionError)]
    assert 1 <= len(refused) == len(attempts) - 1
    assert len(attempts) <= 3, attempts  # succeeded by the 3rd attempt
    assert len(server.seen) == 1
    assert elapsed < 1.0
    print(f"FIGURE came up: attempt {len(attempts)} succeeded after {elapsed:.2f} s")


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_refused_until_the_server_comes_up_then_aget_succeeds(transport: str) -> None:
    with RawServer(answer_book, start=False) as server:
        configured = settings_for(server.url, **COMES_UP, ASYNC_TRANSPORT=transport)
        async with aclosing_services(default=configured):
            with recorded_attempts() as attempts:
                server.start(after=COMES_UP_AFTER)
                assert (await Book.objects.aget(pk=8)).id == 8
    assert 2 <= len(attempts) <= 3, attempts
    assert all(isinstance(a["error"], exc.APIConnectionError) for a in attempts[:-1])
    assert attempts[-1]["status_code"] == 200
    assert len(server.seen) == 1


# -- the server closes the socket in the middle of a body ------------------------------------


class CutsFirstBodies:
    """Answers every request with headers promising 1000 bytes, sends 10 and hangs up; from
    request number ``cut + 1`` on, answers properly."""

    def __init__(self, cut: int = 1) -> None:
        self.cut = cut
        self.count = 0

    def __call__(self, seen: Seen, handler: Any) -> None:
        self.count += 1
        if self.count <= self.cut:
            handler.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"id": 1, '
            )
            handler.close_connection = True
            return
        status = 201 if seen.method == "POST" else 200
        reply(handler, status, book_json(1 if seen.method == "GET" else 26, title="Cut"))


def test_mid_body_close_get_is_retried_and_succeeds() -> None:
    with (
        RawServer(CutsFirstBodies()) as server,
        override_settings(API_ORM_SERVICES={"default": settings_for(server.url)}),
        recorded_attempts() as attempts,
    ):
        assert Book.objects.get(pk=1).title == "Cut"
    assert [s.method for s in server.seen] == ["GET", "GET"]
    assert server.connections == 2  # the cut connection was not reused
    assert isinstance(attempts[0]["error"], exc.APIConnectionError)
    assert "cut short" in str(attempts[0]["error"])


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_mid_body_close_aget_is_retried_and_succeeds(transport: str) -> None:
    with RawServer(CutsFirstBodies()) as server:
        async with aclosing_services(default=settings_for(server.url, ASYNC_TRANSPORT=transport)):
            assert (await Book.objects.aget(pk=1)).title == "Cut"
    assert [s.method for s in server.seen] == ["GET", "GET"]


def test_mid_body_close_post_without_key_is_not_retried() -> None:
    with (
        RawServer(CutsFirstBodies(cut=10)) as server,
        override_settings(API_ORM_SERVICES={"default": settings_for(server.url)}),
    ):
        service = services["default"]
        plan = request_plan(service.context, "POST", "books/", data={"title": "x", "year": 1})
        with pytest.raises(exc.APIConnectionError) as info:
            service.run(plan)
    assert info.value.retryable  # retryable in kind, but a POST without a key is never resent
    assert [s.method for s in server.seen] == ["POST"]
    assert "idempotency-key" not in server.seen[0].headers


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_mid_body_close_async_post_without_key_is_not_retried(transport: str) -> None:
    with RawServer(CutsFirstBodies(cut=10)) as server:
        async with aclosing_services(default=settings_for(server.url, ASYNC_TRANSPORT=transport)):
            service = services["default"]
            plan = request_plan(service.context, "POST", "books/", data={"title": "x", "year": 1})
            with pytest.raises(exc.APIConnectionError):
                await service.arun(plan)
    assert [s.method for s in server.seen] == ["POST"]


def test_mid_body_close_keyed_create_is_resent_with_the_same_key() -> None:
    with (
        RawServer(CutsFirstBodies()) as server,
        override_settings(API_ORM_SERVICES={"default": settings_for(server.url)}),
    ):
        book = Book.objects.create(title="Cut", year=2000)
    assert book.id == 26
    posts = [s for s in server.seen if s.method == "POST"]
    assert len(posts) == 2
    keys = {s.headers.get("idempotency-key") for s in posts}
    assert len(keys) == 1 and None not in keys
    assert posts[0].body == posts[1].body


# -- Retry-After, live --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_is_honoured(upstream: Upstream, status: int) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=status, headers={"Retry-After": "0.4"})
    started = time.perf_counter()
    assert Book.objects.get(pk=1).id == 1  # RETRY_DELAY is 0: only the hint makes it wait
    elapsed = time.perf_counter() - started
    assert 0.4 <= elapsed < 0.4 + 0.3, elapsed
    assert len(upstream.requests("/api/books/")) == 2
    print(f"FIGURE Retry-After 0.4 on {status}: {elapsed:.3f} s")


@pytest.mark.parametrize("status", [503, 429])
async def test_retry_after_is_capped_by_retry_max_wait(upstream: Upstream, status: int) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=status, headers={"Retry-After": "3600"})
    async with aclosing_services(default=service_settings(upstream, RETRY_MAX_WAIT=0.3)):
        started = time.perf_counter()
        assert (await Book.objects.aget(pk=1)).id == 1
        elapsed = time.perf_counter() - started
    assert 0.3 <= elapsed < 0.3 + 0.3, elapsed
    assert len(upstream.requests("/api/books/")) == 2
    print(f"FIGURE Retry-After 3600 capped at 0.3 on {status}: {elapsed:.3f} s")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, exc.AuthenticationError),
        (403, exc.PermissionDenied),
        (405, exc.ClientError),
        (409, exc.Conflict),
        (410, exc.ClientError),
        (422, exc.ValidationError),
    ],
)
def test_other_4xx_are_never_retried(upstream: Upstream, status: int, error: type) -> None:
    upstream.fault(path_prefix="/api/books/3/", status=status, body={"detail": "no"}, times=None)
    with pytest.raises(error) as info:
        Book.objects.get(pk=3)
    assert info.value.status_code == status
    assert len(upstream.requests("/api/books/")) == 1


# -- a server slower than the timeout -----------------------------------------------------------


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_read_timeout_within_ten_percent(upstream: Upstream, transport: str) -> None:
    timeout = 0.3
    configured = service_settings(upstream, TIMEOUT=timeout, ASYNC_TRANSPORT=transport)
    async with aclosing_services(default=configured):
        await Book.objects.aget(pk=1)  # connect outside the measurement
        upstream.clear_requests()
        upstream.fault(path_prefix="/api/books/6/", delay=timeout * 3)
        started = time.perf_counter()
        with pytest.raises(exc.APITimeoutError) as info:
            await Book.objects.aget(pk=6)
        elapsed = time.perf_counter() - started
    assert timeout * 0.9 <= elapsed <= timeout * 1.1, elapsed
    assert not info.value.retryable
    assert len(upstream.requests("/api/books/")) == 1
    print(f"FIGURE read timeout 0.3/{transport}: {elapsed:.3f} s")


# -- the retry budget: attempts and seconds -----------------------------------------------------

BUDGET = {"MAX_RETRIES": 20, "RETRY_MAX_ELAPSED": 0.5}


def test_elapsed_budget_stops_retries_live(upstream: Upstream) -> None:
    # Each 503 asks for 0.2 s: attempts at 0, 0.2 and 0.4 s; a 4th would start after 0.6 s.
    slow_down = {"Retry-After": "0.2"}
    upstream.fault(path_prefix="/api/books/", status=503, headers=slow_down, times=None)
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream, **BUDGET)}):
        started = time.perf_counter()
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
        elapsed = time.perf_counter() - started
    assert len(upstream.requests("/api/books/")) == 3
    assert elapsed <= BUDGET["RETRY_MAX_ELAPSED"] + 0.1, elapsed
    print(f"FIGURE elapsed budget 0.5 (503s): 3 attempts, {elapsed:.3f} s")


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_elapsed_budget_stops_retries_on_refused_connections(transport: str) -> None:
    with RawServer(answer_book, start=False) as never_listens:
        configured = settings_for(
            never_listens.url, **BUDGET, RETRY_DELAY=0.2, ASYNC_TRANSPORT=transport
        )
        async with aclosing_services(default=configured):
            with recorded_attempts() as attempts:
                started = time.perf_counter()
                with pytest.raises(exc.APIConnectionError):
                    await Book.objects.aget(pk=1)
                elapsed = time.perf_counter() - started
    assert 2 <= len(attempts) <= 4, attempts  # waits of 0.1-0.2, 0.2-0.4, 0.4-0.8 s
    assert elapsed <= BUDGET["RETRY_MAX_ELAPSED"] + 0.1, elapsed
    print(f"FIGURE elapsed budget 0.5 (refused)/{transport}: {len(attempts)}, {elapsed:.3f} s")


outcomes = st.lists(
    st.tuples(
        st.sampled_from([200, 404, 429, 500, 502, 503, 504, "refused", "read-timeout"]),
        st.one_of(st.none(), st.floats(0, 100)),  # Retry-After
        st.floats(0, 5),  # how long the attempt took
    ),
    min_size=25,
    max_size=25,
)


@settings(max_examples=300, deadline=None, database=None)
@given(
    max_retries=st.integers(0, 20),
    delay=st.floats(0, 10),
    max_wait=st.floats(0, 30),
    max_elapsed=st.floats(0, 60),
    script=outcomes,
)
def test_retry_budget_property(
    max_retries: int,
    delay: float,
    max_wait: float,
    max_elapsed: float,
    script: list[tuple[Any, float | None, float]],
) -> None:
    """Whatever the server does: at most ``MAX_RETRIES + 1`` attempts, no wait longer than
    ``RETRY_MAX_WAIT``, and no attempt starts after ``RETRY_MAX_ELAPSED``."""
    now = [0.0]
    policy = RetryPolicy(
        max_retries=max_retries,
        delay=delay,
        max_wait=max_wait,
        max_elapsed=max_elapsed,
        clock=lambda: now[0],
    )
    plan = send(Request("GET", "books/1/"), policy)
    starts: list[float] = []
    answers = iter(script)
    effect: Any = next(plan)
    try:
        while True:
            if isinstance(effect, Send):
                starts.append(now[0])
                status, hint, took = next(answers)
                now[0] += took
                value: Any = _outcome(status, hint)
            else:
                assert isinstance(effect, Sleep)
                assert 0 <= effect.seconds <= max_wait
                now[0] += effect.seconds
                value = None
            effect = plan.send(value)
    except StopIteration:
        pass
    except exc.APIError:
        pass
    assert 1 <= len(starts) <= max_retries + 1
    assert all(start <= max_elapsed for start in starts[1:]), (starts, max_elapsed)


def _outcome(status: Any, hint: float | None) -> Any:
    if status == "refused":
        return exc.APIConnectionError("refused", method="GET", url="u", retryable=True)
    if status == "read-timeout":
        return exc.APITimeoutError("read", method="GET", url="u")
    headers = {} if hint is None else {"retry-after": str(hint)}
    return Response(status_code=status, headers=headers, content=b"{}", method="GET", url="u")
