"""``/api/books/``: list, create, retrieve, replace, patch and delete books."""

from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import PatchDict, Router, Status

from .errors import FieldErrors
from .listing import Listing
from .models import Book
from .schemas import BookIn, BookOut

__all__ = ["router"]

router = Router(tags=["books"])

BOOKS = Listing(
    model=Book,
    filter_fields=["id", "title", "author", "year", "in_stock", "isbn", "writer"],
    ordering_fields=["id", "title", "author", "year"],
    search_fields=["title", "author"],
)


def _serialize(book: Book) -> dict[str, Any]:
    return BookOut.model_validate(book).model_dump()


def _check_isbn(isbn: str | None, book_id: int | None = None) -> None:
    """ISBNs are unique: a clash is a 400 on the ``isbn`` field, as DRF words it."""
    if isbn and Book.objects.filter(isbn=isbn).exclude(pk=book_id).exists():
        raise FieldErrors({"isbn": ["book with this isbn already exists."]})


@router.get("/")
def list_books(request: HttpRequest) -> dict[str, Any]:
    """Filter with ``field__lookup=value``, order with ``ordering=-year,title``, paginate."""
    return BOOKS.page(request, _serialize)


@router.post("/", response={201: BookOut})
def create_book(request: HttpRequest, payload: BookIn) -> Status[Book]:
    """Create a book; 400 with field errors when invalid."""
    _check_isbn(payload.isbn)
    return Status(201, Book.objects.create(**payload.model_dump()))


@router.get("/{int:book_id}/", response=BookOut)
def get_book(request: HttpRequest, book_id: int) -> Book:
    """One book, or 404 ``{"detail": "Not found."}``."""
    return get_object_or_404(Book, pk=book_id)


@router.put("/{int:book_id}/", response=BookOut)
def replace_book(request: HttpRequest, book_id: int, payload: BookIn) -> Book:
    """Replace every field of a book."""
    book = get_object_or_404(Book, pk=book_id)
    _check_isbn(payload.isbn, book_id)
    for name, value in payload.model_dump().items():
        setattr(book, name, value)
    book.save()
    return book


@router.patch("/{int:book_id}/", response=BookOut)
def update_book(request: HttpRequest, book_id: int, payload: PatchDict[BookIn]) -> Book:
    """Change only the fields sent."""
    book = get_object_or_404(Book, pk=book_id)
    if "isbn" in payload:
        _check_isbn(payload["isbn"], book_id)
    for name, value in payload.items():
        setattr(book, name, value)
    book.save(update_fields=list(payload) or None)
    return book


@router.delete("/{int:book_id}/", response={204: None})
def delete_book(request: HttpRequest, book_id: int) -> Status[None]:
    """Delete a book: 204 and no body."""
    get_object_or_404(Book, pk=book_id).delete()
    return Status(204, None)
