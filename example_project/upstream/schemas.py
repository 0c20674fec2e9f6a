"""What the upstream API reads and writes."""

from ninja import Field, ModelSchema, Schema

from .models import Author, Book

__all__ = ["AuthorOut", "BookIn", "BookOut"]


class BookOut(ModelSchema):
    """A book as the API shows it."""

    class Meta:
        model = Book
        fields = ["id", "title", "author", "year", "in_stock", "isbn", "writer"]


class BookIn(Schema):
    """A book as clients send it (POST and PUT: every field; PATCH: any of them)."""

    title: str = Field(min_length=1, max_length=200)
    author: str = Field(default="", max_length=100)
    year: int = Field(ge=-3000, le=3000)
    in_stock: bool = True
    isbn: str | None = Field(default=None, max_length=20)
    writer_id: int | None = Field(default=None, alias="writer")


class AuthorOut(ModelSchema):
    """An author as the API shows it."""

    class Meta:
        model = Author
        fields = ["id", "name", "born", "country"]
