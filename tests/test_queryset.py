"""The sync queryset API against the live DRF upstream: what it returns and what it sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import pytest
from django.core.exceptions import (
    FieldError,
    ImproperlyConfigured,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
)
from django.db.models import Q

from django_api_orm import Manager, QuerySet, exceptions
from django_api_orm._registry import services
from tests.models import Book, PlainBook, PrivateBook
from tests.upstream_fixture import Upstream

# -- the upstream's seed data, mirrored so expectations are computed, not typed -------------

AUTHORS = ["Ada", "Bob", "Cy", "Dee", "Eve"]


def seed_row(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "title": f"Book {i:02d}",
        "year": 1980 + i,
        "in_stock": i % 2 == 0,
        "author": AUTHORS[i % 5],
        "isbn": None if i % 3 == 0 else f"isbn-{i}",
    }


SEED = [seed_row(i) for i in range(1, 26)]


def seed_ids(pred: Callable[[dict[str, Any]], bool]) -> list[int]:
    return [row["id"] for row in SEED if pred(row)]


# -- helpers -------------------------------------------------------------------------------


def ids(objs: Any) -> list[int]:
    return [obj.id for obj in objs]


def sent(upstream: Upstream) -> list[tuple[str, str, str]]:
    """(method, path, raw query) of every request the upstream received since the reset."""
    return [(r["method"], r["path"], r["query"]) for r in upstream.requests()]


def queries(upstream: Upstream) -> list[str]:
    return [r["query"] for r in upstream.requests()]


def page_numbers(upstream: Upstream) -> list[int]:
    return [int(parse_qs(q)["page"][0]) for q in queries(upstream)]


def page_sizes(upstream: Upstream) -> list[int]:
    """The page_size of every request (each one must ask for a size)."""
    return [int(parse_qs(q)["page_size"][0]) for q in queries(upstream)]


def server_count(upstream: Upstream, **filters: Any) -> int:
    """Ask the server itself (and then forget the request) how many books match."""
    count = Book.objects.filter(**filters).count()
    upstream.clear_requests()
    return count


def server_row(upstream: Upstream, pk: int) -> dict[str, Any]:
    row = Book.objects.get(pk=pk).to_dict()
    upstream.clear_requests()
    return row


# -- laziness, chaining, caching -----------------------------------------------------------


def test_building_a_queryset_sends_nothing(upstream: Upstream) -> None:
    qs = Book.objects.filter(year__gte=1990).exclude(in_stock=True).order_by("-year")
    qs = qs.params(x="1").using("default")[1:4]
    values = Book.objects.all().values("id", "title").values_list("id", flat=True)
    assert isinstance(qs, QuerySet)
    assert "not evaluated" in repr(qs)
    assert "not evaluated" in repr(values)
    assert upstream.requests() == []
    assert ids(qs) == [23, 21, 19]
    assert 1 <= len(upstream.requests()) <= 2


def test_filter_returns_new_queryset_and_leaves_original_alone(upstream: Upstream) -> None:
    base = Book.objects.filter(year__gte=2000)
    narrowed = base.filter(in_stock=True)
    ordered = base.order_by("-id")
    assert narrowed is not base
    assert base.filter() is not base
    assert base.all() is not base
    assert ids(base) == seed_ids(lambda r: r["year"] >= 2000)
    assert ids(narrowed) == seed_ids(lambda r: r["year"] >= 2000 and r["in_stock"])
    assert ids(ordered) == sorted(seed_ids(lambda r: r["year"] >= 2000), reverse=True)


def test_one_fetch_is_shared_by_len_bool_iter_list_and_index(upstream: Upstream) -> None:
    qs = Book.objects.filter(year__gte=2000)
    assert len(qs) == 6
    assert bool(qs) is True
    assert ids(qs) == [20, 21, 22, 23, 24, 25]
    assert [b.id for b in qs] == [20, 21, 22, 23, 24, 25]
    assert qs[2].id == 22
    assert ids(qs[1:3]) == [21, 22]
    assert qs.count() == 6
    assert qs.exists() is True
    assert "Book: pk=20" in repr(qs)
    assert len(upstream.requests()) == 1


def test_full_evaluation_walks_every_page_once(upstream: Upstream) -> None:
    assert ids(Book.objects.all()) == list(range(1, 26))
    assert queries(upstream)[0] == "page=1"
    assert sorted(page_numbers(upstream)) == [1, 2, 3]


def test_chained_querysets_do_not_share_a_cache(upstream: Upstream) -> None:
    qs = Book.objects.filter(author="Ada")
    assert len(qs) == 5
    Book.objects.create(title="Another", year=1999, author="Ada")
    again = qs.all()
    assert len(qs) == 5  # the evaluated queryset keeps its rows
    assert len(again) == 6  # a chained copy asks again


def test_empty_result_is_falsy(upstream: Upstream) -> None:
    qs = Book.objects.filter(year__gt=3000)
    assert not qs
    assert list(qs) == []
    assert len(upstream.requests()) == 1


# -- lookups, each against the real server ---------------------------------------------------

LOOKUP_CASES = [
    ("title", "Book 03", "title=Book+03", lambda r: r["title"] == "Book 03"),
    ("title__iexact", "book 03", "title__iexact=book+03", lambda r: r["title"] == "Book 03"),
    ("id__in", [3, 5, 7], "id__in=3%2C5%2C7", lambda r: r["id"] in {3, 5, 7}),
    ("author__in", ("Ada", "Cy"), "author__in=Ada%2CCy", lambda r: r["author"] in {"Ada", "Cy"}),
    ("year__gt", 2000, "year__gt=2000", lambda r: r["year"] > 2000),
    ("year__gte", 2000, "year__gte=2000", lambda r: r["year"] >= 2000),
    ("year__lt", 1985, "year__lt=1985", lambda r: r["year"] < 1985),
    ("year__lte", 1985, "year__lte=1985", lambda r: r["year"] <= 1985),
    ("title__contains", "ok 1", "title__contains=ok+1", lambda r: "ok 1" in r["title"]),
    (
        "title__icontains",
        "BOOK 1",
        "title__icontains=BOOK+1",
        lambda r: "book 1" in r["title"].lower(),
    ),
    (
        "title__startswith",
        "Book 2",
        "title__startswith=Book+2",
        lambda r: r["title"].startswith("Book 2"),
    ),
    (
        "title__istartswith",
        "book 2",
        "title__istartswith=book+2",
        lambda r: r["title"].startswith("Book 2"),
    ),
    ("title__endswith", "5", "title__endswith=5", lambda r: r["title"].endswith("5")),
    ("title__iendswith", "K 05", "title__iendswith=K+05", lambda r: r["title"] == "Book 05"),
    ("isbn__isnull", True, "isbn__isnull=true", lambda r: r["isbn"] is None),
    ("isbn__isnull", False, "isbn__isnull=false", lambda r: r["isbn"] is not None),
    ("isbn", None, "isbn__isnull=true", lambda r: r["isbn"] is None),
    ("year__range", (1990, 1992), "year__range=1990%2C1992", lambda r: 1990 <= r["year"] <= 1992),
    ("in_stock", False, "in_stock=false", lambda r: not r["in_stock"]),
    ("in_stock", True, "in_stock=true", lambda r: r["in_stock"]),
    ("pk", 7, "id=7", lambda r: r["id"] == 7),
    ("pk__in", [1, 2], "id__in=1%2C2", lambda r: r["id"] in {1, 2}),
    ("id__exact", 4, "id=4", lambda r: r["id"] == 4),
]


@pytest.mark.parametrize(
    ("keyword", "value", "query", "pred"),
    LOOKUP_CASES,
    ids=[f"{case[0]}={case[1]!r}" for case in LOOKUP_CASES],
)
def test_lookup_sends_drf_parameter_and_filters_on_server(
    upstream: Upstream,
    keyword: str,
    value: Any,
    query: str,
    pred: Callable[[dict[str, Any]], bool],
) -> None:
    found = ids(Book.objects.filter(**{keyword: value}))
    assert found == seed_ids(pred)
    assert found  # every case matches something, so the filter really ran
    assert queries(upstream)[0] == f"{query}&page=1"


def test_several_lookups_are_anded(upstream: Upstream) -> None:
    qs = Book.objects.filter(author__in=["Ada", "Cy"], year__lt=1991).filter(in_stock=True)
    assert ids(qs) == seed_ids(
        lambda r: r["author"] in {"Ada", "Cy"} and r["year"] < 1991 and r["in_stock"]
    )
    assert dict(parse_qsl(queries(upstream)[0])) == {
        "author__in": "Ada,Cy",
        "year__lt": "1991",
        "in_stock": "true",
        "page": "1",
    }


def test_order_by_sends_ordering_and_replaces_earlier_ordering(upstream: Upstream) -> None:
    rows = list(Book.objects.filter(id__lte=6).order_by("year").order_by("author", "-id"))
    assert [(b.author, b.id) for b in rows] == [
        ("Ada", 5),
        ("Bob", 6),
        ("Bob", 1),
        ("Cy", 2),
        ("Dee", 3),
        ("Eve", 4),
    ]
    assert queries(upstream) == ["id__lte=6&ordering=author%2C-id&page=1"]


def test_order_by_pk_and_descending(upstream: Upstream) -> None:
    assert ids(Book.objects.order_by("-pk")[:3]) == [25, 24, 23]
    assert parse_qs(queries(upstream)[0])["ordering"] == ["-id"]


def test_reverse_flips_the_ordering(upstream: Upstream) -> None:
    assert ids(Book.objects.order_by("year").reverse()[:2]) == [25, 24]
    assert parse_qs(queries(upstream)[0])["ordering"] == ["-year"]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Book.objects.filter(nope=1),
        lambda: Book.objects.exclude(nope__gte=1),
        lambda: Book.objects.filter(year__regex="^19"),
        lambda: Book.objects.order_by("nope"),
        lambda: Book.objects.order_by("-nope"),
        lambda: Book.objects.get_or_create(nope=1),
    ],
    ids=["filter", "exclude", "unknown-lookup", "order_by", "order_by-desc", "get_or_create"],
)
def test_unknown_field_or_lookup_raises_field_error_at_build_time(
    upstream: Upstream, build: Callable[[], Any]
) -> None:
    with pytest.raises(FieldError):
        build()
    assert upstream.requests() == []


def test_field_error_names_the_choices(upstream: Upstream) -> None:
    with pytest.raises(FieldError, match=r"'nope'.*author, id, in_stock, isbn, title, year"):
        Book.objects.filter(nope=1)


def test_in_lookup_with_a_non_iterable_raises_type_error(upstream: Upstream) -> None:
    qs = Book.objects.filter(id__in=3)
    with pytest.raises(TypeError):
        list(qs)
    assert upstream.requests() == []


def test_in_lookup_value_with_a_comma_cannot_be_expressed(upstream: Upstream) -> None:
    qs = Book.objects.filter(title__in=["a,b", "c"])
    with pytest.raises(exceptions.NotSupportedError):
        list(qs)
    assert upstream.requests() == []


# -- exclude() and its inversions ----------------------------------------------------------

INVERSIONS = [
    ({"year__gte": 2000}, "year__lt=2000", lambda r: not r["year"] >= 2000),
    ({"year__gt": 2000}, "year__lte=2000", lambda r: not r["year"] > 2000),
    ({"year__lt": 1990}, "year__gte=1990", lambda r: not r["year"] < 1990),
    ({"year__lte": 1990}, "year__gt=1990", lambda r: not r["year"] <= 1990),
    ({"in_stock": True}, "in_stock=false", lambda r: not r["in_stock"]),
    ({"isbn__isnull": True}, "isbn__isnull=false", lambda r: r["isbn"] is not None),
    ({"isbn": None}, "isbn__isnull=false", lambda r: r["isbn"] is not None),
]


@pytest.mark.parametrize(
    ("kwargs", "query", "pred"), INVERSIONS, ids=[str(case[0]) for case in INVERSIONS]
)
def test_exclude_sends_the_inverse_lookup(
    upstream: Upstream,
    kwargs: dict[str, Any],
    query: str,
    pred: Callable[[dict[str, Any]], bool],
) -> None:
    assert ids(Book.objects.exclude(**kwargs)) == seed_ids(pred)
    assert queries(upstream)[0] == f"{query}&page=1"


def test_exclude_twice_and_with_filter(upstream: Upstream) -> None:
    qs = Book.objects.exclude(year__gte=2000).exclude(year__lt=1990).filter(in_stock=True)
    assert ids(qs) == seed_ids(lambda r: 1990 <= r["year"] < 2000 and r["in_stock"])
    assert dict(parse_qsl(queries(upstream)[0])) == {
        "year__lt": "2000",
        "year__gte": "1990",
        "in_stock": "true",
        "page": "1",
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: Book.objects.exclude(isbn="isbn-1"),  # nullable: nulls would vanish
        lambda: Book.objects.exclude(isbn__startswith="isbn-1"),
        lambda: Book.objects.exclude(year=1990),  # no "not equal" in django-filter
        lambda: Book.objects.exclude(title__icontains="book"),
        lambda: Book.objects.exclude(year__range=(1990, 1995)),
        lambda: Book.objects.exclude(id__in=[1, 2]),
        lambda: Book.objects.exclude(year__gte=2000, year__lt=2005),  # NOT (a AND b)
    ],
    ids=["nullable-exact", "nullable-startswith", "int-exact", "icontains", "range", "in", "and"],
)
def test_exclude_that_cannot_be_expressed_raises_before_any_request(
    upstream: Upstream, build: Callable[[], QuerySet[Book]]
) -> None:
    qs = build()
    for evaluate in (list, len, bool, lambda q: q.count(), lambda q: q.exists(), lambda q: q[0]):
        with pytest.raises(exceptions.NotSupportedError, match="'drf' dialect cannot express"):
            evaluate(qs)
    assert upstream.requests() == []


def test_not_supported_error_names_model_and_service(upstream: Upstream) -> None:
    with pytest.raises(exceptions.NotSupportedError) as info:
        Book.objects.exclude(isbn="x").count()
    assert "Book on service 'default'" in str(info.value)
    assert "exclude(isbn__exact=...)" in str(info.value)
    assert isinstance(info.value, exceptions.APIError)


# -- Q objects -----------------------------------------------------------------------------


def test_filter_with_a_q_object(upstream: Upstream) -> None:
    assert ids(Book.objects.filter(Q(year__gte=2000))) == seed_ids(lambda r: r["year"] >= 2000)
    assert queries(upstream)[0] == "year__gte=2000&page=1"


def test_filter_with_a_negated_q_object(upstream: Upstream) -> None:
    assert ids(Book.objects.filter(~Q(year__gte=2000))) == seed_ids(lambda r: r["year"] < 2000)


def test_q_or_raises_not_supported_before_any_request(upstream: Upstream) -> None:
    qs = Book.objects.filter(Q(year=1990) | Q(year=1991))
    with pytest.raises(exceptions.NotSupportedError, match="OR between conditions"):
        list(qs)
    assert upstream.requests() == []


def test_exclude_of_an_or_becomes_two_inverse_lookups(upstream: Upstream) -> None:
    qs = Book.objects.exclude(Q(year__gte=2000) | Q(year__lt=1985))
    assert ids(qs) == seed_ids(lambda r: 1985 <= r["year"] < 2000)


def test_q_object_with_unknown_field_raises_field_error(upstream: Upstream) -> None:
    with pytest.raises(FieldError):
        Book.objects.filter(Q(nope=1))


def test_filter_rejects_positional_non_q(upstream: Upstream) -> None:
    with pytest.raises(TypeError, match="must be Q objects"):
        Book.objects.filter({"year": 1990})  # type: ignore[arg-type]


# -- wrong results the API silently gives ------------------------------------------------------


def test_same_lookup_twice_keeps_both_conditions(upstream: Upstream) -> None:
    assert Book.objects.filter(year__gte=1995).filter(year__gte=1990).count() == 11
    assert Book.objects.filter(author="Ada").filter(author="Bob").count() == 0


def test_in_with_an_empty_list_matches_nothing_without_a_request(upstream: Upstream) -> None:
    qs = Book.objects.filter(id__in=[]).filter(year__gte=1990)
    assert list(qs) == []
    assert qs.count() == 0
    assert qs.exists() is False
    assert qs.first() is None
    assert Book.objects.filter(author__in=()).in_bulk() == {}
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(id__in=[])
    assert upstream.requests() == []


def test_none_matches_nothing_without_a_request(upstream: Upstream) -> None:
    qs = Book.objects.filter(year__gte=1990).none()
    assert list(qs) == []
    assert qs.count() == 0
    assert not qs.exists()
    assert list(qs.values_list("id", flat=True)) == []
    assert upstream.requests() == []


def test_in_with_a_generator_is_reusable(upstream: Upstream) -> None:
    qs = Book.objects.filter(id__in=(i for i in (1, 2)))
    assert qs.count() == 2
    assert ids(qs) == [1, 2]


# -- slicing and indexing --------------------------------------------------------------------


def test_slice_fetches_only_the_rows_it_needs(upstream: Upstream) -> None:
    qs = Book.objects.all()[5:15]
    assert upstream.requests() == []
    assert ids(qs) == list(range(6, 16))
    assert len(upstream.requests()) <= 2
    assert sum(page_sizes(upstream)) <= 20  # never the whole collection


def test_slice_past_the_end_and_slice_of_slice(upstream: Upstream) -> None:
    assert ids(Book.objects.all()[20:30]) == [21, 22, 23, 24, 25]
    assert ids(Book.objects.all()[5:15][2:4]) == [8, 9]
    assert ids(Book.objects.all()[30:40]) == []
    assert ids(Book.objects.all()[10:5]) == []
    assert ids(Book.objects.all()[0:10:3]) == [1, 4, 7, 10]
    assert ids(Book.objects.order_by("-year")[:3]) == [25, 24, 23]


def test_slice_with_filter_and_ordering(upstream: Upstream) -> None:
    assert ids(Book.objects.filter(in_stock=True).order_by("-id")[1:3]) == [22, 20]
    assert all(q.startswith("in_stock=true&ordering=-id&page=") for q in queries(upstream))
    assert len(upstream.requests()) <= 2
    assert max(page_sizes(upstream)) <= 3


def test_index_fetches_one_small_page(upstream: Upstream) -> None:
    book = Book.objects.all()[3]
    assert isinstance(book, Book)
    assert book.id == 4
    assert [(m, p) for m, p, _ in sent(upstream)] == [("GET", "/api/books/")]
    assert page_sizes(upstream)[0] <= 4


def test_index_past_the_end_raises_index_error(upstream: Upstream) -> None:
    with pytest.raises(IndexError):
        Book.objects.all()[25]
    with pytest.raises(IndexError):
        Book.objects.filter(year__gte=2000)[6]


@pytest.mark.parametrize(
    "key", [-1, slice(-5, None), slice(None, -1)], ids=["index", "start", "stop"]
)
def test_negative_index_raises_value_error(upstream: Upstream, key: Any) -> None:
    with pytest.raises(ValueError, match="Negative indexing is not supported"):
        Book.objects.all()[key]
    assert upstream.requests() == []


def test_non_integer_index_raises_type_error(upstream: Upstream) -> None:
    with pytest.raises(TypeError):
        Book.objects.all()["a"]  # type: ignore[index]


@pytest.mark.parametrize(
    "after_slice",
    [
        lambda qs: qs.filter(year=1990),
        lambda qs: qs.exclude(year__gte=1990),
        lambda qs: qs.order_by("year"),
        lambda qs: qs.reverse(),
        lambda qs: qs.update(in_stock=True),
        lambda qs: qs.delete(),
        lambda qs: qs.in_bulk([1]),
        lambda qs: qs.last(),
    ],
    ids=["filter", "exclude", "order_by", "reverse", "update", "delete", "in_bulk", "last"],
)
def test_operations_after_a_slice_raise_type_error(
    upstream: Upstream, after_slice: Callable[[QuerySet[Book]], Any]
) -> None:
    with pytest.raises(TypeError, match="slice has been taken"):
        after_slice(Book.objects.all()[2:5])
    assert upstream.requests() == []


# -- get() -----------------------------------------------------------------------------------


@pytest.mark.parametrize("keyword", ["pk", "id", "pk__exact", "id__exact"])
def test_get_by_pk_is_exactly_one_detail_request(upstream: Upstream, keyword: str) -> None:
    book = Book.objects.get(**{keyword: 7})
    assert book.to_dict() == seed_row(7)
    assert sent(upstream) == [("GET", "/api/books/7/", "")]


def test_get_on_all_and_by_string_pk(upstream: Upstream) -> None:
    assert Book.objects.all().get(pk="8").id == 8
    assert sent(upstream) == [("GET", "/api/books/8/", "")]


def test_get_by_other_lookups_asks_for_two_rows_once(upstream: Upstream) -> None:
    book = Book.objects.get(title="Book 07")
    assert book.id == 7
    assert sent(upstream) == [("GET", "/api/books/", "title=Book+07&page=1&page_size=2")]


def test_get_with_pk_and_another_filter_honours_both(upstream: Upstream) -> None:
    assert Book.objects.filter(year=1987).get(pk=7).id == 7
    with pytest.raises(Book.DoesNotExist):
        Book.objects.filter(year=1990).get(pk=7)
    assert all(path == "/api/books/" for _, path, _ in sent(upstream))


def test_get_without_arguments_on_a_single_row(upstream: Upstream) -> None:
    assert Book.objects.filter(title="Book 09").get().id == 9


def test_get_missing_pk_raises_does_not_exist(upstream: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist, match="Book matching query does not exist"):
        Book.objects.get(pk=999)
    assert sent(upstream) == [("GET", "/api/books/999/", "")]


def test_get_no_match_raises_does_not_exist(upstream: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(title="No such book")
    assert len(upstream.requests()) == 1


def test_get_several_matches_raises_multiple_objects_returned(upstream: Upstream) -> None:
    with pytest.raises(Book.MultipleObjectsReturned, match="it returned 5!"):
        Book.objects.get(author="Ada")
    assert queries(upstream) == ["author=Ada&page=1&page_size=2"]


def test_per_model_exceptions_fit_django_and_library_hierarchies() -> None:
    assert issubclass(Book.DoesNotExist, ObjectDoesNotExist)
    assert issubclass(Book.DoesNotExist, exceptions.DoesNotExist)
    assert issubclass(Book.MultipleObjectsReturned, MultipleObjectsReturned)
    assert issubclass(Book.MultipleObjectsReturned, exceptions.MultipleObjectsReturned)
    assert Book.DoesNotExist is not PlainBook.DoesNotExist
    assert not issubclass(Book.DoesNotExist, PlainBook.DoesNotExist)
    assert Book.DoesNotExist.__qualname__ == "Book.DoesNotExist"


# -- first(), last(), count(), exists() --------------------------------------------------------


def test_first_and_last_order_by_pk_when_unordered(upstream: Upstream) -> None:
    assert Book.objects.first().id == 1  # type: ignore[union-attr]
    assert Book.objects.last().id == 25  # type: ignore[union-attr]
    assert queries(upstream) == [
        "ordering=id&page=1&page_size=1",
        "ordering=-id&page=1&page_size=1",
    ]


def test_first_and_last_respect_ordering_and_filters(upstream: Upstream) -> None:
    qs = Book.objects.filter(author="Bob").order_by("-year")
    assert qs.first().id == 21  # type: ignore[union-attr]
    assert qs.last().id == 1  # type: ignore[union-attr]
    assert queries(upstream) == [
        "author=Bob&ordering=-year&page=1&page_size=1",
        "author=Bob&ordering=year&page=1&page_size=1",
    ]


def test_first_and_last_of_nothing_are_none(upstream: Upstream) -> None:
    assert Book.objects.filter(year__gt=3000).first() is None
    assert Book.objects.filter(year__gt=3000).last() is None


@pytest.mark.parametrize(
    ("qs", "expected", "query"),
    [
        (lambda: Book.objects.all(), 25, "page=1&page_size=1"),
        (lambda: Book.objects.filter(year__gte=2000), 6, "year__gte=2000&page=1&page_size=1"),
        (lambda: Book.objects.exclude(in_stock=True), 13, "in_stock=false&page=1&page_size=1"),
        (lambda: Book.objects.order_by("-year"), 25, "page=1&page_size=1"),
        (lambda: Book.objects.all()[5:15], 10, "page=1&page_size=1"),
        (lambda: Book.objects.all()[20:30], 5, "page=1&page_size=1"),
        (lambda: Book.objects.filter(year__gt=3000), 0, "year__gt=3000&page=1&page_size=1"),
    ],
    ids=["all", "filter", "exclude", "ordered", "slice", "slice-past-end", "none"],
)
def test_count_is_one_small_request(
    upstream: Upstream, qs: Callable[[], QuerySet[Book]], expected: int, query: str
) -> None:
    assert qs().count() == expected
    assert queries(upstream) == [query]


def test_exists_asks_for_at_most_one_row(upstream: Upstream) -> None:
    assert Book.objects.exists() is True
    assert Book.objects.filter(year__gte=2000).exists() is True
    assert Book.objects.filter(year__gt=3000).exists() is False
    assert queries(upstream) == [
        "page=1&page_size=1",
        "year__gte=2000&page=1&page_size=1",
        "year__gt=3000&page=1&page_size=1",
    ]


def test_exists_on_a_slice(upstream: Upstream) -> None:
    assert Book.objects.all()[24:30].exists() is True
    assert Book.objects.all()[25:30].exists() is False
    assert len(upstream.requests()) == 2


# -- values() / values_list() ------------------------------------------------------------------


def test_values_gives_dicts_of_the_named_fields(upstream: Upstream) -> None:
    rows = list(Book.objects.filter(id__lte=2).values("id", "title"))
    assert rows == [{"id": 1, "title": "Book 01"}, {"id": 2, "title": "Book 02"}]
    assert list(Book.objects.filter(id=3).values()) == [seed_row(3)]


def test_values_list_tuples_flat_and_named(upstream: Upstream) -> None:
    qs = Book.objects.filter(id__lte=3)
    assert list(qs.values_list("id", "author")) == [(1, "Bob"), (2, "Cy"), (3, "Dee")]
    assert list(qs.values_list("id", flat=True)) == [1, 2, 3]
    assert list(qs.values_list("pk", flat=True)) == [1, 2, 3]
    named = list(qs.values_list("id", "year", named=True))
    assert [(row.id, row.year) for row in named] == [(1, 1981), (2, 1982), (3, 1983)]
    assert list(qs.values_list()) == [tuple(seed_row(i).values()) for i in (1, 2, 3)]


def test_values_work_with_get_first_and_slices(upstream: Upstream) -> None:
    assert Book.objects.values("title").get(pk=4) == {"title": "Book 04"}
    assert Book.objects.values_list("year", flat=True).get(title="Book 05") == 1985
    assert Book.objects.values("id").first() == {"id": 1}
    assert Book.objects.values_list("id", flat=True)[3] == 4


def test_values_list_argument_errors(upstream: Upstream) -> None:
    with pytest.raises(TypeError):
        Book.objects.values_list("id", "title", flat=True)
    with pytest.raises(TypeError):
        Book.objects.values_list("id", flat=True, named=True)
    with pytest.raises((ValueError, FieldError)):
        Book.objects.values("nope")
    with pytest.raises((ValueError, FieldError)):
        Book.objects.values_list("nope", flat=True)
    assert upstream.requests() == []


# -- in_bulk() -------------------------------------------------------------------------------


def test_in_bulk_with_ids_sends_one_id_in_request(upstream: Upstream) -> None:
    found = Book.objects.in_bulk([3, 1, 999, 3])
    assert sorted(found) == [1, 3]
    assert found[3].title == "Book 03"
    assert sent(upstream) == [("GET", "/api/books/", "id__in=3%2C1%2C999&page=1&page_size=3")]


def test_in_bulk_with_an_empty_list_sends_nothing(upstream: Upstream) -> None:
    assert Book.objects.in_bulk([]) == {}
    assert Book.objects.in_bulk(iter(())) == {}
    assert upstream.requests() == []


def test_in_bulk_without_ids_returns_every_row(upstream: Upstream) -> None:
    found = Book.objects.in_bulk()
    assert sorted(found) == list(range(1, 26))
    assert found[25].year == 2005
    assert sorted(page_numbers(upstream)) == [1, 2, 3]


def test_in_bulk_on_a_filtered_queryset(upstream: Upstream) -> None:
    assert sorted(Book.objects.filter(in_stock=True).in_bulk([1, 2, 3, 4])) == [2, 4]


def test_in_bulk_by_another_field(upstream: Upstream) -> None:
    found = Book.objects.in_bulk(["Book 01", "Book 02"], field_name="title")
    assert {title: book.id for title, book in found.items()} == {"Book 01": 1, "Book 02": 2}
    assert queries(upstream) == ["title__in=Book+01%2CBook+02&page=1&page_size=2"]
    with pytest.raises((ValueError, FieldError)):
        Book.objects.in_bulk([1], field_name="nope")


def test_in_bulk_splits_many_ids_into_short_urls(upstream: Upstream) -> None:
    wanted = list(range(1, 400))
    found = Book.objects.in_bulk(wanted)
    assert sorted(found) == list(range(1, 26))
    asked: set[int] = set()
    batches = 0
    for entry in upstream.requests():
        params = parse_qs(entry["query"])
        assert len(entry["path"]) + len(entry["query"]) < 2000
        values = params["id__in"][0].split(",")
        if params.get("page") == ["1"]:
            batches += 1
        asked.update(int(v) for v in values)
    assert batches > 1
    assert asked == set(wanted)


def test_in_bulk_on_values_raises_type_error_before_any_request(upstream: Upstream) -> None:
    with pytest.raises(TypeError):
        Book.objects.values("id").in_bulk([1])
    assert upstream.requests() == []


# -- iterator() ------------------------------------------------------------------------------


def test_iterator_streams_one_page_per_request(upstream: Upstream) -> None:
    stream = Book.objects.iterator(chunk_size=7)
    assert upstream.requests() == []
    first = next(stream)
    assert first.id == 1
    # The first page, and the second when the sync driver reads ahead (pycurl, READ_AHEAD).
    ahead = hasattr(services["default"].sync_driver(), "begin")
    assert queries(upstream)[:1] == ["page=1&page_size=7"]
    assert len(upstream.requests()) <= 1 + ahead
    rest = list(stream)
    assert [first.id, *ids(rest)] == list(range(1, 26))
    assert queries(upstream) == [f"page={n}&page_size=7" for n in (1, 2, 3, 4)]


def test_iterator_uses_the_servers_page_size_by_default(upstream: Upstream) -> None:
    upstream.config(page_size=4)
    assert ids(Book.objects.filter(year__gte=1990).iterator()) == list(range(10, 26))
    assert len(upstream.requests()) == 4  # 16 rows, 4 per page


def test_iterator_does_not_cache_and_respects_slices(upstream: Upstream) -> None:
    qs = Book.objects.all()[5:15]
    assert ids(qs.iterator(chunk_size=4)) == list(range(6, 16))
    assert ids(qs.iterator(chunk_size=4)) == list(range(6, 16))
    assert queries(upstream) == [f"page={n}&page_size=4" for n in (2, 3, 4)] * 2


def test_iterator_of_values(upstream: Upstream) -> None:
    flat = list(Book.objects.filter(author="Cy").values_list("id", flat=True).iterator())
    assert flat == seed_ids(lambda r: r["author"] == "Cy")


# -- update() and delete() on querysets ----------------------------------------------------


def test_queryset_update_patches_each_match(upstream: Upstream) -> None:
    assert Book.objects.filter(author="Ada").update(in_stock=True, isbn="new") == 5
    log = upstream.requests()
    assert [(r["method"], r["path"]) for r in log[:1]] == [("GET", "/api/books/")]
    patches = [r for r in log if r["method"] == "PATCH"]
    assert sorted(r["path"] for r in patches) == [f"/api/books/{i}/" for i in (10, 15, 20, 25, 5)]
    assert {r["body"] for r in patches} == {'{"in_stock":true,"isbn":"new"}'}
    upstream.clear_requests()
    assert server_count(upstream, author="Ada", in_stock=True) == 5
    assert server_count(upstream, isbn="new") == 5
    assert server_count(upstream, in_stock=True) == 12 + 3  # 12 even ids plus 3 odd Ada ids


def test_update_of_nothing_returns_zero(upstream: Upstream) -> None:
    assert Book.objects.filter(year__gt=3000).update(in_stock=True) == 0
    assert [r["method"] for r in upstream.requests()] == ["GET"]


def test_update_with_an_unknown_field_fails_before_any_request(upstream: Upstream) -> None:
    with pytest.raises((ValueError, FieldError)):
        Book.objects.filter(author="Ada").update(nope=1)
    assert upstream.requests() == []


def test_queryset_delete_deletes_each_match(upstream: Upstream) -> None:
    assert Book.objects.filter(author="Bob").delete() == (5, {"tests.Book": 5})
    deletes = [r["path"] for r in upstream.requests() if r["method"] == "DELETE"]
    assert sorted(deletes) == sorted(f"/api/books/{i}/" for i in (1, 6, 11, 16, 21))
    upstream.clear_requests()
    assert server_count(upstream) == 20
    assert server_count(upstream, author="Bob") == 0


def test_delete_of_nothing(upstream: Upstream) -> None:
    assert Book.objects.filter(year__gt=3000).delete() == (0, {})


# -- create(), get_or_create(), update_or_create(), bulk_create() ------------------------------


def test_create_posts_once_with_an_idempotency_key(upstream: Upstream) -> None:
    book = Book.objects.create(title="New", year=2020, author="Zoe")
    assert book.pk == 26
    assert book.isbn is None
    [post] = upstream.requests()
    assert (post["method"], post["path"]) == ("POST", "/api/books/")
    assert len(post["headers"]["idempotency-key"]) >= 16
    assert '"id"' not in post["body"]
    assert '"title":"New"' in post["body"]
    assert server_row(upstream, 26)["author"] == "Zoe"


def test_create_validates_locally_first(upstream: Upstream) -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError):
        Book.objects.create(year=2020)  # title is required
    with pytest.raises(pydantic.ValidationError):
        Book.objects.create(title="x", year="not a year")
    assert upstream.requests() == []


def test_create_rejected_by_the_server_raises_validation_error(upstream: Upstream) -> None:
    with pytest.raises(exceptions.ValidationError) as info:
        Book.objects.create(title="x" * 500, year=2020)
    assert info.value.status_code == 400
    assert "title" in info.value.field_errors
    assert server_count(upstream) == 25


def test_get_or_create_finds_existing(upstream: Upstream) -> None:
    book, created = Book.objects.get_or_create(title="Book 03", defaults={"year": 1})
    assert (book.id, book.year, created) == (3, 1983, False)
    assert [r["method"] for r in upstream.requests()] == ["GET"]


def test_get_or_create_creates_with_defaults(upstream: Upstream) -> None:
    book, created = Book.objects.get_or_create(
        title="Fresh", defaults={"year": 2021, "author": lambda: "Callable"}
    )
    assert created is True
    assert (book.pk, book.year, book.author) == (26, 2021, "Callable")
    get, post = upstream.requests()
    assert (get["method"], get["query"]) == ("GET", "title=Fresh&page=1&page_size=2")
    assert post["method"] == "POST"
    assert "idempotency-key" in post["headers"]
    assert server_row(upstream, 26)["title"] == "Fresh"


def test_get_or_create_with_several_matches(upstream: Upstream) -> None:
    with pytest.raises(Book.MultipleObjectsReturned):
        Book.objects.get_or_create(author="Ada", defaults={"title": "x", "year": 1})
    assert server_count(upstream) == 25


def test_get_or_create_by_missing_pk_creates(upstream: Upstream) -> None:
    _, created = Book.objects.get_or_create(id=999, defaults={"title": "By pk", "year": 1})
    assert created is True
    assert server_count(upstream, title="By pk") == 1


def test_update_or_create_patches_only_the_defaults(upstream: Upstream) -> None:
    book, created = Book.objects.update_or_create(
        title="Book 04", defaults={"year": 1999, "in_stock": False}
    )
    assert (book.id, book.year, book.in_stock, created) == (4, 1999, False, False)
    get, patch = upstream.requests()
    assert get["method"] == "GET"
    assert (patch["method"], patch["path"]) == ("PATCH", "/api/books/4/")
    assert patch["body"] == '{"year":1999,"in_stock":false}'
    assert server_row(upstream, 4) == {**seed_row(4), "year": 1999, "in_stock": False}


def test_update_or_create_creates_when_missing(upstream: Upstream) -> None:
    book, created = Book.objects.update_or_create(
        title="Brand new", defaults={"year": 1}, create_defaults={"year": 2, "author": "Cy"}
    )
    assert created is True
    assert (book.pk, book.year, book.author) == (26, 2, "Cy")
    assert [r["method"] for r in upstream.requests()] == ["GET", "POST"]
    assert server_row(upstream, 26)["year"] == 2


def test_bulk_create_with_dicts_and_instances(upstream: Upstream) -> None:
    made = Book.objects.bulk_create(
        [{"title": "A", "year": 2001}, Book(title="B", year=2002, author="Dee")]
    )
    assert [b.pk for b in made] == [26, 27]
    assert all(isinstance(b, Book) for b in made)
    posts = upstream.requests()
    assert [r["method"] for r in posts] == ["POST", "POST"]
    keys = {r["headers"]["idempotency-key"] for r in posts}
    assert len(keys) == 2
    assert server_count(upstream) == 27
    assert server_row(upstream, 27)["author"] == "Dee"


def test_bulk_create_of_nothing(upstream: Upstream) -> None:
    assert Book.objects.bulk_create([]) == []
    assert upstream.requests() == []


# -- services, raw parameters, explain() ---------------------------------------------------------


def test_using_sends_the_other_services_token(upstream: Upstream) -> None:
    assert Book.objects.using("private").count() == 25
    assert Book.objects.count() == 25
    private, default = upstream.requests()
    assert private["headers"]["authorization"] == "Bearer test-token"
    assert "authorization" not in default["headers"]


def test_private_endpoint_needs_the_private_service(upstream: Upstream) -> None:
    with pytest.raises(exceptions.AuthenticationError) as info:
        PrivateBook.objects.count()
    assert info.value.status_code == 401
    assert PrivateBook.objects.using("private").get(pk=2).title == "Book 02"
    assert PrivateBook.objects.using("private").filter(author="Ada").count() == 5
    assert [r["path"] for r in upstream.requests()][-2:] == [
        "/api/private/books/2/",
        "/api/private/books/",
    ]


def test_using_survives_chaining(upstream: Upstream) -> None:
    qs = PrivateBook.objects.using("private").filter(year__gte=2000).order_by("-id")
    assert ids(qs[:2]) == [25, 24]


def test_using_an_unknown_alias(upstream: Upstream) -> None:
    qs = Book.objects.using("nope")
    with pytest.raises(ImproperlyConfigured, match="'nope'"):
        qs.count()
    assert upstream.requests() == []


def test_params_are_sent_unchanged(upstream: Upstream) -> None:
    qs = Book.objects.params(year__gte=2000).filter(in_stock=True)
    assert ids(qs) == [20, 22, 24]
    assert dict(parse_qsl(queries(upstream)[0])) == {
        "in_stock": "true",
        "year__gte": "2000",
        "page": "1",
    }


def test_params_turn_get_by_pk_into_a_list_request(upstream: Upstream) -> None:
    assert Book.objects.params(year__gte=2000).get(pk=22).id == 22
    with pytest.raises(Book.DoesNotExist):
        Book.objects.params(year__gte=2000).get(pk=2)
    assert all(r["path"] == "/api/books/" for r in upstream.requests())


def test_explain_shows_the_first_request_without_sending_it(upstream: Upstream) -> None:
    qs = Book.objects.order_by("-year").filter(year__gte=1990)[5:15]
    plan = qs.explain()
    assert plan.startswith(f"GET {upstream.url}/api/books/?year__gte=1990&ordering=-year&page=")
    assert Book.objects.explain() == f"GET {upstream.url}/api/books/?page=1"
    assert Book.objects.all()[3:3].explain() == "(no request: the slice is empty)"
    assert upstream.requests() == []
    assert ids(qs) == list(range(20, 10, -1))
    first = upstream.requests()[0]
    assert plan == f"GET {upstream.url}{first['path']}?{first['query']}"


def test_explain_of_an_impossible_query_raises(upstream: Upstream) -> None:
    with pytest.raises(exceptions.NotSupportedError):
        Book.objects.exclude(year=1990).explain()


# -- an unpaginated endpoint -------------------------------------------------------------------


def test_plain_list_endpoint_full_fetch(upstream: Upstream) -> None:
    assert ids(PlainBook.objects.all()) == list(range(1, 26))
    assert len(upstream.requests()) == 1


def test_plain_list_endpoint_slicing(upstream: Upstream) -> None:
    assert ids(PlainBook.objects.all()[5:15]) == list(range(6, 16))
    assert PlainBook.objects.all()[3].id == 4
    assert ids(PlainBook.objects.filter(year__gte=2000)[1:3]) == [21, 22]
    assert ids(PlainBook.objects.order_by("-id")[:2]) == [25, 24]
    with pytest.raises(IndexError):
        PlainBook.objects.all()[25]
    assert len(upstream.requests()) == 5


def test_plain_list_endpoint_count_exists_get(upstream: Upstream) -> None:
    assert PlainBook.objects.count() == 25
    assert PlainBook.objects.filter(year__gte=2000).count() == 6
    assert PlainBook.objects.all()[20:30].count() == 5
    assert PlainBook.objects.filter(year__gt=3000).exists() is False
    assert PlainBook.objects.get(title="Book 11").id == 11
    with pytest.raises(PlainBook.MultipleObjectsReturned, match="returned 5"):
        PlainBook.objects.get(author="Eve")
    assert PlainBook.objects.last().id == 25  # type: ignore[union-attr]
    assert len(upstream.requests()) == 7


def test_plain_list_endpoint_iterator(upstream: Upstream) -> None:
    assert ids(PlainBook.objects.iterator(chunk_size=7)) == list(range(1, 26))
    assert len(upstream.requests()) == 1


# -- the manager -----------------------------------------------------------------------------


def test_manager_is_not_iterable(upstream: Upstream) -> None:
    with pytest.raises(TypeError, match="not iterable"):
        iter(Book.objects)
    with pytest.raises(TypeError, match="not iterable"):
        list(Book.objects)
    with pytest.raises(TypeError, match="no len"):
        len(Book.objects)
    assert bool(Book.objects) is True
    assert upstream.requests() == []


def test_manager_hands_out_plain_querysets(upstream: Upstream) -> None:
    assert isinstance(Book.objects, Manager)
    for qs in (Book.objects.all(), Book.objects.get_queryset(), Book.objects.filter(id=1)):
        assert type(qs) is QuerySet
        assert qs.model is Book
    assert repr(Book.objects) == "<Manager for Book>"
    assert ids(Book.objects.all()[:2]) == [1, 2]


def test_queryset_write_methods_alter_data() -> None:
    for name in ("create", "get_or_create", "update_or_create", "bulk_create", "update", "delete"):
        assert getattr(QuerySet, name).alters_data is True
        assert getattr(QuerySet, "a" + name).alters_data is True
