"""The bookshop's JSON API: async django-ninja routes over the remote catalogue.

Each route awaits the ``a``-twins of django-api-orm (``aget``, ``acreate``, ``acount``,
``async for``), so no worker thread is tied up while the books service answers.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django_api_orm import exceptions
from ninja import NinjaAPI, Query, Status
from pydantic import BaseModel, ConfigDict, Field, create_model

from .models import Book, Order
from .schemas import BookSchema

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Bookshop API",
    description="Async routes over a remote catalogue, via django-api-orm.",
    urls_namespace="bookshop-api",
)


# -- schemas, built from the remote model's pydantic schema ------------------------------------


class BookOut(BookSchema):
    """A book as this API returns it: read straight off ``Book`` instances."""

    model_config = ConfigDict(from_attributes=True)

    id: int


# Every field of BookSchema but ``id``, with its type, default and constraints.
_book_fields: dict[str, Any] = {
    name: (field.annotation, field)
    for name, field in BookSchema.model_fields.items()
    if name != "id"
}
BookIn = create_model("BookIn", **_book_fields)


class Message(BaseModel):
    """An error message."""

    detail: str


class Stats(BaseModel):
    """Catalogue totals."""

    books: int
    in_stock: int
    sold_out: int


class OrderIn(BaseModel):
    """An order for one book."""

    book_id: int
    quantity: int = Field(default=1, ge=1, le=5)


class OrderOut(BaseModel):
    """A placed order, with the book as the books service now has it."""

    id: int
    quantity: int
    created: datetime
    book: BookOut


# -- errors of the books service ------------------------------------------------------------


@api.exception_handler(exceptions.ValidationError)
def rejected(request: HttpRequest, exc: exceptions.ValidationError) -> HttpResponse:
    """The books service refused the data: pass its field errors on as a 400."""
    body = {"detail": "The books service rejected the data.", "errors": exc.field_errors}
    return api.create_response(request, body, status=400)


@api.exception_handler(exceptions.APIError)
def unavailable(request: HttpRequest, exc: exceptions.APIError) -> HttpResponse:
    """Any other failure of the books service is a 502, logged with the details."""
    logger.warning("books service failed: %s", exc)
    body = {"detail": f"The books service failed ({type(exc).__name__})."}
    return api.create_response(request, body, status=502)


# -- routes ------------------------------------------------------------------------------------


@api.get("/books", response=list[BookOut])
async def list_books(
    request: HttpRequest,
    year_gte: int | None = None,
    in_stock: bool | None = None,
    limit: int = Query(20, ge=1, le=100),
) -> list[Book]:
    """Newest first; ``?year_gte=1990&in_stock=true&limit=5``."""
    books = Book.objects.order_by("-year", "title")
    if year_gte is not None:
        books = books.filter(year__gte=year_gte)
    if in_stock is not None:
        books = books.filter(in_stock=in_stock)
    return [book async for book in books[:limit]]


@api.get("/books/{int:book_id}", response={200: BookOut, 404: Message})
async def get_book(request: HttpRequest, book_id: int) -> Book | Status[Message]:
    """One book: ``GET books/<id>/`` on the books service."""
    try:
        return await Book.objects.aget(pk=book_id)
    except Book.DoesNotExist:
        return Status(404, Message(detail=f"Book {book_id} not found."))


@api.post("/books", response={201: BookOut})
async def create_book(request: HttpRequest, payload: BookIn) -> Status[Book]:
    """Create a book on the books service (400 with its field errors if it refuses)."""
    return Status(201, await Book.objects.acreate(**payload.model_dump()))


@api.get("/stats", response=Stats)
async def stats(request: HttpRequest) -> Stats:
    """Two counts, requested concurrently."""
    total, in_stock = await asyncio.gather(
        Book.objects.acount(), Book.objects.filter(in_stock=True).acount()
    )
    return Stats(books=total, in_stock=in_stock, sold_out=total - in_stock)


@api.post("/orders", response={201: OrderOut, 404: Message, 409: Message})
async def place_order(request: HttpRequest, payload: OrderIn) -> Status[OrderOut | Message]:
    """Save a local Order (its sync post_save receiver marks the remote book sold out)."""
    try:
        book = await Book.objects.aget(pk=payload.book_id)
    except Book.DoesNotExist:
        return Status(404, Message(detail=f"Book {payload.book_id} not found."))
    if not book.in_stock:
        return Status(409, Message(detail=f"{book.title!r} is sold out."))
    order = await Order.objects.acreate(book_id=book.pk, quantity=payload.quantity)
    await book.arefresh_from_api()
    out = OrderOut(
        id=order.pk,
        quantity=order.quantity,
        created=order.created,
        book=BookOut.model_validate(book),
    )
    return Status(201, out)
