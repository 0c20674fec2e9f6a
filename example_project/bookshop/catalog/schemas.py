"""The remote API's shapes, as pydantic models: what django-api-orm validates rows against."""

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuthorSchema", "BookSchema"]


class BookSchema(BaseModel):
    """A row of ``/api/books/``; ``id`` is None until the API has created the book."""

    model_config = ConfigDict(populate_by_name=True)
    id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    author: str = ""
    year: int
    in_stock: bool = True
    isbn: str | None = None
    writer_id: int | None = Field(default=None, alias="writer")  # the API's "writer": <pk>


class AuthorSchema(BaseModel):
    """A row of ``/api/authors/``."""

    id: int | None = None
    name: str
    born: int
    country: str = ""
