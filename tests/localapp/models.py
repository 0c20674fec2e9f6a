"""Local (database) models; no migrations: pytest-django creates their tables with syncdb."""

from typing import Literal

import pydantic
from django.db import models

from django_api_orm import APIModel, RemoteForeignKey
from tests.models import BookSchema, Novel


class Note(models.Model):
    """A note that, once saved, is mirrored as a remote Book by the tests' receivers."""

    title = models.CharField(max_length=100)
    year = models.IntegerField(default=2000)

    def __str__(self) -> str:
        return self.title


class Order(models.Model):
    """A local order of a remote book: the column ``book_id`` holds the book's pk."""

    book = RemoteForeignKey(Novel, related_name="orders")
    quantity = models.IntegerField(default=1)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x book {self.book_id}"


class Book(APIModel):
    """The upstream's books as this app's remote model (its admin: tests/localapp/admin.py)."""

    _schema_class = BookSchema
    _endpoint = "books/"

    def __str__(self) -> str:
        return str(self.title)


class RatingSchema(pydantic.BaseModel):
    id: int | None = None
    book: int
    stars: Literal[1, 2, 3, 4, 5]
    text: str = ""


class Rating(APIModel):
    """The upstream's reviews, their stars a choice (a select, a choices list filter)."""

    _schema_class = RatingSchema
    _endpoint = "reviews/"

    def __str__(self) -> str:
        return f"{self.stars} stars for book {self.book}"


class LaxBook(APIModel):
    """The upstream's books from ``narrow-books/``, which ignores most filters."""

    _schema_class = BookSchema
    _endpoint = "narrow-books/"

    def __str__(self) -> str:
        return str(self.title)
