"""Sync HTML views: remote books with Django's own Paginator, shortcuts and forms.

Under ASGI, Django runs these in a worker thread, where the sync API of django-api-orm is
the one to use (the async twins are for ``async def`` views, see :mod:`catalog.api`).
"""

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .forms import OrderForm
from .models import Book, Order

PER_PAGE = 10


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _get_book(book_id: int) -> Book:
    try:
        return Book.objects.get(pk=book_id)
    except Book.DoesNotExist:
        raise Http404("No such book.") from None


def book_list(request: HttpRequest) -> HttpResponse:
    """``/books/?year_gte=1990&page=2``: a remote queryset paginated like a local one."""
    books = Book.objects.order_by("-year", "title")
    year_gte = _int_or_none(request.GET.get("year_gte"))
    if year_gte is not None:
        books = books.filter(year__gte=year_gte)
    page = Paginator(books, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "catalog/book_list.html", {"page": page, "year_gte": year_gte})


def book_detail(request: HttpRequest, book_id: int) -> HttpResponse:
    """``/books/7/``: one remote book (404 if the API has none) and its author (``writer``,
    a RemoteForeignKey: fetched on first access)."""
    book = _get_book(book_id)
    context = {
        "book": book,
        "author": book.writer,
        "form": OrderForm(),
        "ordered": _int_or_none(request.GET.get("ordered")),
    }
    return render(request, "catalog/book_detail.html", context)


@require_POST
def place_order(request: HttpRequest, book_id: int) -> HttpResponse:
    """Save a local Order; its post_save receiver marks the remote book sold out."""
    book = _get_book(book_id)
    form = OrderForm(request.POST)
    if not book.in_stock or not form.is_valid():
        context = {"book": book, "author": None, "form": form, "ordered": None}
        status = 409 if not book.in_stock else 400
        return render(request, "catalog/book_detail.html", context, status=status)
    order = Order.objects.create(book=book, quantity=form.cleaned_data["quantity"])
    return redirect(f"{reverse('catalog:book-detail', args=[book.pk])}?ordered={order.pk}")
