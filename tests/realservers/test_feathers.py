"""A Feathers 5 app (koa, REST, memory adapter) over real HTTP: reads, slices, counts, writes.

Facts about the server are in tests/node_servers/README.md. The tests assert what a queryset
should do; those today's page walker gets wrong are strict xfails (issue 8).
"""

from __future__ import annotations

from typing import Any

import pytest

from django_api_orm import exceptions
from django_api_orm.testing import assert_num_requests, capture_requests
from tests.realservers.models import FeathersBook
from tests.realservers.servers import SEED_BOOKS, Z_IDS, FeathersServer

pytestmark = pytest.mark.usefixtures("feathers")

PLAIN, PAGED = "feathers", "feathers-paged"

ALL_IDS = [book["id"] for book in SEED_BOOKS]
Z = sorted(Z_IDS)
BY_ID = {"$sort[id]": "1"}  # the default order is by id already; this says it anyway

# Each test runs on both aliases: the server's page size (learnt), and PAGE_SIZE=10 (set).
both_aliases = pytest.mark.parametrize("alias", [PLAIN, PAGED])


def books(alias: str = PLAIN) -> Any:
    return FeathersBook.objects.using(alias)


def ids(rows: list[FeathersBook]) -> list[int | None]:
    return [row.pk for row in rows]


def server_books(server: FeathersServer) -> list[dict[str, Any]]:
    page = server.get_json("/books", **{"$limit": "50"})  # the max page: every row
    assert page["total"] == len(page["data"])
    rows: list[dict[str, Any]] = page["data"]
    return rows


# -- what the settings rely on (README.md), straight from the server ----------------------------


def test_server_facts(feathers: FeathersServer) -> None:
    page = feathers.get_json("/books")
    assert (list(page), page["total"], page["limit"], len(page["data"])) == (
        ["total", "limit", "skip", "data"],
        25,
        10,
        10,
    )
    assert feathers.get_json("/books", **{"$limit": "100"})["limit"] == 50  # capped
    assert feathers.get_json("/books", **{"$skip": "30"})["data"] == []
    assert feathers.get_json("/books", **{"$limit": "0"}) == {
        "total": 25,
        "limit": 0,
        "skip": 0,
        "data": [],
    }
    missing = feathers.request("GET", "/books/99")
    assert (missing.status_code, missing.json()) == (
        404,
        {
            "name": "NotFound",
            "message": "No record found for id '99'",
            "code": 404,
            "className": "not-found",
        },
    )
    for params in ({"$sort": "id"}, {"ordering": "id"}, {"id[$in]": "7"}):
        refused = feathers.request("GET", "/books", params=params)
        assert (refused.status_code, refused.json()["message"]) == (400, "validation failed")


# -- reading every row --------------------------------------------------------------------------


@both_aliases
def test_list_all(alias: str) -> None:
    with capture_requests(alias) as captured:
        rows = list(books(alias).all())
    assert ids(rows) == ALL_IDS
    if alias == PAGED:
        assert len(captured.requests) == 3  # $skip=0, 10, 20 with $limit=10


@both_aliases
def test_iterator(alias: str) -> None:
    assert ids(list(books(alias).all().iterator())) == ALL_IDS


@both_aliases
async def test_aall(alias: str) -> None:
    with capture_requests(alias) as captured:
        rows = await books(alias).all().aall()
    assert ids(rows) == ALL_IDS
    if alias == PAGED:
        assert len(captured.requests) == 3


@both_aliases
async def test_async_for(alias: str) -> None:
    assert [book.pk async for book in books(alias).all()] == ALL_IDS


@both_aliases
async def test_aiterator(alias: str) -> None:
    assert [book.pk async for book in books(alias).all().aiterator()] == ALL_IDS


# -- slices -------------------------------------------------------------------------------------

SLICES = [
    pytest.param(PLAIN, 5, 23, id="plain-5:23"),  # ?$skip=5&$limit=18
    pytest.param(PLAIN, 8, 12, id="plain-8:12"),
    pytest.param(PLAIN, 30, 40, id="plain-30:40"),  # {"total": 25, ..., "data": []}
    # With PAGE_SIZE=10 the slice is $skip=5&$limit=10, then nothing: no next link.
    pytest.param(PAGED, 5, 23, id="paged-5:23"),
    pytest.param(PAGED, 8, 12, id="paged-8:12"),
    pytest.param(PAGED, 30, 40, id="paged-30:40"),
]


@pytest.mark.parametrize(("alias", "low", "high"), SLICES)
def test_slice(alias: str, low: int, high: int) -> None:
    with capture_requests(alias) as captured:
        rows = list(books(alias).params(**BY_ID)[low:high])
    assert ids(rows) == ALL_IDS[low:high]
    # PLAIN: $limit is the slice's length; PAGED: pages of 10 from $skip=low.
    wanted = max(0, min(high, 25) - low)
    assert len(captured.requests) == (1 if alias == PLAIN else max(1, -(-wanted // 10)))


@pytest.mark.parametrize(("alias", "low", "high"), SLICES)
async def test_slice_async(alias: str, low: int, high: int) -> None:
    rows = await books(alias).params(**BY_ID)[low:high].aall()
    assert ids(rows) == ALL_IDS[low:high]


def test_order_by() -> None:
    assert ids(list(books().order_by("-id")[5:23])) == ALL_IDS[::-1][5:23]


# -- count, get, create, errors -----------------------------------------------------------------


def test_count() -> None:
    with assert_num_requests(2, service=PLAIN):
        assert books().count() == 25  # ?$skip=0&$limit=1, reads "total"
        assert books().filter(author="Z").count() == 15


async def test_acount() -> None:
    with assert_num_requests(2, service=PLAIN):
        assert await books().acount() == 25
        assert await books().filter(author="Z").acount() == 15


def test_get() -> None:
    with assert_num_requests(1, service=PLAIN):
        book = books().get(pk=7)  # GET /books/7
    assert (book.pk, book.title, book.author, book.year) == (7, "Book 07", "A", 1997)
    with pytest.raises(FeathersBook.DoesNotExist):
        books().get(pk=99)  # 404 {"name": "NotFound", "message": "No record found for id '99'"}


async def test_aget() -> None:
    with assert_num_requests(1, service=PLAIN):
        book = await books().aget(pk=7)
    assert book.title == "Book 07"
    with pytest.raises(FeathersBook.DoesNotExist):
        await books().aget(pk=99)


def test_create(feathers: FeathersServer) -> None:
    with assert_num_requests(1, service=PLAIN):
        book = books().create(title="New", author="A", year=2020, price=9.5)
    assert book.pk == 26
    assert feathers.get_json("/books/26")["title"] == "New"
    assert books().count() == 26


async def test_acreate(feathers: FeathersServer) -> None:
    book = await books().acreate(title="New", author="A", year=2020, price=9.5)
    assert feathers.get_json(f"/books/{book.pk}")["year"] == 2020


def test_filter_lookups() -> None:
    recent_z = books().filter(year__gte=2010, author="Z")  # author=Z&year[$gte]=2010
    assert ids(list(recent_z)) == [21, 23, 24]
    assert ids(list(books().filter(id__in=[3, 5, 7]))) == [3, 5, 7]  # id[$in][]=3&id[$in][]=5...
    assert ids(list(books().filter(id__in=[7]))) == [7]
    assert books().filter(year__lt=1993).count() == 2


def test_errors() -> None:
    # An unknown query parameter: 400 {"name": "BadRequest", "message": "validation failed",
    # "code": 400, "className": "bad-request", "data": [{ajv error}, ...]}
    with pytest.raises(exceptions.ValidationError) as error:
        list(books().params(ordering="id"))
    assert (error.value.status_code, error.value.detail) == (400, "validation failed")

    # A generated service has no `update` method: PUT is 405, so save() PATCHes what changed
    # (the default; SAVE_METHOD="PUT" would be refused).
    book = books().get(pk=7)
    book.year = 1
    book.save()  # PATCH /books/7 {"year": 1}
    assert books().get(pk=7).year == 1


def test_validation_error_fields() -> None:
    with pytest.raises(exceptions.ValidationError) as error:
        list(books().params(ordering="id"))
    assert not {"name", "className", "code"} & set(error.value.field_errors)
    assert error.value.field_errors  # the Ajv errors of "data"


# -- writes on every matching row -----------------------------------------------------------------


def _assert_z_deleted(server: FeathersServer) -> None:
    rows = server_books(server)
    assert sorted(row["id"] for row in rows if row["author"] == "A") == sorted(
        set(ALL_IDS) - set(Z)
    )
    assert [row for row in rows if row["author"] == "Z"] == []


def _assert_z_updated(server: FeathersServer) -> None:
    rows = server_books(server)
    assert sorted(row["id"] for row in rows if row["year"] == 1900) == Z
    assert all(row["year"] == 1990 + row["id"] for row in rows if row["author"] == "A")


@both_aliases
def test_delete(alias: str, feathers: FeathersServer) -> None:
    label = FeathersBook._meta.label
    with capture_requests(alias) as captured:
        assert books(alias).filter(author="Z").delete() == (15, {label: 15})
    _assert_z_deleted(feathers)
    if alias == PAGED:
        assert len({r.url for r in captured.requests if r.method == "DELETE"}) == 15
        # Two pages of Z rows, then one DELETE each (a send retried on a connection the
        # restarted server dropped counts as one).
        assert len({r.url for r in captured.requests if r.method == "GET"}) == 2
        assert len({r.url for r in captured.requests}) == 2 + 15


@both_aliases
async def test_adelete(alias: str, feathers: FeathersServer) -> None:
    label = FeathersBook._meta.label
    assert await books(alias).filter(author="Z").adelete() == (15, {label: 15})
    _assert_z_deleted(feathers)


@both_aliases
def test_update(alias: str, feathers: FeathersServer) -> None:
    with capture_requests(alias) as captured:
        assert books(alias).filter(author="Z").update(year=1900) == 15
    _assert_z_updated(feathers)
    if alias == PAGED:
        assert len({r.url for r in captured.requests if r.method == "PATCH"}) == 15
        assert len({r.url for r in captured.requests if r.method == "GET"}) == 2
        assert len({r.url for r in captured.requests}) == 2 + 15


@both_aliases
async def test_aupdate(alias: str, feathers: FeathersServer) -> None:
    assert await books(alias).filter(author="Z").aupdate(year=1900) == 15
    _assert_z_updated(feathers)


def test_reading_every_row_costs_three_requests() -> None:
    import time

    started = time.perf_counter()
    with capture_requests(PLAIN) as captured:
        assert len(list(books().all())) == 25
    took = time.perf_counter() - started
    # (a send retried on a connection a restarted server dropped is one request)
    assert (
        len({r.url for r in captured.requests if r.method == "GET"}) == 3
    )  # skip 0, then 10 and 20
    print(f"FIGURE feathers: 25 rows in 3 requests, {took * 1000:.1f} ms")
