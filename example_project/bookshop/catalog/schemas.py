"""The remote API's shapes, as pydantic models: what django-api-orm validates rows against."""

from pydantic import BaseModel, Field

__all__ = ["AuthorSchema", "BookSchema"]


class BookSchema(BaseModel):
    """A row of ``/api/books/``; ``id`` is None until the API has created the book."""

    id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    author: str = ""
    year: int
    in_stock: bool = True
    isbn: str | None = None


class AuthorSchema(BaseModel):
    """A row of ``/api/authors/``."""

    id: int | None = None
    name: str
    born: int
    country: str = ""
