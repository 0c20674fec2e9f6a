"""404 shortcuts (ours and Django's), generic views and Django's Paginator on remote models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django import shortcuts as django_shortcuts
from django.core.paginator import Paginator
from django.http import Http404
from django.test import RequestFactory, override_settings
from django.views.generic import DetailView, ListView

from django_api_orm import exceptions
from django_api_orm.shortcuts import (
    aget_list_or_404,
    aget_object_or_404,
    get_list_or_404,
    get_object_or_404,
)
from tests.models import AsyncBook, Book
from tests.upstream_fixture import Upstream

NOT_FOUND = "No Book matches the given query."


def klasses() -> list[Any]:
    return [Book, Book.objects, Book.objects.filter(author="Cy")]


# -- our shortcuts ------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["model", "manager", "queryset"])
def test_get_object_or_404(which: str, upstream: Upstream) -> None:
    klass = dict(zip(["model", "manager", "queryset"], klasses(), strict=True))[which]
    assert get_object_or_404(klass, pk=7).title == "Book 07"
    with pytest.raises(Http404, match=NOT_FOUND):
        get_object_or_404(klass, pk=99)


def test_get_object_or_404_keeps_multiple_objects_returned(upstream: Upstream) -> None:
    with pytest.raises(Book.MultipleObjectsReturned):
        get_object_or_404(Book, author="Ada")
    with pytest.raises(Http404):
        get_object_or_404(Book.objects.filter(author="Ada"), year=1980)


async def test_aget_object_or_404(upstream: Upstream) -> None:
    for klass in klasses():
        assert (await aget_object_or_404(klass, pk=12)).title == "Book 12"
        with pytest.raises(Http404, match=NOT_FOUND):
            await aget_object_or_404(klass, pk=99)
    assert (await aget_object_or_404(AsyncBook, pk=3)).pk == 3


def test_get_list_or_404(upstream: Upstream) -> None:
    assert [b.pk for b in get_list_or_404(Book, author="Cy")] == [2, 7, 12, 17, 22]
    assert [b.pk for b in get_list_or_404(Book.objects.filter(year__gt=2003))] == [24, 25]
    assert len(get_list_or_404(Book.objects)) == 25
    with pytest.raises(Http404, match=NOT_FOUND):
        get_list_or_404(Book.objects.filter(author="Cy"), year__lt=1900)


async def test_aget_list_or_404(upstream: Upstream) -> None:
    assert [b.pk for b in await aget_list_or_404(Book.objects, year__gt=2003)] == [24, 25]
    assert [b.pk for b in await aget_list_or_404(AsyncBook, year__gt=2004)] == [25]
    with pytest.raises(Http404, match=NOT_FOUND):
        await aget_list_or_404(Book, year__lt=1900)


def test_shortcuts_refuse_other_arguments() -> None:
    with pytest.raises(ValueError, match="remote model, manager or queryset, not 'str'"):
        get_object_or_404("Book", pk=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not 'dict'"):
        get_list_or_404(dict)  # type: ignore[arg-type]


def test_sync_shortcuts_name_the_async_twin_for_async_models() -> None:
    with pytest.raises(TypeError, match="await aget_object_or_404"):
        get_object_or_404(AsyncBook, pk=1)
    with pytest.raises(TypeError, match="await aget_list_or_404"):
        get_list_or_404(AsyncBook.objects)


async def test_sync_shortcut_in_async_code_names_the_twin() -> None:
    from django.core.exceptions import SynchronousOnlyOperation

    with pytest.raises(SynchronousOnlyOperation, match="aget"):
        get_object_or_404(Book, pk=1)


# -- Django's own shortcuts ---------------------------------------------------------------------


def test_djangos_shortcuts_take_the_model_class(upstream: Upstream) -> None:
    for klass in klasses():
        assert django_shortcuts.get_object_or_404(klass, pk=7).pk == 7
        with pytest.raises(Http404, match=NOT_FOUND):
            django_shortcuts.get_object_or_404(klass, pk=99)
    assert [b.pk for b in django_shortcuts.get_list_or_404(Book, year__gt=2003)] == [24, 25]
    with pytest.raises(Http404):
        django_shortcuts.get_list_or_404(Book.objects, year__lt=1900)


async def test_djangos_async_shortcuts(upstream: Upstream) -> None:
    assert (await django_shortcuts.aget_object_or_404(Book, pk=7)).pk == 7
    with pytest.raises(Http404, match=NOT_FOUND):
        await django_shortcuts.aget_object_or_404(Book.objects, pk=99)
    books = await django_shortcuts.aget_list_or_404(Book, year__gt=2003)
    assert [b.pk for b in books] == [24, 25]


# -- generic views ------------------------------------------------------------------------------

TEMPLATES = {
    "books/list.html": (
        "{% for book in book_list %}{{ book.pk }}:{{ book.title }};{% endfor %}"
        "|{{ page_obj.number }}/{{ paginator.num_pages }}|{{ is_paginated }}"
    ),
    "books/detail.html": "{{ book.title }} ({{ object.year }}){{ book.delete }}",
}


@pytest.fixture
def templates() -> Iterator[None]:
    loader = ("django.template.loaders.locmem.Loader", TEMPLATES)
    backend = "django.template.backends.django.DjangoTemplates"
    with override_settings(TEMPLATES=[{"BACKEND": backend, "OPTIONS": {"loaders": [loader]}}]):
        yield


class BookList(ListView):  # type: ignore[type-arg]
    model = Book  # type: ignore[assignment]
    paginate_by = 10
    template_name = "books/list.html"


class InStockList(BookList):
    queryset = Book.objects.filter(in_stock=True)  # type: ignore[assignment]
    ordering = ["-year"]


class BookDetail(DetailView):  # type: ignore[type-arg]
    model = Book  # type: ignore[assignment]
    template_name = "books/detail.html"
    context_object_name = "book"


def render(view: Any, path: str = "/", **kwargs: Any) -> str:
    response = view.as_view()(RequestFactory().get(path), **kwargs)
    response.render()
    return str(response.content.decode())


@pytest.mark.usefixtures("templates")
def test_list_view_paginates_with_one_count_and_one_page(upstream: Upstream) -> None:
    html = render(BookList, "/?page=2")
    assert html == "".join(f"{i}:Book {i:02d};" for i in range(11, 21)) + "|2/3|True"
    assert [r["query"] for r in upstream.requests()] == [
        "page=1&page_size=1",
        "page=2&page_size=10",
    ]


@pytest.mark.usefixtures("templates")
def test_list_view_with_queryset_and_ordering(upstream: Upstream) -> None:
    html = render(InStockList, "/?page=last")
    assert html == "4:Book 04;2:Book 02;|2/2|True"
    assert len(upstream.requests()) == 2
    with pytest.raises(Http404):
        render(InStockList, "/?page=3")


@pytest.mark.usefixtures("templates")
def test_detail_view_fetches_one_object(upstream: Upstream) -> None:
    assert render(BookDetail, pk=7) == "Book 07 (1987)"  # {{ book.delete }} is not called
    [request] = upstream.requests()
    assert (request["method"], request["path"]) == ("GET", "/api/books/7/")
    with pytest.raises(Http404, match="No book found matching the query"):
        render(BookDetail, pk=99)


# -- Paginator ----------------------------------------------------------------------------------


def test_paginator_costs_one_count_and_one_page_request(upstream: Upstream) -> None:
    paginator = Paginator(Book.objects.order_by("-year"), 10)
    page = paginator.page(2)
    assert [b.pk for b in page] == list(range(15, 5, -1))
    assert (paginator.count, paginator.num_pages, page.has_next()) == (25, 3, True)
    assert len(upstream.requests()) == 2
    assert [b.pk for b in paginator.page(3)] == [5, 4, 3, 2, 1]
    assert len(upstream.requests()) == 3  # the count is remembered
    last = paginator.get_page(99)
    assert (last.number, len(last)) == (3, 5)
    assert len(upstream.requests()) == 4


def test_paginator_with_orphans_and_empty_results(upstream: Upstream) -> None:
    paginator = Paginator(Book.objects.all(), 10, orphans=5)
    assert [len(paginator.page(n)) for n in paginator.page_range] == [10, 15]
    assert len(Paginator(Book.objects.filter(year__lt=1900), 10).page(1)) == 0


def test_page_errors_stay_djangos(upstream: Upstream) -> None:
    from django.core.paginator import EmptyPage

    with pytest.raises(EmptyPage):
        Paginator(Book.objects.all(), 10).page(4)
    assert not issubclass(EmptyPage, exceptions.APIError)
