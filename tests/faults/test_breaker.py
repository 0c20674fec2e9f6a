"""The circuit breaker: ``CIRCUIT_BREAKER_THRESHOLD`` consecutive failed calls open it, calls
then fail fast without a request, and after ``CIRCUIT_BREAKER_COOLDOWN`` one probe decides.

A failed call is a transport error, or a 5xx/429 once retries are spent; 4xx answers are the
caller's problem and do not count.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import exceptions as exc
from django_api_orm._registry import services
from django_api_orm._settings import ServiceSettings
from tests.conftest import service_settings
from tests.faults import RawServer, aclosing_services, recorded_attempts, settings_for
from tests.models import Book
from tests.upstream_fixture import Upstream

FAST_MS = 1.0


def breaker_settings(upstream: Upstream, threshold: int, cooldown: float = 60, **extra: Any):
    return service_settings(
        upstream,
        CIRCUIT_BREAKER_THRESHOLD=threshold,
        CIRCUIT_BREAKER_COOLDOWN=cooldown,
        **{"MAX_RETRIES": 0, **extra},
    )


@pytest.fixture
def breaker_of(upstream: Upstream) -> Iterator[Callable[..., Any]]:
    """``breaker_of(threshold, cooldown, **settings)``: the default service with a breaker."""
    stack: list[Any] = []

    def configure(threshold: int, cooldown: float = 60, **extra: Any) -> Any:
        override = override_settings(
            API_ORM_SERVICES={"default": breaker_settings(upstream, threshold, cooldown, **extra)}
        )
        override.enable()
        stack.append(override)
        return services["default"].breaker

    yield configure
    for override in reversed(stack):
        override.disable()


def fail(upstream: Upstream, times: int | None = None, status: int = 503) -> None:
    upstream.fault(path_prefix="/api/books/", status=status, times=times)


def test_defaults() -> None:
    defaults = ServiceSettings(BASE_URL="https://api.example/")
    assert defaults.CIRCUIT_BREAKER_THRESHOLD == 5
    assert defaults.CIRCUIT_BREAKER_COOLDOWN == 30.0
    assert issubclass(exc.CircuitOpenError, exc.RequestError)
    assert services["default"].breaker.state == "closed"


def test_opens_after_threshold_then_fails_fast(
    upstream: Upstream, breaker_of: Callable[..., Any]
) -> None:
    breaker = breaker_of(3)
    fail(upstream)
    states = []
    for _ in range(3):
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
        states.append(breaker.state)
    assert states == ["closed", "closed", "open"]
    upstream.clear_faults()
    durations = []
    with recorded_attempts() as attempts:
        for _ in range(200):
            started = time.perf_counter()
            with pytest.raises(exc.CircuitOpenError) as info:
                Book.objects.get(pk=1)
            durations.append((time.perf_counter() - started) * 1000)
    assert attempts == []  # nothing was sent, not even attempted
    assert len(upstream.requests("/api/books/")) == 3
    median = statistics.median(durations)
    p95 = statistics.quantiles(durations, n=20)[-1]
    assert median < FAST_MS and p95 < FAST_MS, (median, p95)
    error = info.value
    assert error.service == "default" and "[default]" in str(error)
    assert 0 < error.retry_after <= 60  # type: ignore[attr-defined]
    print(f"FIGURE breaker fail-fast: median {median * 1000:.0f} us, p95 {p95 * 1000:.0f} us")


async def test_async_calls_fail_fast_too(upstream: Upstream) -> None:
    fail(upstream)
    async with aclosing_services(default=breaker_settings(upstream, 2)):
        for _ in range(2):
            with pytest.raises(exc.ServerError):
                await Book.objects.aget(pk=1)
        durations = []
        for _ in range(100):
            started = time.perf_counter()
            with pytest.raises(exc.CircuitOpenError):
                await Book.objects.aget(pk=1)
            durations.append((time.perf_counter() - started) * 1000)
    assert statistics.median(durations) < FAST_MS
    assert len(upstream.requests("/api/books/")) == 2


def test_half_open_probe_success_closes(upstream: Upstream, breaker_of: Callable[..., Any]) -> None:
    breaker = breaker_of(2, cooldown=0.2)
    fail(upstream, times=2)
    for _ in range(2):
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
    with pytest.raises(exc.CircuitOpenError):
        Book.objects.get(pk=1)
    time.sleep(0.25)
    upstream.clear_requests()
    assert Book.objects.get(pk=1).id == 1  # the probe
    assert breaker.state == "closed"
    assert Book.objects.get(pk=2).id == 2
    assert len(upstream.requests("/api/books/")) == 2


def test_half_open_probe_failure_reopens(
    upstream: Upstream, breaker_of: Callable[..., Any]
) -> None:
    breaker = breaker_of(2, cooldown=0.2)
    fail(upstream)
    for _ in range(2):
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
    time.sleep(0.25)
    upstream.clear_requests()
    with pytest.raises(exc.ServerError):
        Book.objects.get(pk=1)  # the probe fails
    assert breaker.state == "open"
    with pytest.raises(exc.CircuitOpenError) as info:
        Book.objects.get(pk=1)
    assert len(upstream.requests("/api/books/")) == 1
    assert info.value.retry_after > 0.1  # type: ignore[attr-defined]  # a fresh cool-down


async def test_half_open_lets_exactly_one_probe_through(upstream: Upstream) -> None:
    fail(upstream, times=1)
    async with aclosing_services(default=breaker_settings(upstream, 1, cooldown=0.2)):
        with pytest.raises(exc.ServerError):
            await Book.objects.aget(pk=1)
        breaker = services["default"].breaker
        await asyncio.sleep(0.25)
        upstream.clear_requests()
        upstream.fault(path_prefix="/api/books/", delay=0.3)  # a slow, successful probe
        results = await asyncio.gather(
            *(Book.objects.aget(pk=pk) for pk in range(1, 6)), return_exceptions=True
        )
        state = breaker.state
    probes = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, exc.CircuitOpenError)]
    assert len(probes) == 1 and len(refused) == 4, results
    assert len(upstream.requests("/api/books/")) == 1
    assert state == "closed"


def test_retries_of_one_call_count_as_one_failure(
    upstream: Upstream, breaker_of: Callable[..., Any]
) -> None:
    breaker = breaker_of(2, MAX_RETRIES=2)
    fail(upstream)
    with pytest.raises(exc.ServerError):
        Book.objects.get(pk=1)
    assert len(upstream.requests("/api/books/")) == 3
    assert (breaker.state, breaker.failures) == ("closed", 1)
    with pytest.raises(exc.ServerError):
        Book.objects.get(pk=1)
    assert breaker.state == "open"


def test_429_after_retries_counts(upstream: Upstream, breaker_of: Callable[..., Any]) -> None:
    breaker = breaker_of(1, MAX_RETRIES=1)
    upstream.fault(path_prefix="/api/books/", status=429, headers={"Retry-After": "0"}, times=None)
    with pytest.raises(exc.RateLimited):
        Book.objects.get(pk=1)
    assert breaker.state == "open"
    assert len(upstream.requests("/api/books/")) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_do_not_count(
    upstream: Upstream, breaker_of: Callable[..., Any], status: int
) -> None:
    breaker = breaker_of(2)
    upstream.fault(path_prefix="/api/books/", status=status, body={"detail": "x"}, times=None)
    for _ in range(5):
        with pytest.raises((exc.ClientError, exc.DoesNotExist)):  # 404 on a pk: DoesNotExist
            Book.objects.get(pk=1)
    assert (breaker.state, breaker.failures) == ("closed", 0)
    assert len(upstream.requests("/api/books/")) == 5


def test_a_success_resets_the_count(upstream: Upstream, breaker_of: Callable[..., Any]) -> None:
    breaker = breaker_of(3)
    fail(upstream, times=2)
    for _ in range(2):
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
    assert Book.objects.get(pk=1).id == 1
    assert breaker.failures == 0
    fail(upstream, times=2)
    for _ in range(2):
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
    assert breaker.state == "closed"  # 2 consecutive, not 4


def test_threshold_zero_disables(upstream: Upstream, breaker_of: Callable[..., Any]) -> None:
    breaker = breaker_of(0)
    fail(upstream)
    for _ in range(8):
        with pytest.raises(exc.ServerError):
            Book.objects.get(pk=1)
    assert breaker.state == "closed"
    assert len(upstream.requests("/api/books/")) == 8


def test_transport_errors_count_and_open_fails_without_connecting() -> None:
    with RawServer(lambda seen, handler: None, start=False) as never_listens:
        configured = settings_for(never_listens.url, MAX_RETRIES=0, CIRCUIT_BREAKER_THRESHOLD=2)
        with override_settings(API_ORM_SERVICES={"default": configured}):
            with recorded_attempts() as attempts:
                for _ in range(2):
                    with pytest.raises(exc.APIConnectionError):
                        Book.objects.get(pk=1)
                with pytest.raises(exc.CircuitOpenError):
                    Book.objects.get(pk=1)
            state = services["default"].breaker.state
    assert len(attempts) == 2
    assert state == "open"


async def test_one_breaker_for_sync_and_async_callers(upstream: Upstream) -> None:
    from asgiref.sync import sync_to_async

    fail(upstream)
    async with aclosing_services(default=breaker_settings(upstream, 2)):

        def fail_twice_sync() -> None:
            for _ in range(2):
                with pytest.raises(exc.ServerError):
                    Book.objects.get(pk=1)

        await sync_to_async(fail_twice_sync)()
        with pytest.raises(exc.CircuitOpenError):
            await Book.objects.aget(pk=1)
    assert len(upstream.requests("/api/books/")) == 2


@pytest.mark.parametrize("probe_ends", ["cancelled", "too-large"])
async def test_an_unfinished_probe_does_not_wedge_the_breaker(
    upstream: Upstream, probe_ends: str
) -> None:
    fail(upstream, times=1)
    configured = breaker_settings(upstream, 1, cooldown=0.2, MAX_RESPONSE_BYTES=4096)
    async with aclosing_services(default=configured):
        with pytest.raises(exc.ServerError):
            await Book.objects.aget(pk=1)
        await asyncio.sleep(0.25)
        if probe_ends == "cancelled":
            upstream.fault(path_prefix="/api/books/", delay=1)
            probe = asyncio.create_task(Book.objects.aget(pk=1))
            await asyncio.sleep(0.1)
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
        else:
            big = {"id": 1, "title": "x" * 10_000, "year": 1}
            upstream.fault(path_prefix="/api/books/", status=200, body=big)
            with pytest.raises(exc.ResponseTooLarge):
                await Book.objects.aget(pk=1)
        await asyncio.sleep(0.5)  # more than another cool-down
        assert (await Book.objects.aget(pk=2)).id == 2
