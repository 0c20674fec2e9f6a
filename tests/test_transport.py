"""The transport: pooled clients per service and per event loop, the two drivers, logging."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from django_api_orm import AsyncServiceClient, ServiceClient
from django_api_orm import exceptions as exc
from django_api_orm._core.flow import gather
from django_api_orm._core.messages import Request, Response, Send, Sleep
from django_api_orm._registry import services
from tests.conftest import service_settings
from tests.models import Book, PrivateBook
from tests.upstream_fixture import Upstream

# -- one sync client per service, shared by threads ---------------------------------------------


def test_sync_client_is_made_once_and_reused(upstream: Upstream) -> None:
    service = services["default"]
    client = service.sync_driver()
    for pk in (1, 2, 3):
        assert Book.objects.get(pk=pk).id == pk
    assert service.sync_driver() is client
    assert services["default"] is service
    assert not client.closed


def test_threads_share_one_client(upstream: Upstream) -> None:
    service = services["default"]
    client = service.sync_driver()
    seen: set[int] = set()
    lock = threading.Lock()

    def work(worker: int) -> int:
        done = 0
        for i in range(20):
            pk = (worker * 20 + i) % 25 + 1
            assert Book.objects.get(pk=pk).id == pk
            with lock:
                seen.add(id(services["default"].sync_driver()))
            done += 1
        return done

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(work, range(10)))  # re-raises any error from a thread
    assert results == [20] * 10
    assert seen == {id(client)}
    assert service.sync_driver() is client
    assert len(upstream.requests("/api/books/")) == 200
    # The pool kept connections alive rather than opening one per request.
    assert 1 <= client.connections() <= 10


def test_service_settings_reach_the_client(upstream: Upstream) -> None:
    raw = service_settings(
        upstream,
        TIMEOUT=7,
        HEADERS={"X-Client": "tests"},
        MAX_CONNECTIONS=7,
        MAX_KEEPALIVE_CONNECTIONS=3,
    )
    with override_settings(API_ORM_SERVICES={"default": raw}):
        wire = services["default"].wire
        assert wire.phases.total == wire.phases.read == wire.phases.connect == 7.0
        headers = dict(wire.headers)
        assert headers["X-Client"] == "tests"
        assert headers["Accept"] == "application/json"
        assert headers["User-Agent"].startswith("django-api-orm/")
        assert not wire.follow_redirects
        assert (wire.max_connections, wire.max_keepalive) == (7, 3)
        Book.objects.get(pk=1)
    [entry] = upstream.requests()
    assert entry["headers"]["x-client"] == "tests"
    assert entry["headers"]["accept"] == "application/json"
    assert entry["headers"]["user-agent"].startswith("django-api-orm/")
    assert "authorization" not in entry["headers"]


def test_auth_header_sent_by_private_alias(upstream: Upstream) -> None:
    assert PrivateBook.objects.using("private").count() == 25
    [entry] = upstream.requests()
    assert entry["headers"]["authorization"] == "Bearer test-token"


# -- one async client per event loop -----------------------------------------------------------


def test_one_async_client_per_event_loop(upstream: Upstream) -> None:
    service = services["default"]

    async def use_twice() -> Any:
        first = service.async_driver()
        await Book.objects.aget(pk=1)
        await Book.objects.acount()
        assert service.async_driver() is first
        assert not first.closed
        return first

    one = asyncio.run(use_twice())
    two = asyncio.run(use_twice())
    assert one is not two
    assert one.closed
    assert two.closed
    assert len(service._async_drivers) == 0


async def test_same_async_client_across_tasks_of_one_loop(upstream: Upstream) -> None:
    service = services["default"]

    async def client_of_task() -> Any:
        await Book.objects.aget(pk=1)
        return service.async_driver()

    clients = await asyncio.gather(*(client_of_task() for _ in range(5)))
    assert len({id(c) for c in clients}) == 1
    assert clients[0] is service.async_driver()


def test_async_to_sync_works_repeatedly(upstream: Upstream) -> None:
    service = services["default"]
    clients: list[Any] = []

    async def fetch(pk: int) -> int:
        clients.append(service.async_driver())
        return (await Book.objects.aget(pk=pk)).id or 0

    for pk in range(1, 6):
        assert async_to_sync(fetch)(pk) == pk
        assert len(service._async_drivers) == 0  # each loop's client left with its loop
    assert all(client.closed for client in clients)
    assert len({id(c) for c in clients}) == 5


def test_hand_driven_loops_do_not_pile_up(upstream: Upstream) -> None:
    """A loop closed without shutdown_asyncgens() never runs its guard; its entry is dropped
    when the next loop asks for a client."""
    service = services["default"]
    for _ in range(3):
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(Book.objects.acount()) == 25
        finally:
            loop.close()
        assert len(service._async_drivers) <= 1


def test_async_client_in_a_thread_with_its_own_loop(upstream: Upstream) -> None:
    results: list[Any] = []

    def worker() -> None:
        results.append(asyncio.run(Book.objects.acount()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [25] * 4
    assert len(services["default"]._async_drivers) == 0


# -- Gather: concurrent in async, in order in sync ------------------------------------------------

DELAY = 0.2


def test_gather_runs_in_order_in_sync(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", delay=0.05, times=5)
    started = time.perf_counter()
    created = Book.objects.bulk_create([{"title": f"S{i}", "year": 2000 + i} for i in range(5)])
    elapsed = time.perf_counter() - started
    assert elapsed >= 5 * 0.05
    assert [b.id for b in created] == [26, 27, 28, 29, 30]
    bodies = [e["body"] for e in upstream.requests() if e["method"] == "POST"]
    assert [f'"S{i}"' in body for i, body in enumerate(bodies)] == [True] * 5


async def test_gather_runs_concurrently_in_async(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", delay=DELAY, times=5)
    started = time.perf_counter()
    created = await Book.objects.abulk_create(
        [{"title": f"A{i}", "year": 2000 + i} for i in range(5)]
    )
    elapsed = time.perf_counter() - started
    assert elapsed < 2.5 * DELAY, elapsed  # serially it would take 5 * DELAY
    assert sorted(b.id or 0 for b in created) == [26, 27, 28, 29, 30]
    assert [b.title for b in created] == [f"A{i}" for i in range(5)]
    assert await Book.objects.acount() == 30


async def test_gather_concurrency_is_bounded_by_max_concurrency(upstream: Upstream) -> None:
    raw = service_settings(upstream, MAX_CONCURRENCY=1)
    with override_settings(API_ORM_SERVICES={"default": raw}):
        upstream.fault(method="POST", path_prefix="/api/books/", delay=0.05, times=4)
        started = time.perf_counter()
        await Book.objects.abulk_create([{"title": f"B{i}", "year": 1} for i in range(4)])
        elapsed = time.perf_counter() - started
        await services["default"].aclose()
    assert elapsed >= 4 * 0.05


async def test_ain_bulk_batches_run_concurrently(upstream: Upstream) -> None:
    ids = list(range(1, 1201))  # several id__in batches; only 1..25 exist
    upstream.fault(method="GET", path_prefix="/api/books/", delay=DELAY, times=None)
    started = time.perf_counter()
    found = await Book.objects.ain_bulk(ids)
    elapsed = time.perf_counter() - started
    upstream.clear_faults()
    assert sorted(found) == list(range(1, 26))
    first_pages = [e for e in upstream.requests("/api/books/") if "id__in" in e["query"]]
    batches = {e["query"].split("id__in=")[1].split("&")[0] for e in first_pages}
    assert len(batches) >= 3
    # Each batch needs at least one round trip; run serially that is len(batches) * DELAY.
    assert elapsed < (len(batches) - 1) * DELAY, (elapsed, len(batches))


def test_sync_gather_failure_raises_the_typed_error(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", status=400, body={"title": ["bad"]})
    with pytest.raises(exc.ValidationError) as info:
        Book.objects.bulk_create([{"title": f"x{i}", "year": 1} for i in range(3)])
    assert info.value.field_errors == {"title": ["bad"]}


async def test_async_gather_failure_raises_the_typed_error(upstream: Upstream) -> None:
    upstream.fault(method="POST", path_prefix="/api/books/", status=400, body={"title": ["bad"]})
    with pytest.raises(exc.ValidationError) as info:
        await Book.objects.abulk_create([{"title": f"x{i}", "year": 1} for i in range(3)])
    assert info.value.field_errors == {"title": ["bad"]}


async def test_async_in_bulk_failure_raises_the_typed_error(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/", status=500, times=None)
    with pytest.raises(exc.ServerError):
        await Book.objects.ain_bulk([1, 2, 3])


def test_sync_driver_runs_gather_sub_plans_in_order(upstream: Upstream) -> None:
    order: list[str] = []

    def sub(name: str) -> Generator[Any, Any, str]:
        order.append(f"{name}:start")
        response = yield Send(Request("GET", f"books/{name}/"))
        order.append(f"{name}:end")
        return f"{name}={response.status_code}"

    def plan() -> Generator[Any, Any, list[str]]:
        yield Sleep(0)
        results = yield from gather([sub("1"), sub("2"), sub("3")], 10)
        return list(results)

    assert services["default"].run(plan()) == ["1=200", "2=200", "3=200"]
    assert order == ["1:start", "1:end", "2:start", "2:end", "3:start", "3:end"]
    assert [e["path"] for e in upstream.requests()] == [f"/api/books/{n}/" for n in "123"]


async def test_async_driver_returns_gather_results_in_order(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/1/", delay=0.1)

    def sub(pk: int) -> Generator[Any, Any, int]:
        response = yield Send(Request("GET", f"books/{pk}/"))
        assert isinstance(response, Response)
        return pk

    def plan() -> Generator[Any, Any, list[int]]:
        return (yield from gather([sub(1), sub(2), sub(3)], 10))

    assert await services["default"].arun(plan()) == [1, 2, 3]
    paths = [e["path"] for e in upstream.requests()]
    assert sorted(paths) == ["/api/books/1/", "/api/books/2/", "/api/books/3/"]


def test_driver_answers_transport_errors_instead_of_raising(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/1/", action="close")

    def plan() -> Generator[Any, Any, Any]:
        return (yield Send(Request("GET", "books/1/")))

    outcome = services["default"].run(plan())
    assert isinstance(outcome, exc.APIConnectionError)
    assert outcome.retryable
    assert outcome.method == "GET"


def test_driver_closes_an_abandoned_plan(upstream: Upstream) -> None:
    closed: list[bool] = []

    def plan() -> Generator[Any, Any, None]:
        try:
            yield Send(Request("GET", "books/1/"))
            raise RuntimeError("the plan fails")
        finally:
            closed.append(True)

    with pytest.raises(RuntimeError, match="the plan fails"):
        services["default"].run(plan())
    assert closed == [True]


# -- closing ------------------------------------------------------------------------------------


def test_settings_service_reopens_after_close(upstream: Upstream) -> None:
    service = services["default"]
    first = service.sync_driver()
    service.close()
    assert first.closed
    assert Book.objects.get(pk=1).id == 1
    second = service.sync_driver()
    assert second is not first
    assert not second.closed


async def test_settings_service_reopens_after_aclose(upstream: Upstream) -> None:
    service = services["default"]
    first = service.async_driver()
    await Book.objects.aget(pk=1)
    await service.aclose()
    assert first.closed
    assert (await Book.objects.aget(pk=2)).id == 2
    assert service.async_driver() is not first


def test_explicit_client_is_final_after_close(upstream: Upstream) -> None:
    client = ServiceClient(f"{upstream.url}/api/", retry_delay=0)
    assert client.get("books/1/").data["id"] == 1
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.get("books/1/")
    with ServiceClient(f"{upstream.url}/api/", retry_delay=0) as managed:
        assert managed.get("books/", params={"page_size": 2}).data["count"] == 25
    with pytest.raises(RuntimeError):
        managed.get("books/1/")


async def test_explicit_async_client_is_final_after_close(upstream: Upstream) -> None:
    async with AsyncServiceClient(f"{upstream.url}/api/", retry_delay=0) as client:
        assert (await client.get("books/1/")).data["id"] == 1
    with pytest.raises(RuntimeError, match="closed"):
        await client.get("books/1/")


# -- HTTP/2 ---------------------------------------------------------------------------------------


def test_http2_setting_builds_h2_capable_clients(upstream: Upstream) -> None:
    raw = service_settings(upstream, HTTP2=True, SYNC_TRANSPORT="auto", ASYNC_TRANSPORT="auto")
    with override_settings(API_ORM_SERVICES={"default": raw}):
        service = services["default"]
        client = service.sync_driver()
        assert client.http2 is True  # type: ignore[attr-defined]

        async def async_pool_http2() -> bool:
            return bool(service.async_driver().http2)  # type: ignore[attr-defined]

        assert asyncio.run(async_pool_http2()) is True
        # Plain http:// has no ALPN, so uvicorn is still spoken to over HTTP/1.1.
        assert Book.objects.get(pk=1).id == 1
    assert not getattr(services["default"].sync_driver(), "http2", False)


# -- logging ------------------------------------------------------------------------------------


def test_debug_log_has_method_and_path_not_token(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="django_api_orm")
    PrivateBook.objects.using("private").get(pk=3)
    PrivateBook.objects.using("private").params(access_token="query-secret").count()
    upstream.fault(method="GET", path_prefix="/api/private/books/4/", action="close")
    PrivateBook.objects.using("private").get(pk=4)
    messages = [r.getMessage() for r in caplog.records if r.name == "django_api_orm"]
    assert any("GET" in m and "/api/private/books/3/" in m and "-> 200" in m for m in messages), (
        messages
    )
    assert any("access_token=***" in m for m in messages), messages
    assert any("failed after" in m and "/api/private/books/4/" in m for m in messages), messages
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        assert "test-token" not in text
        assert "query-secret" not in text
    assert all(e["headers"]["authorization"] == "Bearer test-token" for e in upstream.requests())


def test_no_debug_log_above_debug(upstream: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="django_api_orm")
    Book.objects.get(pk=1)
    assert [r for r in caplog.records if r.name == "django_api_orm"] == []


# -- the Request refuses header injection ------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "a\r\nX-Injected: 1"},
        {"X-A": "a\nb"},
        {"X-A": "a\rb"},
        {"X-A": "a\x00b"},
        {"X-A\r\nX-B": "v"},
    ],
)
def test_request_refuses_control_characters_in_headers(headers: dict[str, str]) -> None:
    with pytest.raises(exc.UnsafeRequestError) as info:
        Request("GET", "books/", headers=headers)
    assert isinstance(info.value, ValueError)


def test_request_accepts_ordinary_headers() -> None:
    request = Request("POST", "books/", headers={"Idempotency-Key": "k", "X-A": "b c;d=e"})
    assert request.idempotent
    assert not Request("POST", "books/", headers={"X-A": "b"}).idempotent
