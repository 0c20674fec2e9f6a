"""Verified rows: a queryset never returns or changes a row that does not match it.

``/api/narrow-books/`` on the real DRF upstream declares only ``author`` and ``year`` exact
filters; django-filter silently ignores every other lookup there, as real APIs do.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import APIModel, exceptions
from django_api_orm.testing import FakeService
from tests.conftest import service_settings
from tests.models import Book, BookSchema, NarrowBook
from tests.upstream_fixture import Upstream


@pytest.fixture
def fresh(upstream: Upstream) -> Iterator[Upstream]:
    """A fresh service (its memory of ignored lookups starts empty)."""
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        yield upstream


def writes(upstream: Upstream) -> list[dict[str, Any]]:
    return [e for e in upstream.requests() if e["method"] in {"POST", "PUT", "PATCH", "DELETE"}]


def remaining(upstream: Upstream) -> int:
    upstream.clear_requests()
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        return Book.objects.count()


# -- writes never touch a row that fails verification --------------------------------------------


def test_an_ignored_filter_deletes_nothing(fresh: Upstream) -> None:
    with pytest.raises(exceptions.FilterIgnored) as info:
        NarrowBook.objects.filter(author__startswith="Orw").delete()
    error = info.value
    assert error.lookup == "author__startswith" and error.service == "default"
    assert error.model == "NarrowBook" and error.pk is not None
    assert "Nothing was written" in str(error) and "narrow-books/" in error.url
    assert writes(fresh) == []
    assert remaining(fresh) == 25


async def test_an_ignored_filter_deletes_nothing_async(fresh: Upstream) -> None:
    with pytest.raises(exceptions.FilterIgnored):
        await NarrowBook.objects.filter(author__startswith="Orw").adelete()
    assert writes(fresh) == []


@pytest.mark.parametrize("colour", ["sync", "async"])
async def test_an_ignored_filter_updates_nothing(fresh: Upstream, colour: str) -> None:
    query = NarrowBook.objects.filter(title__endswith="05")
    with pytest.raises(exceptions.FilterIgnored, match="title__endswith"):
        if colour == "sync":
            await _in_thread(lambda: query.update(year=1))
        else:
            await query.aupdate(year=1)
    assert writes(fresh) == []


async def _in_thread(call: Any) -> Any:
    from asgiref.sync import sync_to_async

    return await sync_to_async(call)()


def test_a_matching_write_still_works_where_the_filter_is_honoured(fresh: Upstream) -> None:
    assert NarrowBook.objects.filter(author="Ada").update(in_stock=False) == 5
    assert len([w for w in writes(fresh) if w["method"] == "PATCH"]) == 5


def test_get_or_create_and_update_or_create_never_take_an_unrelated_row(fresh: Upstream) -> None:
    with pytest.raises(exceptions.FilterIgnored):
        NarrowBook.objects.update_or_create(title="New", defaults={"year": 1})
    with pytest.raises(exceptions.NotSupportedError, match="caught ignoring title__exact"):
        NarrowBook.objects.get_or_create(title="New", defaults={"year": 1})  # remembered
    assert writes(fresh) == []


def test_in_bulk_with_an_ignored_in_returns_no_foreign_row(fresh: Upstream) -> None:
    with pytest.raises(exceptions.FilterIgnored, match="id__in"):
        NarrowBook.objects.in_bulk([3, 4])


@pytest.mark.parametrize(
    "lookups",
    [{"year__range": (1985, 1990)}, {"in_stock": False}, {"author__gt": "M"}],
    ids=["range", "bool", "gt"],
)
def test_ignored_lookups_are_caught_on_read(fresh: Upstream, lookups: dict[str, Any]) -> None:
    with pytest.raises(exceptions.FilterIgnored):
        list(NarrowBook.objects.filter(**lookups))


def test_a_caught_lookup_is_refused_before_sending_from_then_on(fresh: Upstream) -> None:
    with pytest.raises(exceptions.FilterIgnored):
        list(NarrowBook.objects.filter(author__startswith="Orw"))
    fresh.clear_requests()
    with pytest.raises(exceptions.NotSupportedError, match="caught ignoring"):
        NarrowBook.objects.filter(author__startswith="Orw").count()
    assert fresh.requests() == []


def test_get_checks_the_pk_of_the_answer(fresh: Upstream) -> None:
    fresh.fault(path_prefix="/api/books/5/", status=200, body={"id": 7, "title": "x", "year": 1})
    with pytest.raises(exceptions.FilterIgnored) as info:
        Book.objects.get(pk=5)
    assert info.value.pk == 7


async def test_aget_checks_the_pk_of_the_answer(fresh: Upstream) -> None:
    fresh.fault(path_prefix="/api/books/5/", status=200, body={"id": 7, "title": "x", "year": 1})
    with pytest.raises(exceptions.FilterIgnored):
        await Book.objects.aget(pk=5)


def test_pk_none_matches_nothing_and_sends_nothing(fresh: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(pk=None)
    assert list(Book.objects.filter(pk=None)) == []
    assert Book.objects.filter(pk=None).count() == 0
    assert Book.objects.exclude(pk=None).count() == 25
    book = Book.objects.get(pk=3)
    book.delete()
    with pytest.raises(Book.DoesNotExist):
        Book.objects.get(pk=book.pk)
    assert [e["method"] for e in fresh.requests()] == ["GET", "GET", "DELETE"]


async def test_apk_none_matches_nothing(fresh: Upstream) -> None:
    with pytest.raises(Book.DoesNotExist):
        await Book.objects.aget(pk=None)
    assert await Book.objects.filter(pk=None).aall() == []
    assert fresh.requests() == []


# -- read modes ------------------------------------------------------------------------------------


def test_drop_mode_drops_with_one_warning(upstream: Upstream) -> None:
    settings = service_settings(upstream, VERIFY="drop")
    with override_settings(API_ORM_SERVICES={"default": settings}):
        with pytest.warns(exceptions.FilterIgnoredWarning, match="dropped rows") as caught:
            found = list(NarrowBook.objects.filter(author__startswith="Ad"))
        assert {b.author for b in found} == {"Ada"} and len(found) == 5
        assert len(caught) == 1
        with pytest.raises(exceptions.FilterIgnored):  # writes are strict in every mode
            NarrowBook.objects.filter(title__startswith="Book 0").delete()
    assert remaining(upstream) == 25


def test_off_mode_trusts_reads_but_not_writes(upstream: Upstream) -> None:
    settings = service_settings(upstream, VERIFY="off")
    with override_settings(API_ORM_SERVICES={"default": settings}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(list(NarrowBook.objects.filter(author__startswith="Ad"))) == 25
        with pytest.raises(exceptions.FilterIgnored):
            NarrowBook.objects.filter(author__startswith="Ad").delete()
    assert remaining(upstream) == 25


# -- what the library cannot check: params() and trust_api() -----------------------------------


def test_a_write_that_depends_on_params_needs_trust_api(fresh: Upstream) -> None:
    query = Book.objects.params(author="Ada")
    assert "params(author='Ada')" in query.explain()
    with pytest.raises(exceptions.NotSupportedError, match=r"trust_api\(\)"):
        query.delete()
    assert writes(fresh) == []
    assert query.trust_api().delete() == (5, {"tests.Book": 5})
    assert remaining(fresh) == 20


# -- declared lookups ---------------------------------------------------------------------------


class DeclaredBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "narrow-books/"
    _filter_lookups = {"author": ["exact"], "year": ["exact"]}


def test_declared_lookups_refuse_others_before_any_request(fresh: Upstream) -> None:
    with pytest.raises(exceptions.NotSupportedError, match=r"author__startswith \(declared"):
        list(DeclaredBook.objects.filter(author__startswith="A"))
    with pytest.raises(exceptions.NotSupportedError, match="title__exact"):
        DeclaredBook.objects.filter(title="x").count()
    assert fresh.requests() == []
    assert DeclaredBook.objects.filter(author="Ada", year=1985).count() == 1


def test_field_lookups_setting_declares_per_endpoint(upstream: Upstream) -> None:
    declared = {"narrow-books/": {"author": ["exact"], "year": ["exact"]}}
    settings = service_settings(upstream, FIELD_LOOKUPS=declared)
    with override_settings(API_ORM_SERVICES={"default": settings}):
        with pytest.raises(exceptions.NotSupportedError, match="declared for 'year': exact"):
            NarrowBook.objects.filter(year__gte=1990).delete()
        assert upstream.requests() == []


def test_ne_spelling_lets_exclude_say_not_equal() -> None:
    settings = {"BASE_URL": "http://fake.test/", "LOOKUP_FORMAT": "{field}[${lookup}]"}
    rows = [
        {"id": i, "title": "t", "year": 2000, "author": "Z" if i < 4 else "A"}
        for i in (1, 2, 3, 4, 5)
    ]
    with (
        override_settings(API_ORM_SERVICES={"default": {**settings, "LOOKUP_NAMES": {"ne": "ne"}}}),
        FakeService({"books/": rows}) as fake,
    ):
        assert [b.pk for b in Book.objects.exclude(author="Z")] == [4, 5]
        assert ("author[$ne]", "Z") in fake.requests[-1].params
    with (
        override_settings(API_ORM_SERVICES={"default": settings}),
        pytest.raises(exceptions.NotSupportedError, match=r"exclude\(author__exact"),
    ):
        list(Book.objects.exclude(author="Z"))
