"""Seed 001's vocabulary: F() updates, bulk_update, latest/earliest, contains, aggregate(Count)
and a clear NotSupportedError for the queryset methods a REST API cannot honour."""

from __future__ import annotations

import pytest
from django.db.models import Count, F, Sum, Value
from django.db.models.expressions import Combinable

from django_api_orm import exceptions, expressions
from tests.models import Book
from tests.upstream_fixture import Upstream


def methods(upstream: Upstream) -> list[str]:
    return [e["method"] for e in upstream.requests()]


def test_update_with_f_reads_modifies_and_writes_each_row(upstream: Upstream) -> None:
    before = {b.pk: b.year for b in Book.objects.filter(author="Ada")}
    upstream.clear_requests()
    assert Book.objects.filter(author="Ada").update(year=F("year") + 1) == 5
    assert {b.pk: b.year for b in Book.objects.filter(author="Ada")} == {
        pk: year + 1 for pk, year in before.items()
    }
    assert methods(upstream)[:11].count("PATCH") == 5  # GET list, then GET + PATCH per row


async def test_aupdate_with_f(upstream: Upstream) -> None:
    assert await Book.objects.filter(pk=3).aupdate(year=F("year") * 2) == 1
    assert (await Book.objects.aget(pk=3)).year == 1983 * 2


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (F("year") + 1, 1985),
        (F("year") - 4, 1980),
        (F("year") * 2, 3968),
        (F("year") / 2, 992),
        (F("year") % 1000, 984),
        (Value(7), 7),
    ],
)
def test_expressions_resolve_with_djangos_operators(expression: object, expected: int) -> None:
    book = Book(id=1, title="t", author="a", year=1984)
    assert expressions.resolve(expression, book) == expected
    assert set(expressions._OPERATORS) == {
        Combinable.ADD,
        Combinable.SUB,
        Combinable.MUL,
        Combinable.DIV,
        Combinable.MOD,
    }


def test_update_with_an_unsupported_expression_sends_nothing(upstream: Upstream) -> None:
    with pytest.raises(exceptions.NotSupportedError, match="Sum"):
        Book.objects.update(year=Sum("year"))
    assert upstream.requests() == []


def test_bulk_update_patches_the_named_fields(upstream: Upstream) -> None:
    books = list(Book.objects.filter(pk__in=[1, 2]))
    for book in books:
        book.title = f"New {book.pk}"
    upstream.clear_requests()
    assert Book.objects.bulk_update(books, ["title"]) == 2
    assert methods(upstream) == ["PATCH", "PATCH"]
    assert Book.objects.get(pk=2).title == "New 2"
    with pytest.raises(ValueError):
        Book.objects.bulk_update(books, [])


async def test_alatest_and_aearliest(upstream: Upstream) -> None:
    assert (await Book.objects.filter(author="Ada").alatest("year")).pk == 25
    assert (await Book.objects.aearliest("-year")).pk == 25


def test_latest_and_earliest(upstream: Upstream) -> None:
    assert Book.objects.latest("year").pk == 25
    assert Book.objects.earliest("year").pk == 1
    with pytest.raises(Book.DoesNotExist):
        Book.objects.filter(year__gt=3000).latest("year")
    with pytest.raises(ValueError, match="_get_latest_by"):
        Book.objects.latest()


async def test_acontains(upstream: Upstream) -> None:
    book = await Book.objects.aget(pk=5)
    assert await Book.objects.all().acontains(book)
    assert not await Book.objects.filter(year__lt=1980).acontains(book)


def test_contains(upstream: Upstream) -> None:
    book = Book.objects.get(pk=5)
    assert Book.objects.filter(author=book.author).contains(book)
    assert not Book.objects.filter(year__lt=1980).contains(book)
    with pytest.raises(ValueError):
        Book.objects.contains(Book(title="x", year=1))


async def test_aaggregate_count(upstream: Upstream) -> None:
    assert await Book.objects.filter(author="Ada").aaggregate(n=Count("id")) == {"n": 5}
    assert len(upstream.requests()) == 1


def test_aggregate_count_comes_from_the_total(upstream: Upstream) -> None:
    assert Book.objects.aggregate(Count("pk")) == {"pk__count": 25}
    assert len(upstream.requests()) == 1
    with pytest.raises(exceptions.NotSupportedError, match="every row"):
        Book.objects.aggregate(Sum("year"))


@pytest.mark.parametrize("name", ["annotate", "distinct", "only", "defer", "raw"])
def test_methods_an_api_cannot_honour_say_why(upstream: Upstream, name: str) -> None:
    with pytest.raises(exceptions.NotSupportedError, match=f"{name}\\(\\) is not supported"):
        getattr(Book.objects.all(), name)("title")
    assert upstream.requests() == []


@pytest.mark.parametrize("name", ["select_related", "prefetch_related"])
def test_relations_a_model_does_not_declare_are_refused(upstream: Upstream, name: str) -> None:
    with pytest.raises(ValueError, match=f"invalid parameter to {name}.*Choices are: \\(none\\)"):
        getattr(Book.objects.all(), name)("title")
    assert upstream.requests() == []


def test_aggregate_of_several_counts_is_one_request(upstream: Upstream) -> None:
    assert Book.objects.aggregate(Count("pk"), n=Count("id")) == {"pk__count": 25, "n": 25}
    assert len(upstream.requests()) == 1


async def test_latest_in_a_running_loop_names_its_own_twin(upstream: Upstream) -> None:
    from django.core.exceptions import SynchronousOnlyOperation

    with pytest.raises(SynchronousOnlyOperation, match="alatest"):
        Book.objects.latest("year")
    assert upstream.requests() == []
