"""Managers and querysets the Django way: declared managers are honoured, get_queryset()
narrows every use, from_queryset()/as_manager() bring custom queryset methods, both colours."""

from __future__ import annotations

from typing import Any

from django_api_orm import APIModel, Manager, QuerySet
from tests.models import BookSchema
from tests.upstream_fixture import Upstream


class BookQuerySet(QuerySet[Any]):
    def by_ada(self) -> BookQuerySet:
        return self.filter(author="Ada")

    def recent(self) -> BookQuerySet:
        return self.filter(year__gte=2000)


class InStockManager(Manager[Any]):
    def get_queryset(self) -> QuerySet[Any]:
        return super().get_queryset().filter(in_stock=True)


class ShelfBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "books/"
    objects = BookQuerySet.as_manager()
    available = InStockManager()


class FromQuerySetBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "books/"
    books = Manager.from_queryset(BookQuerySet)()


def test_custom_queryset_methods_chain_from_the_manager(upstream: Upstream) -> None:
    ada = ShelfBook.objects.by_ada()
    assert isinstance(ada, BookQuerySet)
    assert ada.count() == 5
    assert ShelfBook.objects.filter(year__lt=2000).by_ada().count() == 3
    assert ShelfBook.objects.by_ada().recent().count() == 2
    assert [b.author for b in ShelfBook.objects.by_ada()[:2]] == ["Ada", "Ada"]


async def test_custom_methods_in_async_code(upstream: Upstream) -> None:
    assert await ShelfBook.objects.by_ada().acount() == 5
    assert [b.pk async for b in ShelfBook.objects.by_ada().recent()] == [20, 25]


def test_get_queryset_narrows_every_use(upstream: Upstream) -> None:
    total = ShelfBook.objects.count()
    in_stock = ShelfBook.available.count()
    assert 0 < in_stock < total
    assert all(b.in_stock for b in ShelfBook.available.all())
    assert ShelfBook.available.filter(author="Ada").count() <= 5
    first = ShelfBook.available.first()
    assert first is not None and first.in_stock


def test_declared_managers_and_default_manager(upstream: Upstream) -> None:
    assert not hasattr(FromQuerySetBook, "objects")  # a declared manager replaces objects
    assert FromQuerySetBook._default_manager is FromQuerySetBook.books
    assert FromQuerySetBook.books.by_ada().count() == 5
    assert ShelfBook._default_manager is ShelfBook.objects  # the first one declared
    assert type(ShelfBook._base_manager) is Manager
    assert ShelfBook._base_manager.count() == 25


def test_each_model_binds_its_own_copy() -> None:
    class Other(APIModel):
        _schema_class = BookSchema
        _endpoint = "books/"
        objects = BookQuerySet.as_manager()

    assert Other.objects.model is Other and ShelfBook.objects.model is ShelfBook
    assert repr(Other.objects).endswith("for Other>")


def test_a_manager_named_like_a_field_is_refused() -> None:
    import pytest
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="in_stock"):

        class Clash(APIModel):
            _schema_class = BookSchema
            _endpoint = "books/"
            in_stock = InStockManager()
