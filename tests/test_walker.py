"""The page walker: every pagination shape read whole, in both colours, with bounded work.

Each shape is the fake service imitating a real API (DRF page/offset/cursor, json-server 1.0's
next page number, Feathers' total without a next link, Link headers, X-Total-Count alone, a
bare list). The real servers themselves are exercised in tests/realservers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import exceptions
from django_api_orm._registry import services
from django_api_orm.testing import FakeService, PageShape, assert_num_requests
from tests.models import Book

BASE = {"BASE_URL": "http://fake.test/api/", "RETRY_DELAY": 0}
JSON_SERVER = {
    "PAGE_PARAM": "_page",
    "PAGE_SIZE_PARAM": "_per_page",
    "ITEMS_KEY": "data",
    "TOTAL_KEY": "items",
    "NEXT_KEY": "next",
}
FEATHERS = {
    "PAGINATION": "offset",
    "OFFSET_PARAM": "$skip",
    "LIMIT_PARAM": "$limit",
    "ITEMS_KEY": "data",
    "TOTAL_KEY": "total",
    "NEXT_KEY": None,
}
SHAPES: dict[str, tuple[dict[str, Any], PageShape]] = {
    "drf-page": ({}, PageShape()),
    "drf-offset": ({"PAGINATION": "offset"}, PageShape()),
    "drf-cursor": ({"PAGINATION": "cursor"}, PageShape()),
    "next-number": (JSON_SERVER, PageShape(next="number", past_end="last")),
    "total-no-next-offset": (FEATHERS, PageShape(next="none")),
    "total-no-next-page": ({}, PageShape(next="none")),
    "link-header": ({"DIALECT": "link-header"}, PageShape()),
    "header-total-only": ({"DIALECT": "link-header"}, PageShape(next="none")),
    "bare-list": ({"PAGINATION": "none"}, PageShape()),
}
ALL_IDS = list(range(1, 26))
Z_IDS = [i for i in ALL_IDS if i % 5 != 0 and i % 7 != 0][:15]


def rows(count: int = 25) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "title": f"Book {i:02}",
            "year": 1950 + i,
            "author": "Z" if i in Z_IDS else "A",
        }
        for i in range(1, count + 1)
    ]


def install(alias: str, *, data: int = 25, **options: Any) -> Iterator[FakeService]:
    settings, shape = SHAPES[alias]
    options.setdefault("pages", shape)
    with (
        override_settings(API_ORM_SERVICES={alias: {**BASE, **settings}}),
        FakeService({"books/": rows(data)}, alias=alias, **options) as fake,
    ):
        yield fake


@pytest.fixture(params=list(SHAPES))
def shape(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeService]]:
    for fake in install(request.param):
        yield request.param, fake


def ids(objs: Any) -> list[Any]:
    return [obj.pk for obj in objs]


# -- every shape, every row, both colours ---------------------------------------------------------


def test_every_shape_reads_every_row(shape: tuple[str, FakeService]) -> None:
    alias, _ = shape
    books = Book.objects.using(alias)
    assert ids(books.all()) == ALL_IDS
    assert ids(books.iterator()) == ALL_IDS
    assert ids(books.iterator(chunk_size=7)) == ALL_IDS
    assert books.count() == 25
    assert ids(books.order_by("id")[5:23]) == ALL_IDS[5:23]
    assert ids(books.order_by("id")[8:12]) == ALL_IDS[8:12]
    assert ids(books.order_by("id")[30:40]) == []
    assert books.order_by("id")[24].pk == 25
    assert set(books.in_bulk(ALL_IDS)) == set(ALL_IDS)


async def test_every_shape_reads_every_row_async(shape: tuple[str, FakeService]) -> None:
    alias, _ = shape
    books = Book.objects.using(alias)
    assert ids(await books.all().aall()) == ALL_IDS
    assert [b.pk async for b in books.all()] == ALL_IDS
    assert [b.pk async for b in books.aiterator(chunk_size=7)] == ALL_IDS
    assert await books.acount() == 25
    assert ids(await books.order_by("id")[5:23].aall()) == ALL_IDS[5:23]
    assert ids(await books.order_by("id")[30:40].aall()) == []
    assert set(await books.ain_bulk(ALL_IDS)) == set(ALL_IDS)


def test_every_shape_deletes_exactly_a_multi_page_selection(shape: tuple[str, FakeService]) -> None:
    alias, fake = shape
    assert Book.objects.using(alias).filter(author="Z").delete() == (15, {"tests.Book": 15})
    assert sorted(r["id"] for r in fake.rows("books/")) == sorted(set(ALL_IDS) - set(Z_IDS))


async def test_every_shape_updates_exactly_a_multi_page_selection_async(
    shape: tuple[str, FakeService],
) -> None:
    alias, fake = shape
    assert await Book.objects.using(alias).filter(author="Z").aupdate(year=2000) == 15
    assert sorted(r["id"] for r in fake.rows("books/") if r["year"] == 2000) == sorted(Z_IDS)
    assert await Book.objects.using(alias).filter(author="Z").adelete() == (15, {"tests.Book": 15})
    assert len(fake.rows("books/")) == 10


def _sent(fake: FakeService) -> Counter[tuple[str, str, tuple[tuple[str, str], ...]]]:
    return Counter((r.method, r.path, tuple(sorted(r.params))) for r in fake.requests)


@pytest.mark.parametrize("alias", list(SHAPES))
def test_sync_and_async_send_the_same_requests(alias: str) -> None:
    def sync_side() -> None:
        books = Book.objects.using(alias)
        list(books.all())
        list(books.iterator())
        list(books.order_by("id")[5:23])
        books.count()
        books.filter(author="Z").update(year=1)

    async def async_side() -> None:
        books = Book.objects.using(alias)
        await books.all().aall()
        [b async for b in books.aiterator()]
        await books.order_by("id")[5:23].aall()
        await books.acount()
        await books.filter(author="Z").aupdate(year=1)

    for fake in install(alias):
        sync_side()
        sent_sync = _sent(fake)
    for fake in install(alias):
        asyncio.run(async_side())
        sent_async = _sent(fake)
    assert sent_sync == sent_async
    assert sum(sent_sync.values()) > 15


# -- what the server says about its pages --------------------------------------------------------


@pytest.mark.parametrize("alias", ["drf-page", "drf-offset", "drf-cursor", "next-number"])
def test_a_capped_page_size_loses_no_row(alias: str) -> None:
    for fake in install(alias, data=125, max_page_size=100):
        books = Book.objects.using(alias).order_by("id")
        assert ids(books[:150]) == list(range(1, 126))
        assert ids(books[110:120]) == list(range(111, 121))
        assert ids(books[95:105]) == list(range(96, 106))
        assert len(list(books.iterator(chunk_size=500))) == 125
        assert all(int(dict(r.params).get("page_size", 0)) <= 500 for r in fake.requests)


def test_a_page_past_the_end_is_never_returned_as_rows() -> None:
    # json-server 1.0 answers a page past the end with its last page.
    for fake in install("next-number"):
        with assert_num_requests(1):
            assert ids(Book.objects.using("next-number").order_by("id")[30:40]) == []
        assert ids(Book.objects.using("next-number").order_by("id")[20:40]) == ALL_IDS[20:]
        assert fake.requests[-1].params


def test_a_total_without_next_reads_every_page_concurrently_planned() -> None:
    for fake in install("total-no-next-offset"):
        with assert_num_requests(3):
            assert ids(Book.objects.using("total-no-next-offset").all()) == ALL_IDS
        assert [dict(r.params).get("$skip") for r in fake.requests] == ["0", "10", "20"]


# -- bounded work on any upstream -----------------------------------------------------------------


def test_a_lying_total_is_refused_before_fanning_out() -> None:
    for fake in install("drf-page", pages=PageShape(total=200_000), page_size=2):
        with pytest.raises(exceptions.TooManyPages) as info:
            list(Book.objects.using("drf-page").all())
        assert len(fake.requests) == 1
    error = info.value
    assert error.limit == 1000 and error.service == "drf-page" and error.model == "Book"
    assert "MAX_PAGES=1000" in str(error) and "/api/books/" in error.url


@pytest.mark.parametrize("alias", ["drf-page", "drf-offset", "total-no-next-offset"])
def test_a_lying_total_stops_at_the_first_short_or_empty_page(alias: str) -> None:
    settings, shape = SHAPES[alias]
    lying = PageShape(next=shape.next, total=2000)
    with (
        override_settings(API_ORM_SERVICES={alias: {**BASE, **settings, "MAX_PAGES": 5000}}),
        FakeService({"books/": rows(25)}, alias=alias, pages=lying, page_size=2) as fake,
    ):
        assert ids(Book.objects.using(alias).all()) == ALL_IDS
        # 13 real pages, then at most one window (MAX_CONCURRENCY=10) past the end.
        assert len(fake.requests) <= 13 + 10


def test_a_repeating_cursor_is_refused() -> None:
    looping = PageShape(repeat_cursor=True)
    for fake in install("drf-cursor", pages=looping, page_size=3):
        with pytest.raises(exceptions.PaginationError, match="repeats rows already read"):
            list(Book.objects.using("drf-cursor").all())
        assert len(fake.requests) == 2


async def test_a_repeating_cursor_is_refused_async() -> None:
    looping = PageShape(repeat_cursor=True)
    for fake in install("drf-cursor", pages=looping, page_size=3):
        with pytest.raises(exceptions.PaginationError):
            [b async for b in Book.objects.using("drf-cursor").aiterator()]
        assert len(fake.requests) <= 3


def test_max_pages_bounds_a_next_link_walk() -> None:
    with (
        override_settings(
            API_ORM_SERVICES={"drf-cursor": {**BASE, "PAGINATION": "cursor", "MAX_PAGES": 4}}
        ),
        FakeService({"books/": rows(25)}, alias="drf-cursor", page_size=3) as fake,
    ):
        with pytest.raises(exceptions.TooManyPages, match="MAX_PAGES=4"):
            list(Book.objects.using("drf-cursor").all())
        assert len(fake.requests) == 4
        assert ids(Book.objects.using("drf-cursor").all()[:12]) == ALL_IDS[:12]


def _overlapping(fake: FakeService) -> Any:
    """A service whose page 2 starts two rows early (a row was inserted meanwhile)."""
    base = fake.handle

    def handle(method: str, url: str, headers: Any, body: bytes) -> Any:
        if method == "GET" and "page=2" in url:
            status, head, _ = base(method, url, headers, body)
            page = {"count": 25, "next": None, "results": rows(25)[8:18]}
            return status, head, json.dumps(page).encode()
        return base(method, url, headers, body)

    return handle


def test_overlapping_pages_read_and_write_each_row_once() -> None:
    for fake in install("drf-page"):
        services["drf-page"].use_handler(_overlapping(fake))
        found = ids(Book.objects.using("drf-page").all())
        assert found == list(range(1, 19)) + list(range(21, 26))
        deleted, _ = Book.objects.using("drf-page").delete()
        deletes = [r for r in fake.requests if r.method == "DELETE"]
        assert deleted == len(deletes) == len({r.path for r in deletes}) == 23


def _doubled(fake: FakeService) -> Any:
    """A service whose page 1 lists row 3 twice (a hostile or buggy join)."""
    base = fake.handle

    def handle(method: str, url: str, headers: Any, body: bytes) -> Any:
        status, head, content = base(method, url, headers, body)
        if method == "GET" and "page=2" not in url:
            page = json.loads(content)
            page["results"].insert(3, page["results"][2])
            content = json.dumps(page).encode()
        return status, head, content

    return handle


@pytest.mark.parametrize("streaming", [False, True])
def test_a_page_listing_a_row_twice_is_refused(streaming: bool) -> None:
    # Dropping the copy would not do: the page's length tells where the next page starts.
    for fake in install("drf-page"):
        services["drf-page"].use_handler(_doubled(fake))
        books = Book.objects.using("drf-page").all()
        with pytest.raises(exceptions.PaginationError, match=r"same row twice \(pk=3\)"):
            list(books.iterator(chunk_size=10) if streaming else books)
        with pytest.raises(exceptions.PaginationError, match="same row twice"):
            books.delete()
        assert not [r for r in fake.requests if r.method == "DELETE"]


# -- the event loop stays responsive --------------------------------------------------------------


@contextlib.contextmanager
def callback_times() -> Iterator[list[tuple[float, float]]]:
    """(wall, CPU) seconds of every event-loop callback run meanwhile. CPU time is what a
    callback really blocked the loop for; wall time also counts the machine's other load."""
    times: list[tuple[float, float]] = []
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.events.Handle) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            original(handle)
        finally:
            times.append((time.perf_counter() - wall, time.thread_time() - cpu))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        yield times
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]


def test_a_claimed_total_of_200000_never_blocks_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    alias = "drf-page"
    lying = PageShape(total=200_000)
    settings = {**BASE, "MAX_PAGES": 200_000, "PAGE_SIZE": 2}

    async def walk(debug: bool) -> list[Any]:
        loop = asyncio.get_running_loop()
        loop.set_debug(debug)
        loop.slow_callback_duration = 0.01
        return [b.pk async for b in Book.objects.using(alias).all()]

    with (
        override_settings(API_ORM_SERVICES={alias: settings}),
        FakeService({"books/": rows(25)}, alias=alias, pages=lying) as fake,
    ):
        asyncio.run(walk(False))  # warm: the first call's cold start is the transports' concern
        fake.requests.clear()
        # The objects of the ~1,900 tests run before this one are moved out of the
        # collector's sight: a full collection of them (seen: 10.8 ms) is the test
        # session's pause, not the walk's.
        gc.collect()
        gc.freeze()
        try:
            with callback_times() as times:
                found = asyncio.run(walk(False))
            requests = len(fake.requests)
            # asyncio's own report, in debug mode (whose stack capture at each task start,
            # about 0.6 ms a task, is its cost, not the walk's: hence a run of its own).
            with caplog.at_level(logging.WARNING, logger="asyncio"):
                assert asyncio.run(walk(True)) == found
        finally:
            gc.unfreeze()
    assert found == ALL_IDS
    assert requests <= 13 + 10
    longest_wall, longest_cpu = max(w for w, _ in times), max(c for _, c in times)
    print(
        f"FIGURE longest loop callback: {longest_wall * 1000:.2f} ms wall, "
        f"{longest_cpu * 1000:.2f} ms CPU over {len(times)} callbacks"
    )
    assert longest_cpu < 0.010
    slow = [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    assert len(slow) <= 1, slow  # asyncio's own debug report (wall time: load shows there)
