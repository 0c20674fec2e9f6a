"""A django-ninja API over the remote ``Book`` model, used by tests/test_ninja.py and mounted
at ``/ninja/`` by tests/urls.py."""

from __future__ import annotations

from typing import Any

import pydantic
from django.db.models import Q
from django.http import HttpRequest
from ninja import NinjaAPI, Schema, Status
from ninja import pagination as ninja_pagination
from ninja.pagination import paginate

from django_api_orm import APIModel
from django_api_orm.ninja import (
    LimitOffsetPagination,
    PageNumberPagination,
    register_exception_handlers,
)
from tests.models import Book, BookSchema, PrivateBook


class BookOut(Schema):
    """A ninja Schema: reads attributes, so it takes model instances as they are."""

    id: int
    title: str
    year: int
    in_stock: bool
    author: str
    isbn: str | None


class AttrBookSchema(BookSchema):
    """The plain pydantic schema, made to read attributes too."""

    model_config = pydantic.ConfigDict(from_attributes=True)


class NinjaBook(APIModel):
    """A model whose own schema is a ninja Schema: ``response=NinjaBook._meta.schema``."""

    _schema_class = BookOut
    _endpoint = "books/"


class PkTitle(pydantic.BaseModel):
    """A plain schema reading attributes: ``pk`` is a property of the model, not a field."""

    model_config = pydantic.ConfigDict(from_attributes=True)

    pk: int
    title: str


class WireSchema(pydantic.BaseModel):
    """A schema whose field names differ from the wire names (pydantic aliases)."""

    id: int | None = None
    headline: str = pydantic.Field(alias="title")
    published: int = pydantic.Field(alias="year")


class WireBook(APIModel):
    _schema_class = WireSchema
    _endpoint = "books/"


class BookWithNote(pydantic.BaseModel):
    book: BookSchema
    note: str


class BookIn(Schema):
    title: str
    year: int
    author: str = ""


api = NinjaAPI(urls_namespace="api-orm-tests")
register_exception_handlers(api)


# -- responses ----------------------------------------------------------------------------------


@api.get("/books/{book_id}", response=BookOut)
async def get_book(request: HttpRequest, book_id: int) -> Any:
    return await Book.objects.aget(pk=book_id)


@api.get("/attr-books/{book_id}", response=AttrBookSchema)
async def get_attr_book(request: HttpRequest, book_id: int) -> Any:
    return await Book.objects.aget(pk=book_id)


@api.get("/dict-books/{book_id}", response=BookSchema)
async def get_dict_book(request: HttpRequest, book_id: int) -> Any:
    return (await Book.objects.aget(pk=book_id)).to_dict()


@api.get("/own-schema/{book_id}", response=NinjaBook._meta.schema)
async def get_own_schema_book(request: HttpRequest, book_id: int) -> Any:
    return await NinjaBook.objects.aget(pk=book_id)


@api.get("/books", response=list[BookOut])
async def list_books(request: HttpRequest, since: int = 0, limit: int = 20) -> Any:
    queryset = Book.objects.filter(year__gte=since).order_by("-year")[:limit]
    return [book async for book in queryset]


@api.get("/sync/books", response=list[AttrBookSchema])
def list_books_sync(request: HttpRequest, author: str) -> Any:
    return Book.objects.filter(author=author)  # the response validation iterates it


@api.get("/sync/books/{book_id}", response=BookOut)
def get_book_sync(request: HttpRequest, book_id: int) -> Any:
    return Book.objects.get(pk=book_id)


@api.post("/books", response={201: BookOut})
async def create_book(request: HttpRequest, payload: BookIn) -> Any:
    return Status(201, await Book.objects.acreate(**payload.dict()))


# -- the model's own plain pydantic schema -------------------------------------------------------


@api.get("/plain/books/{book_id}", response=BookSchema)
async def get_plain_book(request: HttpRequest, book_id: int) -> Any:
    return await Book.objects.aget(pk=book_id)


@api.get("/sync/plain/books/{book_id}", response=BookSchema)
def get_plain_book_sync(request: HttpRequest, book_id: int) -> Any:
    return Book.objects.get(pk=book_id)


@api.get("/plain/books", response=list[BookSchema])
async def list_plain_books(request: HttpRequest, author: str) -> Any:
    return await Book.objects.filter(author=author).aall()


@api.get("/sync/plain/books", response=list[BookSchema])
def list_plain_books_sync(request: HttpRequest, author: str) -> Any:
    return Book.objects.filter(author=author)


@api.post("/plain/books", response={201: BookSchema})
async def create_plain_book(request: HttpRequest, payload: BookIn) -> Any:
    return Status(201, await Book.objects.acreate(**payload.dict()))


@api.get("/pk-title/{book_id}", response=PkTitle)
async def get_pk_title(request: HttpRequest, book_id: int) -> Any:
    return await Book.objects.aget(pk=book_id)


@api.get("/wire/books/{book_id}", response=WireSchema, by_alias=True)
async def get_wire_book(request: HttpRequest, book_id: int) -> Any:
    return await WireBook.objects.aget(pk=book_id)


@api.get("/noted/books/{book_id}", response=BookWithNote)
async def get_noted_book(request: HttpRequest, book_id: int) -> Any:
    return {"book": await Book.objects.aget(pk=book_id), "note": "nested"}


@api.get("/paged/plain/async", response=list[BookSchema])
@paginate(PageNumberPagination, page_size=5)
async def paged_plain_async(request: HttpRequest) -> Any:
    return Book.objects.filter(author="Ada")


@api.get("/paged/plain/sync", response=list[BookSchema])
@paginate(ninja_pagination.LimitOffsetPagination)
def paged_plain_sync(request: HttpRequest) -> Any:
    return Book.objects.filter(author="Ada")


# -- pagination ---------------------------------------------------------------------------------


@api.get("/paged/sync/limit-offset", response=list[BookOut])
@paginate(ninja_pagination.LimitOffsetPagination)
def paged_sync_limit_offset(request: HttpRequest) -> Any:
    return Book.objects.all()


@api.get("/paged/sync/page-number", response=list[BookOut])
@paginate(ninja_pagination.PageNumberPagination, page_size=10)
def paged_sync_page_number(request: HttpRequest, in_stock: bool | None = None) -> Any:
    return Book.objects.filter(in_stock=in_stock) if in_stock is not None else Book.objects


@api.get("/paged/async/limit-offset", response=list[BookOut])
@paginate(LimitOffsetPagination)
async def paged_async_limit_offset(request: HttpRequest) -> Any:
    return Book.objects.order_by("-year")


@api.get("/paged/async/page-number", response=list[BookOut])
@paginate(PageNumberPagination, page_size=10)
async def paged_async_page_number(request: HttpRequest, in_stock: bool | None = None) -> Any:
    return Book.objects.filter(in_stock=in_stock) if in_stock is not None else Book.objects


@api.get("/paged/async/list", response=list[BookOut])
@paginate(PageNumberPagination, page_size=10)
async def paged_async_plain_list(request: HttpRequest) -> Any:
    return [book async for book in Book.objects.filter(author="Ada")]


@api.get("/paged/async/ninja-class", response=list[BookOut])
@paginate(ninja_pagination.PageNumberPagination, page_size=10)
async def paged_async_with_ninja_class(request: HttpRequest) -> Any:
    return Book.objects.all()


# -- errors -------------------------------------------------------------------------------------


@api.get("/errors/count")
async def count_books(request: HttpRequest) -> Any:
    return {"count": await Book.objects.acount()}


@api.get("/errors/private-count")
async def count_private_books(request: HttpRequest) -> Any:
    return {"count": await PrivateBook.objects.using("private").acount()}


@api.post("/errors/too-long")
async def create_invalid_book(request: HttpRequest) -> Any:
    return (await Book.objects.acreate(title="x" * 300, year=2000)).to_dict()


@api.get("/errors/either")
async def either_year(request: HttpRequest) -> Any:
    return {"count": await Book.objects.filter(Q(year=1990) | Q(year=1991)).acount()}


@api.patch("/errors/gone/{book_id}")
async def patch_gone_book(request: HttpRequest, book_id: int) -> Any:
    book = await Book.objects.aget(pk=book_id)
    await Book.objects.filter(pk=book_id).adelete()  # someone else deletes it meanwhile
    book.title = "Gone"
    await book.asave(update_fields=["title"])
    return {"ok": True}
