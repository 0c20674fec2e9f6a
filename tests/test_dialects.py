"""Dialects and pagination against real servers of each built-in style.

The upstream serves the same 25 books as DRF PageNumber (``books/``), LimitOffset
(``lo-books/``), Cursor (``cursor-books/``), a bare list (``plain-books/``) and a bare list
paginated by ``Link`` + ``X-Total-Count`` headers (``header-books/``).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.test import override_settings

from django_api_orm import APIModel, exceptions
from django_api_orm._core.dialect import (
    Dialect,
    DRFDialect,
    LinkHeaderDialect,
    Page,
    QueryContext,
    parse_link_header,
)
from django_api_orm._core.query import Condition, FieldSpec, RemoteQuery
from django_api_orm.queryset import where_of
from tests.conftest import service_settings
from tests.models import Book, BookSchema
from tests.upstream_fixture import Upstream


class LOBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "lo-books/"
    _service = "lo"


class CursorBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "cursor-books/"
    _service = "cursor"


class HeaderBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "header-books/"
    _service = "header"


class PagedBook(APIModel):
    """PageNumber with the page size known in settings."""

    _schema_class = BookSchema
    _endpoint = "books/"
    _service = "paged"


class GuardedBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "books/"
    _filterable_fields = ("year",)
    _orderable_fields = ("year",)


def gets(upstream: Upstream, prefix: str = "/api/") -> list[dict[str, str]]:
    """The query parameters of each logged GET under ``prefix``."""
    return [
        dict(parse_qsl(r["query"]))
        for r in upstream.requests()
        if r["method"] == "GET" and r["path"].startswith(prefix)
    ]


ALL_IDS = list(range(1, 26))


# -- every style lists, slices and counts the same rows -----------------------------------


@pytest.mark.parametrize("model", [Book, LOBook, CursorBook, HeaderBook, PagedBook])
def test_full_listing_walks_every_page(model: type[APIModel], upstream: Upstream) -> None:
    assert [b.pk for b in model.objects.all()] == ALL_IDS


@pytest.mark.parametrize("model", [Book, LOBook, CursorBook, HeaderBook, PagedBook])
def test_slices_agree_across_styles(model: type[APIModel], upstream: Upstream) -> None:
    assert [b.pk for b in model.objects.all()[7:19]] == ALL_IDS[7:19]
    assert model.objects.all()[13].pk == 14
    assert [b.pk for b in model.objects.filter(year__gte=2000)[2:4]] == [22, 23]


@pytest.mark.parametrize("model", [Book, LOBook, CursorBook, HeaderBook, PagedBook])
def test_count_and_exists(model: type[APIModel], upstream: Upstream) -> None:
    assert model.objects.filter(in_stock=True).count() == 12
    assert model.objects.filter(year__gt=3000).exists() is False


@pytest.mark.parametrize("model", [Book, LOBook, HeaderBook])
def test_count_is_one_small_request(model: type[APIModel], upstream: Upstream) -> None:
    upstream.clear_requests()
    assert model.objects.count() == 25
    assert len(upstream.requests()) == 1


def test_limit_offset_slice_maps_exactly(upstream: Upstream) -> None:
    upstream.clear_requests()
    assert [b.pk for b in LOBook.objects.all()[5:12]] == ALL_IDS[5:12]
    assert gets(upstream) == [{"offset": "5", "limit": "7"}]


def test_known_page_size_fetches_only_the_pages_of_the_slice(upstream: Upstream) -> None:
    upstream.clear_requests()
    # Page size 10: rows 12..23 live on pages 2 and 3 only.
    assert [b.pk for b in PagedBook.objects.all()[12:23]] == ALL_IDS[12:23]
    assert sorted(q["page"] for q in gets(upstream)) == ["2", "3"]


def test_cursor_pagination_follows_next_links(upstream: Upstream) -> None:
    upstream.clear_requests()
    assert len(list(CursorBook.objects.iterator(chunk_size=10))) == 25
    queries = gets(upstream)
    assert len(queries) == 3
    assert "cursor" not in queries[0] and all("cursor" in q for q in queries[1:])


def test_header_pagination_reads_link_and_total(upstream: Upstream) -> None:
    upstream.clear_requests()
    rows = list(HeaderBook.objects.iterator(chunk_size=10))
    assert [b.pk for b in rows] == ALL_IDS
    assert [q["page"] for q in gets(upstream)] == ["1", "2", "3"]
    assert all(q["per_page"] == "10" for q in gets(upstream))


def test_known_total_pages_are_planned_not_followed(upstream: Upstream) -> None:
    upstream.clear_requests()
    assert len(Book.objects.all()) == 25  # page 1 says count=25: pages 2 and 3 are planned
    assert sorted(q.get("page") for q in gets(upstream)) == ["1", "2", "3"]


# -- async: concurrent pages and read-ahead ---------------------------------------------


async def test_async_pages_of_a_known_total_are_fetched_concurrently(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/books/", delay=0.3, times=3)
    started = asyncio.get_running_loop().time()
    rows = [b async for b in Book.objects.all()]
    elapsed = asyncio.get_running_loop().time() - started
    assert [b.pk for b in rows] == ALL_IDS
    # Page 1 first (0.3 s), then pages 2 and 3 together (0.3 s): well under 3 x 0.3 s.
    assert elapsed < 0.8


async def test_aiterator_reads_ahead_while_the_caller_works(upstream: Upstream) -> None:
    upstream.fault(method="GET", path_prefix="/api/cursor-books/", delay=0.2, times=3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen = []
    async for book in CursorBook.objects.aiterator(chunk_size=10):
        seen.append(book.pk)
        if len(seen) % 10 == 1:
            await asyncio.sleep(0.2)  # the caller works on a page; the next one is on its way
    assert seen == ALL_IDS
    # Without read-ahead: 3 x 0.2 (requests) + 3 x 0.2 (work) = 1.2 s.
    assert loop.time() - started < 1.05


async def test_async_for_fills_the_cache(upstream: Upstream) -> None:
    qs = Book.objects.filter(in_stock=True)
    assert len([b async for b in qs]) == 12
    upstream.clear_requests()
    assert len([b async for b in qs]) == 12
    assert upstream.requests() == []


async def test_breaking_out_of_async_for_cancels_read_ahead(upstream: Upstream) -> None:
    async for book in Book.objects.aiterator(chunk_size=5):
        assert book.pk == 1
        break
    assert await Book.objects.acount() == 25


# -- lookups, exclusions, ordering ---------------------------------------------------------


@pytest.mark.parametrize(
    ("lookups", "expected"),
    [
        ({"year__range": (1990, 1992)}, [10, 11, 12]),
        ({"title__in": ["Book 01", "Book 03"]}, [1, 3]),
        ({"isbn__isnull": True, "year__lt": 1990}, [3, 6, 9]),
        ({"author__iexact": "ADA", "year__lte": 1995}, [5, 10, 15]),
        ({"title__endswith": "7"}, [7, 17]),
    ],
)
def test_lookups_on_every_style(lookups: dict[str, object], expected: list[int]) -> None:
    for model in (Book, LOBook, HeaderBook):
        assert [b.pk for b in model.objects.filter(**lookups)] == expected


def test_not_q_of_an_or_is_expressed_by_de_morgan(upstream: Upstream) -> None:
    rows = Book.objects.filter(~Q(year__lt=1984) & ~Q(year__gt=1986))
    assert [b.pk for b in rows] == [4, 5, 6]
    rows = Book.objects.exclude(Q(year__lt=1984) | Q(year__gt=1986))
    assert [b.pk for b in rows] == [4, 5, 6]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Book.objects.filter(Q(year=1990) | Q(year=1991)),
        lambda: Book.objects.exclude(year=1990, in_stock=True),
        lambda: Book.objects.exclude(title__icontains="x"),
        lambda: Book.objects.exclude(isbn__gte="a"),
        lambda: Book.objects.order_by("?"),
        lambda: Book.objects.filter(title__in=["a,b"]),
        lambda: GuardedBook.objects.filter(title="x"),
        lambda: GuardedBook.objects.order_by("title"),
    ],
)
def test_what_the_dialect_cannot_say_fails_before_any_request(
    build: object, upstream: Upstream
) -> None:
    upstream.clear_requests()
    with pytest.raises(exceptions.NotSupportedError) as raised:
        list(build())  # type: ignore[operator]
    assert upstream.requests() == []
    message = str(raised.value)
    assert "'default'" in message and "'drf' dialect" in message


def test_unsupported_lookup_names_service_model_lookup_and_dialect(upstream: Upstream) -> None:
    with (
        override_settings(
            API_ORM_SERVICES={"default": service_settings(upstream, LOOKUPS=["exact", "gte"])}
        ),
        pytest.raises(exceptions.NotSupportedError) as raised,
    ):
        Book.objects.filter(year__lt=2000).count()
    message = str(raised.value)
    for part in ("Book", "'default'", "year__lt", "'drf'"):
        assert part in message
    assert upstream.requests() == []


def test_explain_shows_the_request_without_sending_it(upstream: Upstream) -> None:
    upstream.clear_requests()
    text = LOBook.objects.filter(year__gte=2000).order_by("-year")[2:5].explain()
    assert text.endswith("/api/lo-books/?year__gte=2000&ordering=-year&offset=2&limit=3")
    assert upstream.requests() == []


# -- settings knobs, units -----------------------------------------------------------------

FIELDS = {
    "id": FieldSpec("id", nullable=True),
    "year": FieldSpec("year"),
    "title": FieldSpec("title"),
}
CTX = QueryContext(service="svc", model="Book", fields=FIELDS, pk="id")


def params(dialect: Dialect, *args: Q, ordering: tuple[str, ...] = (), **kwargs: object) -> list:
    query = RemoteQuery().add_where(where_of(args, kwargs, FIELDS, "id")).with_ordering(ordering)
    return dialect.query_params(query, CTX)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, [("year__gte", "1990"), ("year__in", "1,2"), ("ordering", "-year,title")]),
        (
            {"lookup_format": "{field}_{lookup}", "list_format": "repeat"},
            [("year_gte", "1990"), ("year_in", "1"), ("year_in", "2"), ("ordering", "-year,title")],
        ),
        (
            {"lookup_format": "{field}[{lookup}]", "ordering_param": "sort"},
            [("year[gte]", "1990"), ("year[in]", "1,2"), ("sort", "-year,title")],
        ),
        (
            {  # PostgREST: operator in the value, order=year.desc
                "lookup_format": "{field}",
                "value_format": "{lookup}.{value}",
                "lookup_names": {"gte": "gte", "in": "in"},
                "ordering_param": "order",
                "ordering_asc": "{field}.asc",
                "ordering_desc": "{field}.desc",
            },
            [("year", "gte.1990"), ("year", "in.1,2"), ("order", "year.desc,title.asc")],
        ),
    ],
)
def test_lookup_and_ordering_knobs(options: dict[str, object], expected: list) -> None:
    dialect = Dialect(**options)  # type: ignore[arg-type]
    got = params(dialect, ordering=("-year", "title"), year__gte=1990, year__in=[1, 2])
    assert got == expected


def test_page_params_per_pagination_style() -> None:
    assert Dialect().page_params(2, 25) == [("page", "3"), ("page_size", "25")]
    assert Dialect(first_page=0).page_params(2, None) == [("page", "2")]
    assert Dialect(pagination="offset").page_params(2, 25) == [("offset", "50"), ("limit", "25")]
    assert Dialect(pagination="cursor").page_params(0, 10) == [("page_size", "10")]
    assert Dialect(pagination="none").page_params(3, 10) == []


def test_envelope_keys_with_dots_and_relative_next() -> None:
    dialect = Dialect(items_key="data", total_key="meta.total", next_key="links.next")
    page = dialect.parse_page(
        {"data": [1, 2], "meta": {"total": 9}, "links": {"next": "?page=2"}},
        {},
        "https://api.example.com/books/?page=1",
    )
    assert page == Page(items=[1, 2], total=9, next_url="https://api.example.com/books/?page=2")


def test_link_header_parsing() -> None:
    value = '<https://x/?page=2>; rel="next", <https://x/?page=9>; rel="last"'
    assert parse_link_header(value) == {"next": "https://x/?page=2", "last": "https://x/?page=9"}
    page = LinkHeaderDialect().parse_page([1], {"link": value, "x-total-count": "90"}, "")
    assert page.total == 90 and page.next_url == "https://x/?page=2" and not page.complete
    assert DRFDialect().parse_page([1, 2], {}, "").complete


def test_unexpected_list_shape_is_a_typed_error(upstream: Upstream) -> None:
    with (
        override_settings(
            API_ORM_SERVICES={"default": service_settings(upstream, ITEMS_KEY="data")}
        ),
        pytest.raises(exceptions.ResponseError, match="'data' list"),
    ):
        list(Book.objects.all())


def test_negation_rules() -> None:
    dialect = Dialect()
    assert dialect.negate(Condition("year", "gte", 5), CTX) == Condition("year", "lt", 5)
    assert dialect.negate(Condition("id", "isnull", True), CTX) == Condition("id", "isnull", False)
    with pytest.raises(exceptions.NotSupportedError):
        dialect.negate(Condition("id", "gt", 5), CTX)  # nullable: null rows would vanish


# -- custom dialects by dotted path -----------------------------------------------------------


class ItemsDialect(Dialect):
    """The docs' example shape: ``{"items": [...], "total": n}`` and ``field_lookup`` keys."""

    name = "items"

    def __init__(self, **options: object) -> None:
        options.setdefault("items_key", "items")
        options.setdefault("total_key", "total")
        super().__init__(**options)  # type: ignore[arg-type]


def test_custom_dialect_by_dotted_path(upstream: Upstream) -> None:
    with (
        override_settings(
            API_ORM_SERVICES={
                "default": service_settings(upstream, DIALECT="tests.test_dialects.ItemsDialect")
            }
        ),
        pytest.raises(exceptions.ResponseError, match="'items' list"),
    ):
        Book.objects.count()  # the DRF upstream answers with "results", not "items"


@pytest.mark.parametrize(
    ("value", "message"),
    [("nope.Missing", "cannot import"), ("tests.models.BookSchema", "not a Dialect")],
)
def test_bad_dialect_path_is_a_configuration_error(value: str, message: str) -> None:
    with (
        override_settings(
            API_ORM_SERVICES={"default": {"BASE_URL": "http://127.0.0.1:9/", "DIALECT": value}}
        ),
        pytest.raises(ImproperlyConfigured, match=message),
    ):
        Book.objects.count()


def test_allow_lists_name_unknown_fields() -> None:
    with pytest.raises(ImproperlyConfigured, match="unknown fields"):

        class Broken(APIModel):
            _schema_class = BookSchema
            _endpoint = "books/"
            _filterable_fields = ("nope",)


def test_in_bulk_batches_keep_urls_short(upstream: Upstream) -> None:
    ids = list(range(1, 700))
    upstream.clear_requests()
    found = Book.objects.in_bulk(ids)
    assert sorted(found) == ALL_IDS
    requests = upstream.requests()
    assert len(requests) > 1
    assert all(len(r["raw_path"]) + len(r["query"]) < 2000 for r in requests)
