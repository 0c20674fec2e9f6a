"""The async twins against the live upstream, the sync-in-async guard, and event-loop hygiene."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import SynchronousOnlyOperation

from django_api_orm import AsyncQuerySet, ServiceClient, exceptions
from django_api_orm._registry import services
from tests.models import AsyncBook, Book
from tests.upstream_fixture import Upstream


def methods(upstream: Upstream) -> list[str]:
    return [r["method"] for r in upstream.requests()]


def queries(upstream: Upstream) -> list[str]:
    return [r["query"] for r in upstream.requests()]


def body(entry: dict[str, Any]) -> Any:
    return json.loads(entry["body"]) if entry["body"] else None


async def server_count(upstream: Upstream, **filters: Any) -> int:
    count = await Book.objects.filter(**filters).acount()
    upstream.clear_requests()
    return count


async def server_row(upstream: Upstream, pk: int) -> dict[str, Any] | None:
    try:
        row = (await Book.objects.aget(pk=pk)).to_dict()
    except Book.DoesNotExist:
        row = None
    upstream.clear_requests()
    return row


# -- reading -----------------------------------------------------------------------------------


async def test_aget_by_pk_is_one_detail_request(upstream: Upstream) -> None:
    book = await Book.objects.aget(pk=7)
    assert (book.id, book.title) == (7, "Book 07")
    assert [(r["method"], r["path"], r["query"]) for r in upstream.requests()] == [
        ("GET", "/api/books/7/", "")
    ]


async def test_aget_by_other_lookups(upstream: Upstream) -> None:
    book = await Book.objects.filter(author="Cy").aget(year=1987)
    assert book.id == 7
    assert queries(upstream) == ["author=Cy&year=1987&page=1&page_size=2"]


async def test_aget_errors(upstream: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist):
        await Book.objects.aget(pk=999)
    with pytest.raises(Book.DoesNotExist):
        await Book.objects.aget(title="nothing")
    with pytest.raises(Book.MultipleObjectsReturned, match="returned 5"):
        await Book.objects.aget(author="Ada")


async def test_afirst_and_alast(upstream: Upstream) -> None:
    assert (await Book.objects.afirst()).id == 1  # type: ignore[union-attr]
    assert (await Book.objects.alast()).id == 25  # type: ignore[union-attr]
    assert (await Book.objects.filter(author="Bob").order_by("-year").afirst()).id == 21  # type: ignore[union-attr]
    assert await Book.objects.filter(year__gt=3000).afirst() is None
    assert await Book.objects.filter(year__gt=3000).alast() is None
    assert queries(upstream)[:2] == [
        "ordering=id&page=1&page_size=1",
        "ordering=-id&page=1&page_size=1",
    ]


async def test_acount_and_aexists_are_one_request_each(upstream: Upstream) -> None:
    assert await Book.objects.acount() == 25
    assert await Book.objects.filter(year__gte=2000).acount() == 6
    assert await Book.objects.filter(in_stock=True).aexists() is True
    assert await Book.objects.filter(year__gt=3000).aexists() is False
    assert len(upstream.requests()) == 4
    assert all("page_size=1" in q for q in queries(upstream))


async def test_aall_and_async_for(upstream: Upstream) -> None:
    qs = Book.objects.filter(year__gte=1990).order_by("-id")
    assert upstream.requests() == []
    seen = [book.id async for book in qs]
    assert seen == list(range(25, 9, -1))
    count = len(upstream.requests())
    assert count == 2  # 16 rows, 10 per page
    assert [book.id async for book in qs] == seen  # the first pass filled the cache
    assert [b.id for b in await qs.aall()] == seen
    assert len(upstream.requests()) == count
    assert await qs.acount() == 16
    assert len(upstream.requests()) == count


async def test_async_for_over_values_and_slices(upstream: Upstream) -> None:
    assert [row async for row in Book.objects.filter(id__lte=2).values("id", "author")] == [
        {"id": 1, "author": "Bob"},
        {"id": 2, "author": "Cy"},
    ]
    assert [i async for i in Book.objects.values_list("id", flat=True)[5:8]] == [6, 7, 8]


async def test_ain_bulk(upstream: Upstream) -> None:
    found = await Book.objects.ain_bulk([2, 4, 999])
    assert sorted(found) == [2, 4]
    assert found[4].title == "Book 04"
    assert [parse_qs(q)["id__in"] for q in queries(upstream)] == [["2,4,999"]]
    upstream.clear_requests()
    assert await Book.objects.ain_bulk([]) == {}
    assert upstream.requests() == []
    assert sorted(await Book.objects.ain_bulk()) == list(range(1, 26))


async def test_ain_bulk_many_ids_runs_batches(upstream: Upstream) -> None:
    found = await Book.objects.ain_bulk(range(1, 600))
    assert sorted(found) == list(range(1, 26))
    assert len({parse_qs(q)["id__in"][0] for q in queries(upstream)}) > 1


async def test_aiterator_streams_pages(upstream: Upstream) -> None:
    seen = [book.id async for book in Book.objects.aiterator(chunk_size=7)]
    assert seen == list(range(1, 26))
    pages = sorted(int(parse_qs(q)["page"][0]) for q in queries(upstream))
    assert pages == [1, 2, 3, 4]
    assert all(parse_qs(q)["page_size"] == ["7"] for q in queries(upstream))


async def test_aiterator_with_filters_slices_and_values(upstream: Upstream) -> None:
    qs = Book.objects.filter(in_stock=True).order_by("-year")
    assert [b.id async for b in qs.aiterator(chunk_size=3)] == list(range(24, 0, -2))
    assert [y async for y in qs.values_list("year", flat=True)[2:5].aiterator()] == [
        2000,
        1998,
        1996,
    ]


async def test_aiterator_does_not_cache(upstream: Upstream) -> None:
    qs = Book.objects.filter(author="Eve")
    first = [b.id async for b in qs.aiterator()]
    await Book.objects.acreate(title="Another Eve", year=2010, author="Eve")
    second = [b.id async for b in qs.aiterator()]
    assert second == [*first, 26]


async def test_aiterator_stopped_early(upstream: Upstream) -> None:
    async for book in Book.objects.aiterator(chunk_size=5):
        if book.id == 3:
            break
    await asyncio.sleep(0)
    assert all(r["method"] == "GET" for r in upstream.requests())


# -- writing -----------------------------------------------------------------------------------


async def test_acreate(upstream: Upstream) -> None:
    book = await Book.objects.acreate(title="Async", year=2024)
    assert book.pk == 26
    [post] = upstream.requests()
    assert post["method"] == "POST"
    assert "idempotency-key" in post["headers"]
    assert body(post)["title"] == "Async"
    assert (await server_row(upstream, 26))["year"] == 2024  # type: ignore[index]


async def test_aget_or_create(upstream: Upstream) -> None:
    book, created = await Book.objects.aget_or_create(title="Book 05", defaults={"year": 1})
    assert (book.id, created) == (5, False)
    assert methods(upstream) == ["GET"]
    book, created = await Book.objects.aget_or_create(title="Async new", defaults={"year": 3})
    assert (book.id, book.year, created) == (26, 3, True)
    assert methods(upstream) == ["GET", "GET", "POST"]


async def test_aupdate_or_create(upstream: Upstream) -> None:
    book, created = await Book.objects.aupdate_or_create(title="Book 05", defaults={"year": 1})
    assert (book.id, book.year, created) == (5, 1, False)
    patch = upstream.requests()[-1]
    assert (patch["method"], patch["path"], body(patch)) == ("PATCH", "/api/books/5/", {"year": 1})
    book, created = await Book.objects.aupdate_or_create(title="Other", defaults={"year": 2})
    assert (book.id, created) == (26, True)
    assert (await server_row(upstream, 5))["year"] == 1  # type: ignore[index]


async def test_abulk_create(upstream: Upstream) -> None:
    made = await Book.objects.abulk_create(
        [{"title": f"Bulk {i}", "year": 2000 + i} for i in range(5)]
        + [Book(title="Bulk obj", year=1)]
    )
    assert sorted(b.pk for b in made) == [26, 27, 28, 29, 30, 31]
    assert [b.title for b in made] == [*(f"Bulk {i}" for i in range(5)), "Bulk obj"]
    for book in made:
        row = await server_row(upstream, book.pk)
        assert row == book.to_dict()
    assert await server_count(upstream) == 31


async def test_aupdate_and_adelete_on_querysets(upstream: Upstream) -> None:
    assert await Book.objects.filter(author="Ada").aupdate(in_stock=False) == 5
    patches = [r for r in upstream.requests() if r["method"] == "PATCH"]
    assert len(patches) == 5
    assert all(body(r) == {"in_stock": False} for r in patches)
    assert await server_count(upstream, author="Ada", in_stock=True) == 0
    assert await Book.objects.filter(year__lt=1986).adelete() == (5, {"tests.Book": 5})
    assert sorted(r["path"] for r in upstream.requests() if r["method"] == "DELETE") == [
        f"/api/books/{i}/" for i in range(1, 6)
    ]
    assert await server_count(upstream) == 20


async def test_instance_asave_adelete_arefresh(upstream: Upstream) -> None:
    book = Book(title="Instance", year=2001)
    await book.asave()
    assert book.pk == 26
    book.year = 2002
    await book.asave()
    book.author = "Dee"
    await book.asave(update_fields=["author"])
    assert [(r["method"], r["path"]) for r in upstream.requests()] == [
        ("POST", "/api/books/"),
        ("PATCH", "/api/books/26/"),
        ("PATCH", "/api/books/26/"),
    ]
    assert body(upstream.requests()[1]) == {"year": 2002}
    assert body(upstream.requests()[-1]) == {"author": "Dee"}
    await Book.objects.filter(pk=26).aupdate(title="Remote")
    await book.arefresh_from_api()
    assert (book.title, book.year, book.author) == ("Remote", 2002, "Dee")
    await book.arefresh_from_db()
    assert await book.adelete() == (1, {"tests.Book": 1})
    assert book.pk is None
    assert await server_row(upstream, 26) is None


async def test_asave_errors(upstream: Upstream) -> None:
    book = await Book.objects.aget(pk=1)
    upstream.clear_requests()
    with pytest.raises(ValueError):
        await book.asave(update_fields=["nope"])
    with pytest.raises(ValueError):
        await Book(title="x", year=1).adelete()
    assert upstream.requests() == []
    await Book.objects.filter(pk=1).adelete()
    with pytest.raises(Book.DoesNotExist):
        await book.arefresh_from_api()


# -- concurrency -------------------------------------------------------------------------------


async def test_gather_twenty_agets(upstream: Upstream) -> None:
    books = await asyncio.gather(*(Book.objects.aget(pk=i) for i in range(1, 21)))
    assert [b.id for b in books] == list(range(1, 21))
    assert sorted(r["path"] for r in upstream.requests()) == sorted(
        f"/api/books/{i}/" for i in range(1, 21)
    )


async def test_gather_mixed_operations(upstream: Upstream) -> None:
    total, recent, first, created = await asyncio.gather(
        Book.objects.acount(),
        Book.objects.filter(year__gte=2000).acount(),
        Book.objects.afirst(),
        Book.objects.acreate(title="Concurrent", year=1),
    )
    assert total in (25, 26)
    assert (recent, first.id, created.pk) == (6, 1, 26)  # type: ignore[union-attr]


async def test_errors_inside_gather(upstream: Upstream) -> None:
    results = await asyncio.gather(
        Book.objects.aget(pk=1), Book.objects.aget(pk=999), return_exceptions=True
    )
    assert results[0].id == 1  # type: ignore[union-attr]
    assert isinstance(results[1], Book.DoesNotExist)


async def test_cancelled_request_leaves_the_client_usable(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/1/", delay=0.5)
    task = asyncio.create_task(Book.objects.aget(pk=1))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await Book.objects.aget(pk=2)).id == 2
    assert await Book.objects.acount() == 25


# -- the AsyncAPIModel flavour -------------------------------------------------------------------


async def test_async_model_methods_are_awaitable(upstream: Upstream) -> None:
    qs = AsyncBook.objects.filter(author="Dee")
    assert isinstance(qs, AsyncQuerySet)
    assert [b.id for b in await qs] == [3, 8, 13, 18, 23]
    assert await AsyncBook.objects.count() == 25
    book = await AsyncBook.objects.get(pk=3)
    book.title = "Awaited"
    await book.save(update_fields=["title"])
    await book.refresh_from_api()
    assert book.title == "Awaited"
    assert [b.id async for b in AsyncBook.objects.iterator(chunk_size=10)][-1] == 25


async def test_async_manager_is_not_async_iterable(upstream: Upstream) -> None:
    with pytest.raises(TypeError, match="not iterable"):
        [b async for b in AsyncBook.objects]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="not iterable"):
        [b async for b in Book.objects]  # type: ignore[attr-defined]
    assert upstream.requests() == []


async def test_manager_level_evaluation_is_not_cached(upstream: Upstream) -> None:
    before = await Book.objects.aall()
    awaited = await AsyncBook.objects
    await Book.objects.acreate(title="After", year=2030)
    try:
        assert len(before) == len(awaited) == 25
        assert len(await Book.objects.aall()) == 26
        assert len(await AsyncBook.objects) == 26
        assert await Book.objects.acount() == 26
        assert await AsyncBook.objects.count() == 26
    finally:  # do not leave stale rows on the shared managers for later tests
        Book.objects._result_cache = None
        AsyncBook.objects._result_cache = None


# -- sync methods inside a running loop -------------------------------------------------------

SYNC_CALLS: list[tuple[str, Callable[[], Any], str]] = [
    ("get", lambda: Book.objects.get(pk=1), "aget"),
    ("get-filtered", lambda: Book.objects.filter(author="Ada").get(), "aget"),
    ("first", lambda: Book.objects.first(), "afirst"),
    ("last", lambda: Book.objects.last(), "alast"),
    ("count", lambda: Book.objects.count(), "acount"),
    ("exists", lambda: Book.objects.exists(), "aexists"),
    ("create", lambda: Book.objects.create(title="x", year=1), "acreate"),
    (
        "get_or_create",
        lambda: Book.objects.get_or_create(title="x", defaults={"year": 1}),
        "aget_or_create",
    ),
    ("update_or_create", lambda: Book.objects.update_or_create(title="x"), "aupdate_or_create"),
    ("bulk_create", lambda: Book.objects.bulk_create([{"title": "x", "year": 1}]), "abulk_create"),
    ("in_bulk", lambda: Book.objects.in_bulk([1, 2]), "ain_bulk"),
    ("in_bulk-all", lambda: Book.objects.in_bulk(), "ain_bulk"),
    ("update", lambda: Book.objects.filter(pk=1).update(year=1), "aupdate"),
    ("delete", lambda: Book.objects.filter(pk=1).delete(), "adelete"),
    ("iterator", lambda: next(Book.objects.iterator()), "aiterator"),
    ("list", lambda: list(Book.objects.all()), "aall"),
    ("len", lambda: len(Book.objects.filter(year=1990)), "aall"),
    ("bool", lambda: bool(Book.objects.all()), "aall"),
    ("index", lambda: Book.objects.all()[0], "aall"),
    ("step-slice", lambda: Book.objects.all()[0:4:2], "aall"),
    ("values", lambda: list(Book.objects.values("id")), "aall"),
    ("save-new", lambda: Book(title="x", year=1).save(), "asave"),
    ("save", lambda: Book(id=1, title="x", year=1).save(), "asave"),
    ("save-fields", lambda: Book(id=1, title="x", year=1).save(update_fields=["title"]), "asave"),
    ("instance-delete", lambda: Book(id=1, title="x", year=1).delete(), "adelete"),
    ("refresh", lambda: Book(id=1, title="x", year=1).refresh_from_api(), "arefresh_from_api"),
    (
        "refresh_from_db",
        lambda: Book(id=1, title="x", year=1).refresh_from_db(),
        "arefresh_from_api",
    ),
]


@pytest.mark.parametrize(
    ("call", "twin"), [case[1:] for case in SYNC_CALLS], ids=[case[0] for case in SYNC_CALLS]
)
async def test_sync_call_in_a_running_loop_is_refused_before_any_request(
    upstream: Upstream, call: Callable[[], Any], twin: str
) -> None:
    with pytest.raises(SynchronousOnlyOperation) as info:
        call()
    message = str(info.value)
    assert f"{twin}" in message
    assert "running event loop" in message
    assert upstream.requests() == []


async def test_refusal_message_names_the_exact_twin(upstream: Upstream) -> None:
    with pytest.raises(SynchronousOnlyOperation, match=r"await \.\.\.acount\(\)"):
        Book.objects.count()
    with pytest.raises(SynchronousOnlyOperation, match=r"Book\.objects\.get\(\).*aget\(\)"):
        Book.objects.get(pk=1)
    with pytest.raises(SynchronousOnlyOperation, match=r"Book\.save\(\).*asave\(\)"):
        Book(title="x", year=1).save()


async def test_sync_explicit_client_in_a_running_loop_is_refused(upstream: Upstream) -> None:
    client = ServiceClient(base_url=f"{upstream.url}/api/", retry_delay=0)
    try:
        for call in (
            lambda: client.get("books/"),
            lambda: client.post("books/", {"title": "x", "year": 1}),
            lambda: client.delete("books/1/"),
        ):
            with pytest.raises(SynchronousOnlyOperation):
                call()
    finally:
        client.close()
    assert upstream.requests() == []


async def test_sync_to_async_runs_the_sync_api(upstream: Upstream) -> None:
    assert await sync_to_async(Book.objects.count)() == 25
    book = await sync_to_async(Book.objects.get)(pk=2)
    assert book.id == 2


async def test_allow_async_unsafe_lifts_the_guard(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert Book.objects.count() == 25


# -- event loops come and go -----------------------------------------------------------------------


async def _round_trip(title: str) -> tuple[int, int]:
    book = await AsyncBook.objects.create(title=title, year=2000)
    found = await Book.objects.aget(pk=book.pk)
    count = await Book.objects.filter(year=2000).acount()
    rows = [b async for b in Book.objects.filter(year=2000)]
    assert len(rows) == count
    await asyncio.gather(*(Book.objects.aget(pk=i) for i in range(1, 6)))
    return found.pk, count


def test_asyncio_run_twice_in_a_row(upstream: Upstream) -> None:
    open_before = len(services["default"]._async_drivers)
    assert asyncio.run(_round_trip("first loop")) == (26, 2)
    assert asyncio.run(_round_trip("second loop")) == (27, 3)
    gc.collect()  # a leaked client or socket would warn (and fail the test) here
    assert len(services["default"]._async_drivers) == open_before
    assert Book.objects.count() == 27  # and the sync side still works afterwards


def test_async_to_sync_gets_a_new_loop_per_call(upstream: Upstream) -> None:
    run = async_to_sync(_round_trip)
    assert run("a2s one") == (26, 2)
    assert run("a2s two") == (27, 3)
    assert async_to_sync(Book.objects.acount)() == 27
    assert async_to_sync(AsyncBook.objects.count)() == 27
    gc.collect()
    assert Book.objects.filter(year=2000).count() == 3


def test_hand_driven_loop_without_asyncgen_shutdown(upstream: Upstream) -> None:
    for _ in range(2):
        loop = asyncio.new_event_loop()
        try:
            assert loop.run_until_complete(Book.objects.acount()) == 25
        finally:
            loop.close()
        del loop
    gc.collect()
    assert asyncio.run(Book.objects.acount()) == 25


def test_sync_and_async_interleave(upstream: Upstream) -> None:
    assert Book.objects.count() == 25
    assert asyncio.run(Book.objects.acount()) == 25
    Book.objects.create(title="sync", year=1)
    assert asyncio.run(Book.objects.acount()) == 26
    assert Book.objects.get(pk=26).title == "sync"


def test_async_errors_cross_asyncio_run(upstream: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist):
        asyncio.run(Book.objects.aget(pk=999))
    with pytest.raises(exceptions.AuthenticationError):
        asyncio.run(_unauthorized())
    assert asyncio.run(Book.objects.aexists()) is True


async def _unauthorized() -> None:
    from tests.models import PrivateBook

    await PrivateBook.objects.acount()
