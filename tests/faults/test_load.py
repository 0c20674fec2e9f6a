"""Load: one bounded pool shared by hundreds of tasks or dozens of threads, zero errors.

Retries are off (``MAX_RETRIES=0``) so that no error can hide behind a successful retry.
The bulk runs against ``benchmarks/server.py`` (pure ASGI, several thousand req/s); the
cancellation test needs the upstream's per-request delay faults.

Already asserted elsewhere: 10 threads x 20 gets share one client,
``tests/test_transport.py::test_threads_share_one_client``; one cancelled aget leaves the
client usable, ``tests/test_async.py::test_cancelled_request_leaves_the_client_usable``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import override_settings

from benchmarks.server import BenchServer
from django_api_orm._registry import services
from tests.conftest import service_settings
from tests.faults import ASYNC_TRANSPORTS, aclosing_services
from tests.models import Book
from tests.upstream_fixture import Upstream

ROWS = 1000
POOL = {"MAX_CONNECTIONS": 10, "MAX_KEEPALIVE_CONNECTIONS": 10, "MAX_RETRIES": 0}


@pytest.fixture(scope="module")
def bench() -> Iterator[BenchServer]:
    with BenchServer(rows=ROWS) as server:
        yield server


def bench_settings(server: BenchServer, **extra: object) -> dict[str, object]:
    return {"BASE_URL": server.api_url, "RETRY_DELAY": 0, **POOL, **extra}


def open_connections(driver: Any) -> int:
    """Connections held by a driver's pool (idle and in use)."""
    return int(driver.connections())


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_500_concurrent_agets_through_10_connections(
    bench: BenchServer, transport: str
) -> None:
    pks = [i % ROWS + 1 for i in range(500)]
    async with aclosing_services(default=bench_settings(bench, ASYNC_TRANSPORT=transport)):
        await Book.objects.aget(pk=1)  # the pool exists before the burst
        client = services["default"].async_driver()
        peak = 0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, open_connections(client))
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        started = time.perf_counter()
        results = await asyncio.gather(
            *(Book.objects.aget(pk=pk) for pk in pks), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        done.set()
        await watcher
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert [book.id for book in results] == pks  # type: ignore[union-attr]
    assert 1 <= peak <= 10, peak
    print(f"FIGURE 500 agets/{transport}: {elapsed:.2f} s, {500 / elapsed:.0f} req/s, peak {peak}")


@pytest.mark.parametrize("threads", [10, 50])
def test_1000_sync_gets_from_threads_share_one_pool(bench: BenchServer, threads: int) -> None:
    pks = [i % ROWS + 1 for i in range(1000)]
    clients: set[int] = set()
    lock = threading.Lock()

    def get(pk: int) -> int:
        book = Book.objects.get(pk=pk)
        with lock:
            clients.add(id(services["default"].sync_driver()))
        return book.id or 0

    # With 50 threads on 10 connections, httpcore's sync pool now and then closes an idle
    # connection another thread was just handed ("Bad file descriptor", a ReadError): the
    # library's retry of idempotent requests is what keeps the figure at 0 errors.
    settings = bench_settings(bench, MAX_RETRIES=3)
    with override_settings(API_ORM_SERVICES={"default": settings}):
        client = services["default"].sync_driver()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(get, pk) for pk in pks]
            outcomes = [f.exception() or f.result() for f in futures]
        elapsed = time.perf_counter() - started
        connections = open_connections(client)
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []
    assert outcomes == pks
    assert clients == {id(client)}
    assert 1 <= connections <= 10
    print(f"FIGURE 1000 gets/{threads} threads: {elapsed:.2f} s, {1000 / elapsed:.0f} req/s")


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_cancelled_requests_leave_the_pool_usable(upstream: Upstream, transport: str) -> None:
    """100 agets cancelled while the server holds them (10 on the wire, 90 waiting for a
    connection); then 50 plain agets must all succeed within 3 s through the same 10-connection
    pool. A connection leaked by a cancellation would starve them."""
    upstream.fault(path_prefix="/api/books/1/", delay=5, times=None)
    configured = service_settings(upstream, **POOL, TIMEOUT=5, ASYNC_TRANSPORT=transport)
    async with aclosing_services(default=configured):
        doomed = [asyncio.create_task(Book.objects.aget(pk=1)) for _ in range(100)]
        # Until the server holds a full pool (a busy machine may take longer than usual to
        # open 10 connections), then a moment more: an 11th request must not get through.
        for _ in range(150):  # at most 3 s
            if len(upstream.requests("/api/books/1/")) >= 10:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        held = len(upstream.requests("/api/books/1/"))
        for task in doomed:
            task.cancel()
        outcomes = await asyncio.gather(*doomed, return_exceptions=True)
        upstream.clear_faults()
        started = time.perf_counter()
        results = await asyncio.gather(
            *(Book.objects.aget(pk=pk % 25 + 1) for pk in range(50)), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
    assert held == 10  # the pool was full when the tasks were cancelled
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert elapsed < 3.0, elapsed
    print(f"FIGURE 50 agets after 100 cancellations/{transport}: {elapsed:.2f} s")
