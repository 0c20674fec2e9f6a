"""Remote models used by the tests, against the upstream in tests/upstream/."""

from __future__ import annotations

import pydantic

from django_api_orm import APIModel, AsyncAPIModel


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
