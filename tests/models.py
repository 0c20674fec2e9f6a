"""Remote models used by the tests, against the upstream in tests/upstream/."""

from __future__ import annotations

import pydantic

from django_api_orm import APIModel, AsyncAPIModel, RemoteForeignKey


class BookSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    year: int
    in_stock: bool = True
    author: str = ""
    isbn: str | None = None


class Book(APIModel):
    _schema_class = BookSchema
    _endpoint = "books/"


class PlainBook(APIModel):
    """The same rows from an unpaginated endpoint (a bare JSON list)."""

    _schema_class = BookSchema
    _endpoint = "plain-books/"


class NarrowBook(APIModel):
    """The same rows from an endpoint that filters only ``author`` and ``year`` (exact) and
    silently ignores any other lookup, as django-filter does for undeclared ones."""

    _schema_class = BookSchema
    _endpoint = "narrow-books/"


class PrivateBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "private/books/"


class AsyncBook(AsyncAPIModel):
    _schema_class = BookSchema
    _endpoint = "books/"


class TagSchema(pydantic.BaseModel):
    id: str
    raw_path: str = ""


class Tag(APIModel):
    """A catch-all upstream route that echoes the path it received."""

    _schema_class = TagSchema
    _endpoint = "tags/"


# -- relations: authors, books with a writer, reviews of books ----------------------------------


class AuthorSchema(pydantic.BaseModel):
    id: int | None = None
    name: str


class Author(APIModel):
    """``/api/authors/``: the writers."""

    _schema_class = AuthorSchema
    _endpoint = "authors/"


class NovelSchema(BookSchema):
    model_config = pydantic.ConfigDict(populate_by_name=True)
    writer_id: int | None = pydantic.Field(default=None, alias="writer")


class Novel(APIModel):
    """The rows of ``/api/books/`` with their writer (a foreign key the API sends as
    ``"writer": <author pk>``)."""

    _schema_class = NovelSchema
    _endpoint = "books/"
    writer = RemoteForeignKey(Author, related_name="novels", null=True)


class ReviewSchema(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(populate_by_name=True)
    id: int | None = None
    book_id: int = pydantic.Field(alias="book")
    stars: int
    text: str = ""


class Review(APIModel):
    """``/api/reviews/``: a review of a book (``"book": <book pk>``)."""

    _schema_class = ReviewSchema
    _endpoint = "reviews/"
    book = RemoteForeignKey(Novel, related_name="reviews")
