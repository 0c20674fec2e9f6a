"""The demo's in-process part: django-api-orm called directly, sync and async.

The demo process sets Django up with the bookshop's settings (pointed at the running
upstream), imports ``catalog.models`` and uses ``Book.objects`` as a Django shell would.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import django
from django.core.exceptions import ObjectDoesNotExist, SynchronousOnlyOperation

from .report import Report, expect
from .stack import BOOKSHOP_DIR

if TYPE_CHECKING:
    from catalog.models import Book

__all__ = ["LibraryTour", "setup_django"]

_SETTINGS_ENV = ("DJANGO_SETTINGS_MODULE", "BOOKS_API_URL", "BOOKS_API_TOKEN", "BOOKSHOP_DB")


def setup_django(env: dict[str, str]) -> None:
    """``django.setup()`` in this process with the bookshop's settings and environment."""
    for name in _SETTINGS_ENV:
        if name in env:
            os.environ[name] = env[name]
        else:
            os.environ.pop(name, None)
    if str(BOOKSHOP_DIR) not in sys.path:
        sys.path.insert(0, str(BOOKSHOP_DIR))
    django.setup()


def _titles(books: list[Book]) -> str:
    return ", ".join(f"{b.title} ({b.year})" for b in books)


def _in_loop(make: Callable[[], Coroutine[Any, Any, str]]) -> Callable[[], str]:
    """A step that runs ``make()`` in a fresh event loop, as a script would."""
    return lambda: asyncio.run(make())


class LibraryTour:
    """The library's sync API, then its async twins, each call a step."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def run(self) -> None:
        """Both sections (Django must be set up, see :func:`setup_django`)."""
        self.sync_section()
        self.async_section()

    # -- sync -------------------------------------------------------------------------------

    def sync_section(self) -> None:
        """Querysets as in a Django shell: lazy, chainable, Django's exceptions."""
        self.report.section("6. The library in-process, sync API (as in a Django shell)")
        step = self.report.step
        step("Book.objects.filter(year__gte=1990).order_by('-year')[:3]", self._newest)
        step("Book.objects.count(), .filter(in_stock=False).count()", self._counts)
        step(
            "Book.objects.filter(author__in=[...]).values_list('title', flat=True)",
            self._values_list,
        )
        step("Book.objects.exclude(in_stock=True).filter(isbn__isnull=True)", self._exclude)
        step("Book.objects.params(search='dune').count()", self._search)
        step("Book.objects.get(pk=999999)", self._missing)
        step("create() -> save(update_fields=[...]) -> refresh_from_api() -> delete()", self._crud)
        step("Author.objects.in_bulk([1, 5, 8])", self._in_bulk)
        step("Order.objects.all()  (the local SQLite model)", self._orders)
        step(
            "Order.objects.prefetch_related('book')  (a local model's RemoteForeignKey)",
            self._orders_with_books,
        )
        step("Book.objects.filter(writer=3).select_related('writer')", self._writers)
        step("Author.objects.get(pk=5).books.count()  (the reverse accessor)", self._reverse)
        step("GET /admin/catalog/book/  (Django's admin, test client)", self._admin)

    def _newest(self) -> str:
        from catalog.models import Book

        books = Book.objects.filter(year__gte=1990).order_by("-year")[:3]
        request = books.explain()
        rows = list(books)
        expect(len(rows) == 3, f"expected 3 books, got {len(rows)}")
        return f"{request}\n{_titles(rows)}"

    def _counts(self) -> str:
        from catalog.models import Book

        total, sold_out = Book.objects.count(), Book.objects.filter(in_stock=False).count()
        expect((total, sold_out) == (41, 12), f"expected 41 and 12, got {total} and {sold_out}")
        return f"{total} books, {sold_out} sold out"

    def _values_list(self) -> str:
        from catalog.models import Book

        authors = ["Terry Pratchett", "William Gibson"]
        titles = list(
            Book.objects.filter(author__in=authors)
            .order_by("title")
            .values_list("title", flat=True)
        )
        expect(len(titles) == 10, f"expected 10 titles, got {titles}")
        return ", ".join(titles)

    def _exclude(self) -> str:
        from catalog.models import Book

        books = Book.objects.exclude(in_stock=True).filter(isbn__isnull=True)
        rows = list(books)
        expect([b.pk for b in rows] == [28], f"expected only book 28, got {rows}")
        return f"{books.explain()}\n{_titles(rows)}"

    def _search(self) -> str:
        from catalog.models import Book

        count = Book.objects.params(search="dune").count()
        expect(count == 4, f"expected 4 books matching 'dune', got {count}")
        return f"{count} (the API's own ?search= parameter, passed through)"

    def _missing(self) -> str:
        from catalog.models import Book

        try:
            Book.objects.get(pk=999999)
        except Book.DoesNotExist as error:
            expect(isinstance(error, ObjectDoesNotExist), "not an ObjectDoesNotExist")
            return f"raised Book.DoesNotExist (an ObjectDoesNotExist): {error}"
        raise AssertionError("get() of a missing book returned something")

    def _crud(self) -> str:
        from catalog.models import Book

        book = Book.objects.create(title="Ancillary Justice", author="Ann Leckie", year=2012)
        created = book.pk
        book.year = 2013
        book.save(update_fields=["year"])
        book.refresh_from_api()
        expect(book.year == 2013, f"the PATCH did not stick: {book.year}")
        count, _ = book.delete()
        expect(count == 1 and book.pk is None, "delete() did not delete")
        expect(not Book.objects.filter(pk=created).exists(), "the book is still there")
        return f"POST -> #{created}, PATCH year=2013, GET, DELETE -> pk is now {book.pk}"

    def _in_bulk(self) -> str:
        from catalog.models import Author

        authors = Author.objects.in_bulk([1, 5, 8])
        expect(sorted(authors) == [1, 5, 8], f"expected ids 1, 5, 8, got {sorted(authors)}")
        return ", ".join(f"{pk}: {a.name}" for pk, a in sorted(authors.items()))

    def _orders(self) -> str:
        from catalog.models import Order

        orders = list(Order.objects.order_by("pk").values_list("pk", "book_id"))
        expect(orders == [(1, 1), (2, 41)], f"expected orders for books 1 and 41: {orders}")
        return ", ".join(f"order #{pk} -> book {book}" for pk, book in orders)

    def _orders_with_books(self) -> str:
        from django_api_orm.testing import capture_requests

        from catalog.models import Order

        with capture_requests() as sent:
            orders = list(Order.objects.order_by("pk").prefetch_related("book"))
            titles = [order.book.title for order in orders]
        expect(len(sent.requests) == 1, f"expected 1 batched request, got {len(sent.requests)}")
        return ", ".join(titles) + f"  ({len(sent.requests)} API request for {len(orders)} orders)"

    def _writers(self) -> str:
        from django_api_orm.testing import capture_requests

        from catalog.models import Book

        with capture_requests() as sent:
            books = list(Book.objects.filter(writer=3).order_by("year").select_related("writer"))
            names = {book.writer.name for book in books}
        expect(names == {"Isaac Asimov"}, f"expected Asimov's books, got {names}")
        return f"{len(books)} books by {names.pop()}  ({len(sent.requests)} API requests)"

    def _reverse(self) -> str:
        from catalog.models import Author

        author = Author.objects.get(pk=5)
        count = author.books.count()
        expect(count == 5, f"expected 5 books by {author.name}, got {count}")
        return f"{author.name}: {count} books (GET books/?writer=5)"

    def _admin(self) -> str:
        from django.contrib.auth.models import User
        from django.test import Client
        from django_api_orm.testing import capture_requests

        user = User.objects.filter(username="demo-admin").first()
        if user is None:
            user = User.objects.create_superuser("demo-admin", "admin@example.com", None)
        client = Client(HTTP_HOST="localhost")  # one of ALLOWED_HOSTS
        client.force_login(user)
        with capture_requests() as sent:
            response = client.get("/admin/catalog/book/?o=-3")
        page = response.content.decode()
        rows = page.count('class="action-select"')
        expect(response.status_code == 200, f"expected 200, got {response.status_code}")
        expect(rows == 15, f"expected a page of 15 books, got {rows}")
        found = re.search(r"(\d+) books", page)
        expect(found is not None, "the changelist shows no total")
        total = found.group(1) if found else "?"
        return (
            f"{rows} of {total} books, newest first, in {len(sent.requests)} API requests "
            "(a count and a page)"
        )

    # -- async ------------------------------------------------------------------------------

    def async_section(self) -> None:
        """The a-twins, each step in its own ``asyncio.run`` (a new loop, a new client)."""
        self.report.section("7. The library in-process, async twins (asyncio.run)")
        step = self.report.step
        step("await Book.objects.aget(pk=12)", _in_loop(self._aget))
        step("asyncio.gather(acount(), ...)", _in_loop(self._gather_counts))
        step("[b async for b in Book.objects.filter(author=...)]", _in_loop(self._async_for))
        step("async for b in Book.objects.aiterator(chunk_size=15)", _in_loop(self._aiterator))
        step("acreate() -> filter(pk=...).aupdate() -> adelete()", _in_loop(self._async_crud))
        step(
            "await Book.objects.filter(year__gte=2015).select_related('writer').aall()",
            _in_loop(self._aselect_related),
        )
        step("Book.objects.count() inside a running loop", _in_loop(self._sync_in_loop))

    async def _aselect_related(self) -> str:
        from catalog.models import Book

        books = await Book.objects.filter(year__gte=2015).select_related("writer").aall()
        pairs = sorted({(book.title, book.writer.name) for book in books})
        expect(len(pairs) >= 3, f"expected recent books with writers, got {pairs}")
        return "; ".join(f"{title} ({name})" for title, name in pairs[:3]) + " ..."

    async def _aget(self) -> str:
        from catalog.models import Book

        book = await Book.objects.aget(pk=12)
        expect(book.title == "Foundation", f"expected Foundation, got {book.title!r}")
        return f"{book!r}: {book.title} ({book.author}, {book.year})"

    async def _gather_counts(self) -> str:
        from catalog.models import Book

        total, since_1990, sold_out = await asyncio.gather(
            Book.objects.acount(),
            Book.objects.filter(year__gte=1990).acount(),
            Book.objects.filter(in_stock=False).acount(),
        )
        expect((total, since_1990, sold_out) == (41, 17, 12), "unexpected counts")
        return f"{total} books, {since_1990} since 1990, {sold_out} sold out (3 requests at once)"

    async def _async_for(self) -> str:
        from catalog.models import Book

        books = [b async for b in Book.objects.filter(author="N. K. Jemisin").order_by("year")]
        expect(len(books) == 5, f"expected 5 books, got {len(books)}")
        return _titles(books)

    async def _aiterator(self) -> str:
        from catalog.models import Book

        years: list[int] = []
        async for book in Book.objects.order_by("year").aiterator(chunk_size=15):
            years.append(book.year)
        expect(len(years) == 41, f"expected 41 rows, got {len(years)}")
        expect(years == sorted(years), "rows out of order across pages")
        return f"{len(years)} rows in 3 pages of <= 15, years {years[0]}..{years[-1]}"

    async def _async_crud(self) -> str:
        from catalog.models import Book

        book = await Book.objects.acreate(title="Binti", author="Nnedi Okorafor", year=2015)
        created = book.pk
        updated = await Book.objects.filter(pk=book.pk).aupdate(in_stock=False)
        await book.arefresh_from_api()
        expect(updated == 1 and book.in_stock is False, "aupdate() did not stick")
        await book.adelete()
        expect(not await Book.objects.filter(title="Binti").aexists(), "still there")
        return f"POST -> #{created}, PATCH in_stock=False, GET, DELETE -> pk is now {book.pk}"

    async def _sync_in_loop(self) -> str:
        from catalog.models import Book

        try:
            Book.objects.count()
        except SynchronousOnlyOperation as error:
            expect("acount" in str(error), f"the message does not name acount(): {error}")
            # The whole message, wrapped: it ends with the advice (await ...acount()).
            return "raised SynchronousOnlyOperation:\n" + textwrap.fill(str(error), width=88)
        raise AssertionError("a blocking call inside the event loop was allowed")
