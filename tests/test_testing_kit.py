"""The test kit: FakeService answers like the real DRF upstream; fake_service, request counting
and the pytest fixtures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pydantic
import pytest
from django.db.models import Q
from django.test import override_settings

from django_api_orm import APIModel, exceptions
from django_api_orm._registry import services
from django_api_orm.queryset import QuerySet
from django_api_orm.testing import (
    FakeService,
    assert_num_requests,
    capture_requests,
    fake_service,
)
from tests.conftest import service_settings
from tests.models import Book, BookSchema, PrivateBook
from tests.upstream_fixture import CLIENT_OPTIONS, REPO_ROOT, Upstream


class LoBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "lo-books/"
    _service = "kit-offset"


class CursorBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "cursor-books/"
    _service = "kit-cursor"


class HeaderBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "header-books/"
    _service = "kit-links"


@pytest.fixture
def seed(upstream: Upstream) -> list[dict[str, Any]]:
    """The upstream's 25 rows exactly as it serves them (read without leaving a log entry)."""
    with httpx.Client(base_url=upstream.url, **CLIENT_OPTIONS) as client:
        rows: list[dict[str, Any]] = client.get("/api/plain-books/").json()
    upstream.clear_requests()
    return rows


@pytest.fixture
def styles(upstream: Upstream) -> Iterator[None]:
    """Extra aliases on the upstream: offset, cursor and Link-header pagination."""
    base = service_settings(upstream)
    with override_settings(
        API_ORM_SERVICES={
            "default": base,
            "kit-offset": {**base, "PAGINATION": "offset"},
            "kit-cursor": {**base, "PAGINATION": "cursor"},
            "kit-links": {**base, "DIALECT": "link-header"},
        }
    ):
        yield


Build = Callable[[type[APIModel]], QuerySet[Any]]


def run(build: Build, model: type[APIModel]) -> tuple[Any, list[str]]:
    """The rows of the queryset (or the error it raised) and the requests it took."""
    with capture_requests() as captured:
        try:
            result: Any = [obj.to_dict() for obj in build(model)]
        except exceptions.APIError as error:
            result = (type(error).__name__, getattr(error, "field_errors", None))
    # Cursor tokens are opaque: the fake's differ from DRF's, the pages they lead to do not.
    urls = [re.sub(r"cursor=[^&]*", "cursor=*", r.url) for r in captured.requests]
    return result, [
        f"{r.method} {url} {r.status_code}" for r, url in zip(captured.requests, urls, strict=True)
    ]


def compare(build: Build, model: type[APIModel], alias: str, seed: list[dict[str, Any]]) -> None:
    real = run(build, model)
    with fake_service(alias, data={model._meta.endpoint: seed}):
        fake = run(build, model)
    assert fake == real


# -- the fake answers exactly like the upstream --------------------------------------------------

PAGE_QUERIES: dict[str, Build] = {
    "all": lambda m: m.objects.all(),
    "gte": lambda m: m.objects.filter(year__gte=1990),
    "gt-lt": lambda m: m.objects.filter(year__gt=1990, year__lt=2000),
    "lte": lambda m: m.objects.filter(year__lte=1985),
    "range": lambda m: m.objects.filter(year__range=(1985, 1990)),
    "in": lambda m: m.objects.filter(id__in=[3, 5, 7, 30]),
    "exact-text": lambda m: m.objects.filter(author="Bob"),
    "iexact": lambda m: m.objects.filter(author__iexact="bOB"),
    "in-text": lambda m: m.objects.filter(author__in=["Ada", "Cy"]),
    "contains": lambda m: m.objects.filter(title__contains="Book 1"),
    "icontains": lambda m: m.objects.filter(title__icontains="BOOK 2"),
    "startswith": lambda m: m.objects.filter(title__startswith="Book 0"),
    "istartswith": lambda m: m.objects.filter(title__istartswith="book 2"),
    "endswith": lambda m: m.objects.filter(title__endswith="5"),
    "iendswith": lambda m: m.objects.filter(isbn__iendswith="-1"),
    "isnull": lambda m: m.objects.filter(isbn__isnull=True),
    "notnull": lambda m: m.objects.filter(isbn__isnull=False),
    "exact-none": lambda m: m.objects.filter(isbn=None),
    "bool": lambda m: m.objects.filter(in_stock=True),
    "exclude-bool": lambda m: m.objects.exclude(in_stock=True),
    "exclude-gte": lambda m: m.objects.exclude(year__gte=2000),
    "chained": lambda m: m.objects.filter(author="Ada").filter(Q(in_stock=False)),
    "order-desc": lambda m: m.objects.order_by("-year"),
    "order-two": lambda m: m.objects.order_by("author", "-id"),
    "order-nulls": lambda m: m.objects.order_by("isbn"),
    "order-nulls-desc": lambda m: m.objects.order_by("-isbn"),
    "order-filter-slice": lambda m: m.objects.filter(in_stock=True).order_by("-year")[2:7],
    "slice": lambda m: m.objects.all()[3:17],
    "slice-past-end": lambda m: m.objects.all()[20:40],
    "slice-far": lambda m: m.objects.all()[40:50],
    "head": lambda m: m.objects.order_by("-id")[:3],
    "empty": lambda m: m.objects.filter(year__gte=2030),
    "api-params": lambda m: m.objects.params(search="ignored").filter(year__lt=1984),
    "bad-number": lambda m: m.objects.params(year="abc"),
}


@pytest.mark.parametrize("name", PAGE_QUERIES)
def test_fake_matches_upstream_page_numbers(name: str, seed: list[dict[str, Any]]) -> None:
    compare(PAGE_QUERIES[name], Book, "default", seed)


STYLE_QUERIES = ["all", "gte", "in", "isnull", "exclude-bool", "slice", "slice-past-end", "head"]


@pytest.mark.parametrize("name", STYLE_QUERIES)
@pytest.mark.parametrize(
    ("model", "alias"),
    [(LoBook, "kit-offset"), (CursorBook, "kit-cursor"), (HeaderBook, "kit-links")],
    ids=["offset", "cursor", "link-header"],
)
@pytest.mark.usefixtures("styles")
def test_fake_matches_upstream_other_paginations(
    name: str, model: type[APIModel], alias: str, seed: list[dict[str, Any]]
) -> None:
    compare(PAGE_QUERIES[name], model, alias, seed)


SCALARS: dict[str, Callable[[], Any]] = {
    "count": lambda: Book.objects.filter(year__gte=1995).count(),
    "exists": lambda: Book.objects.filter(author="Nobody").exists(),
    "first": lambda: Book.objects.filter(in_stock=False).first(),
    "last": lambda: Book.objects.last(),
    "get": lambda: Book.objects.get(title="Book 03"),
    "get-pk": lambda: Book.objects.get(pk=7),
    "get-missing": lambda: Book.objects.get(pk=99),
    "get-many": lambda: Book.objects.get(author="Ada"),
    "values-list": lambda: list(Book.objects.values_list("id", flat=True)[5:9]),
    "values": lambda: list(Book.objects.filter(author="Cy").values("title", "isbn")),
    "in-bulk": lambda: Book.objects.in_bulk([1, 2, 99]),
}


@pytest.mark.parametrize("name", SCALARS)
def test_fake_matches_upstream_for_single_results(name: str, seed: list[dict[str, Any]]) -> None:
    def outcome() -> tuple[Any, int]:
        with capture_requests() as captured:
            try:
                value = SCALARS[name]()
            except exceptions.APIError as error:
                value = type(error).__name__
        return repr(value), len(captured.requests)

    real = outcome()
    with fake_service(data={"books/": seed}):
        assert outcome() == real


async def test_fake_matches_upstream_async(seed: list[dict[str, Any]]) -> None:
    async def outcome() -> tuple[Any, ...]:
        queryset = Book.objects.filter(year__gte=1987).order_by("-year")
        return (
            [b.pk async for b in queryset],
            await queryset.acount(),
            [b.pk for b in await queryset.all()[3:12].aall()],
            (await Book.objects.aget(pk=4)).title,
        )

    real = await outcome()
    with fake_service(data={"books/": seed}):
        assert await outcome() == real


# -- CRUD on the fake -----------------------------------------------------------------------------


class LooseBook(APIModel):
    """A client-side schema laxer than the server's (the first model defined on books/)."""

    class Schema(pydantic.BaseModel):
        id: int | None = None
        title: str
        year: int | None = None

    _schema_class = Schema
    _endpoint = "books/"


ROWS = [
    {"id": 1, "title": "Dune", "year": 1965, "author": "Herbert"},
    {"id": 2, "title": "Emma", "year": 1815, "author": "Austen", "isbn": None},
]


def test_crud_round_trip() -> None:
    with fake_service(data={"books/": ROWS}) as fake:
        book = Book.objects.create(title="Ubik", year=1969)
        assert book.pk == 3 and book.in_stock is True  # schema defaults filled in
        book.year = 1970
        book.save()
        assert Book.objects.get(pk=3).year == 1970
        book.title = "Ubik!"
        book.save(update_fields=["title"])
        assert [r.method for r in fake.requests[-2:]] == ["GET", "PATCH"]
        assert fake.requests[-1].json == {"title": "Ubik!"}
        assert fake.rows("books/")[-1]["title"] == "Ubik!"
        assert Book.objects.filter(pk=3).update(in_stock=False) == 1
        assert book.delete() == (1, {"tests.Book": 1})
        assert book.pk is None
        assert Book.objects.count() == 2
        assert [row["id"] for row in fake.rows(Book)] == [1, 2]
        assert Book.objects.create(title="Next", year=2000).pk == 4  # ids are never reused


async def test_crud_async() -> None:
    with fake_service(data={"books/": ROWS}):
        book = await Book.objects.acreate(title="Ubik", year=1969)
        book.year = 1970
        await book.asave()
        assert (await Book.objects.aget(pk=book.pk)).year == 1970
        created = await Book.objects.abulk_create([{"title": f"T{i}", "year": i} for i in range(3)])
        assert sorted(b.pk for b in created) == [4, 5, 6]
        assert await Book.objects.filter(year__lt=10).adelete() == (3, {"tests.Book": 3})
        await book.adelete()
        assert await Book.objects.acount() == 2


def test_errors_have_drf_shapes() -> None:
    with fake_service(data={"books/": ROWS}) as fake:
        with pytest.raises(Book.DoesNotExist):
            Book.objects.get(pk=42)
        with pytest.raises(exceptions.ValidationError) as invalid:
            LooseBook.objects.create(title="No year")  # the server's schema requires a year
        assert invalid.value.status_code == 400
        assert invalid.value.field_errors == {"year": ["Input should be a valid integer"]}
        stale = Book.objects.get(pk=1)
        Book.objects.filter(pk=1).delete()
        with pytest.raises(exceptions.NotFound) as missing:
            stale.save()
        assert missing.value.detail == "Not found."
        with pytest.raises(exceptions.ValidationError) as taken:
            Book(id=2, title="Same pk", year=1).save()  # a new object with a preset pk: POST
        assert taken.value.field_errors == {"id": ["An object with this id exists."]}
        status, _, body = fake.handle("POST", f"{_base()}books/", {}, b"[1]")
        assert (status, json.loads(body)) == (
            400,
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        )
        status, _, body = fake.handle("GET", f"{_base()}books/?page=9", {}, b"")
        assert (status, json.loads(body)) == (404, {"detail": "Invalid page."})
        assert fake.handle("GET", f"{_base()}nowhere/", {}, b"")[0] == 404
        assert fake.handle("PUT", f"{_base()}books/", {}, b"{}")[0] == 405


def test_schema_validation_reports_field_errors() -> None:
    with fake_service() as fake:
        status, _, body = fake.handle("POST", f"{_base()}books/", {}, b'{"title": "x"}')
    assert (status, json.loads(body)) == (400, {"year": ["This field is required."]})


def test_validation_can_be_turned_off() -> None:
    with fake_service(validate=False) as fake:
        status, _, body = fake.handle("POST", f"{_base()}books/", {}, b'{"title": "x"}')
    assert (status, json.loads(body)) == (201, {"title": "x", "id": 1})


def test_post_with_idempotency_key_is_replayed() -> None:
    with fake_service() as fake:
        headers = {"Idempotency-Key": "k1"}
        first = fake.handle("POST", f"{_base()}books/", headers, b'{"title": "a", "year": 1}')
        again = fake.handle("POST", f"{_base()}books/", headers, b'{"title": "a", "year": 1}')
        assert first[0] == again[0] == 201 and first[2] == again[2]
        assert again[1]["idempotent-replayed"] == "true"
        assert len(fake.rows("books/")) == 1


def test_queued_responses_simulate_failures() -> None:
    with fake_service(data={"books/": ROWS}) as fake:
        fake.queue_response(503, {"detail": "down"}, endpoint="books/", times=4)
        with assert_num_requests(4), pytest.raises(exceptions.ServerError) as error:
            Book.objects.count()  # the first attempt and three retries
        assert error.value.detail == "down"
        fake.queue_response(429, "slow down", method="GET", headers={"Retry-After": "0"})
        with assert_num_requests(2):
            assert Book.objects.count() == 2  # retried after the 429


def test_rows_accept_model_instances_and_model_keys() -> None:
    fake = FakeService({Book: [Book(title="A", year=1), {"title": "B", "year": 2, "id": 10}]})
    assert [(r["id"], r["title"]) for r in fake.rows("books/")] == [(1, "A"), (10, "B")]
    assert fake.add("/books", {"title": "C", "year": 3})[0]["id"] == 11
    fake.clear("books/")
    assert fake.rows(Book) == []
    assert "books/: 0" in repr(fake)


def test_fake_answers_every_model_of_its_alias_from_the_start() -> None:
    with fake_service() as fake:
        assert Book.objects.count() == 0
        Book.objects.create(title="First", year=1)
        assert fake.rows("books/")[0]["title"] == "First"


class Event(APIModel):
    class Schema(pydantic.BaseModel):
        slug: str
        starts: str
        seats: float | None = None

    _schema_class = Schema
    _endpoint = "kit-events/"
    _pk_field = "slug"


EVENTS = [
    {"slug": "a", "starts": "2024-05-01T10:00:00Z", "seats": 10.5},
    {"slug": "b", "starts": "2024-05-02T10:00:00+00:00", "seats": None},
    {"slug": "c/d", "starts": "2024-04-30T23:00:00-02:00", "seats": 3},
]


def test_dates_floats_and_string_primary_keys() -> None:
    with fake_service(data={Event: EVENTS}):
        assert Event.objects.get(pk="c/d").seats == 3
        # Compared as moments, not as text: 23:00 at -02:00 is after midnight UTC.
        after = Event.objects.filter(starts__gte="2024-05-01T02:00:00+02:00")
        assert [e.slug for e in after] == ["a", "b", "c/d"]
        assert [e.slug for e in Event.objects.filter(seats__gte=3.5)] == ["a"]
        assert [e.slug for e in Event.objects.order_by("-seats")] == ["a", "c/d", "b"]
        assert [e.slug for e in Event.objects.filter(slug__in=["a", "b"])] == ["a", "b"]


# -- installing and restoring --------------------------------------------------------------------


def _base() -> str:
    return services["default"].settings.BASE_URL


def test_real_service_is_back_after_the_block(upstream: Upstream) -> None:
    with fake_service(data={"books/": ROWS}):
        assert Book.objects.count() == 2
    assert upstream.requests() == []
    assert Book.objects.count() == 25
    assert len(upstream.requests()) == 1


def test_nested_fakes_of_one_alias(upstream: Upstream) -> None:
    with fake_service(data={"books/": ROWS}):
        with fake_service(data={"books/": ROWS[:1]}):
            assert Book.objects.count() == 1
        assert Book.objects.count() == 2
    assert Book.objects.count() == 25


def test_fake_survives_override_settings(upstream: Upstream) -> None:
    elsewhere = {"default": {"BASE_URL": "http://127.0.0.1:9/v2/", "MAX_RETRIES": 0}}
    with fake_service(data={"books/": ROWS}) as fake:
        with override_settings(API_ORM_SERVICES=elsewhere):
            assert Book.objects.count() == 2  # the new service is faked too
            assert Book.objects.create(title="X", year=1).pk == 3
        assert Book.objects.count() == 3
        assert fake.requests[0].path == "books/"
    assert Book.objects.count() == 25
    with override_settings(API_ORM_SERVICES=elsewhere):
        with fake_service(data={"books/": ROWS}):
            assert Book.objects.count() == 2
        with pytest.raises(exceptions.APIConnectionError):
            Book.objects.count()  # the network again, under the override
    assert [r["method"] for r in upstream.requests()] == ["GET"]


def test_fake_of_an_unconfigured_alias_explains() -> None:
    with pytest.raises(Exception, match="Add it to API_ORM_SERVICES"):
        FakeService(alias="nowhere").install()


@fake_service(data={"books/": ROWS})
def test_decorator_on_a_sync_test() -> None:
    assert Book.objects.count() == 2
    Book.objects.create(title="Kept?", year=1)


@fake_service(data={"books/": ROWS})
async def test_decorator_on_an_async_test() -> None:
    assert await Book.objects.acount() == 2  # a fresh fake each call: the create above is gone


def test_explicit_service_install(upstream: Upstream) -> None:
    fake = FakeService({"private/books/": ROWS}, alias="private").install(services["private"])
    try:
        assert PrivateBook.objects.using("private").count() == 2
        assert fake.requests[0].headers["authorization"] == "Bearer test-token"
    finally:
        fake.uninstall()
    assert upstream.requests() == []
    assert PrivateBook.objects.using("private").count() == 25


# -- counting requests ---------------------------------------------------------------------------


def test_assert_num_requests_passes(upstream: Upstream) -> None:
    with assert_num_requests(2) as counted:
        list(Book.objects.all()[:10])
        Book.objects.count()
    assert [r.status_code for r in counted.requests] == [200, 200]
    with assert_num_requests(0):
        Book.objects.filter(year=1)  # lazy


def test_assert_num_requests_fails_listing_the_requests(upstream: Upstream) -> None:
    with pytest.raises(AssertionError) as failure, assert_num_requests(1):
        Book.objects.count()
        Book.objects.get(pk=2)
    message = str(failure.value)
    assert message.startswith("2 != 1 : 2 API requests made, 1 expected\n")
    assert "Captured requests were:\n1. [default] GET http://" in message
    assert "/api/books/2/ -> 200" in message


def test_assert_num_requests_per_service_and_never_the_token(upstream: Upstream) -> None:
    with pytest.raises(AssertionError) as failure, assert_num_requests(0, service="private"):
        Book.objects.count()
        PrivateBook.objects.using("private").params(token="s3cret").count()
    message = str(failure.value)
    assert "1 != 0 : 1 API requests to 'private' made" in message
    assert "test-token" not in message and "s3cret" not in message


def test_assert_num_requests_names_errors() -> None:
    dead = {"default": {"BASE_URL": "http://127.0.0.1:9/api/", "MAX_RETRIES": 0}}
    with (
        override_settings(API_ORM_SERVICES=dead),
        pytest.raises(AssertionError) as failure,
        assert_num_requests(0),
        pytest.raises(exceptions.APIConnectionError),
    ):
        Book.objects.count()
    assert "-> APIConnectionError" in str(failure.value)


async def test_assert_num_requests_in_async_code(upstream: Upstream) -> None:
    with assert_num_requests(4):
        await Book.objects.acount()  # one small request
        assert len([b async for b in Book.objects.all()]) == 25  # three pages of ten


# -- the pytest plugin ---------------------------------------------------------------------------


def test_api_fake_fixture(
    api_fake: FakeService, api_num_requests: type[assert_num_requests]
) -> None:
    api_fake.add("books/", *ROWS)
    with api_num_requests(1):
        assert [b.title for b in Book.objects.order_by("-year")] == ["Dune", "Emma"]


def test_api_fake_is_function_scoped(api_fake: FakeService) -> None:
    assert api_fake.rows("books/") == []


def test_plugin_import_does_not_configure_django() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = (
        "import django_api_orm.testing.pytest_plugin as p\n"
        "from django.conf import settings\n"
        "assert not settings.configured\n"
        "assert callable(p.api_fake) and callable(p.api_num_requests)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, env=env)


@pytest.mark.parametrize(
    "knobs",
    [
        {"LOOKUP_FORMAT": "{field}[{lookup}]", "LOOKUP_NAMES": {"gte": "min", "in": "any"}},
        {"LIST_FORMAT": "repeat", "ORDERING_PARAM": "sort", "PAGE_PARAM": "p", "FIRST_PAGE": 0},
        {"ITEMS_KEY": "data.items", "TOTAL_KEY": "meta.total", "NEXT_KEY": "links.next"},
        {"PAGINATION": "none"},
        {"PAGE_SIZE": 3, "PAGE_SIZE_PARAM": None},
    ],
    ids=["lookup-format", "repeat-lists", "nested-envelope", "unpaginated", "fixed-page-size"],
)
def test_fake_speaks_the_services_dialect(knobs: dict[str, Any]) -> None:
    raw = {"BASE_URL": "http://api.invalid/", "MAX_RETRIES": 0, **knobs}
    with override_settings(API_ORM_SERVICES={"default": raw}), fake_service() as fake:
        fake.add("books/", *[{"title": f"T{i}", "year": 1990 + i} for i in range(12)])
        recent = Book.objects.filter(year__gte=1995, id__in=[1, 7, 8, 12]).order_by("-year")
        assert [b.pk for b in recent] == [12, 8, 7]
        assert Book.objects.count() == 12
        assert [b.pk for b in Book.objects.all()[4:9]] == [5, 6, 7, 8, 9]
