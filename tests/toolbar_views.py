"""Pages for tests/test_debug_toolbar.py: each makes remote calls and returns HTML."""

from __future__ import annotations

import asyncio
import contextlib

from django.http import HttpRequest, HttpResponse

from tests.models import Book

PAGE = "<html><body>{}</body></html>"


def show_toolbar(request: HttpRequest) -> bool:
    """The toolbar shows where a test asks for it (DEBUG is False under tests)."""
    return "djdt" in request.GET


def sync_page(request: HttpRequest) -> HttpResponse:
    book = Book.objects.get(pk=7)
    count = Book.objects.filter(author="Ada").count()
    with contextlib.suppress(Book.DoesNotExist):
        Book.objects.get(pk=999)
    return HttpResponse(PAGE.format(f"{book.title}, {count}"))


async def async_page(request: HttpRequest) -> HttpResponse:
    delay = float(request.GET.get("delay", 0))
    author = request.GET.get("author", "Ada")
    books = [book async for book in Book.objects.filter(author=author)[:3]]
    await asyncio.sleep(delay)  # lets the concurrent page run in between
    count = await Book.objects.filter(author=author).acount()
    return HttpResponse(PAGE.format(f"{len(books)} of {count}"))


async def quiet_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("no requests"))


def down_page(request: HttpRequest) -> HttpResponse:
    try:
        Book.objects.params(api_key="s3cret").count()
    except Exception as error:  # the upstream is down: the page says so
        return HttpResponse(PAGE.format(type(error).__name__))
    return HttpResponse(PAGE.format("up"))


def refused_page(request: HttpRequest) -> HttpResponse:
    """narrow-books ignores title lookups: the delete is refused, then the lookup too."""
    from django_api_orm import exceptions
    from tests.models import NarrowBook

    with contextlib.suppress(exceptions.FilterIgnored):
        NarrowBook.objects.filter(title__startswith="Orw").delete()
    with contextlib.suppress(exceptions.NotSupportedError):
        NarrowBook.objects.filter(title__startswith="Orw").count()
    return HttpResponse(PAGE.format("refused"))
