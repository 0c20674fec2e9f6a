"""Remote models (rows of the books API) next to a local Django model (orders).

``Book.objects`` behaves like a Django manager, but every query is an HTTP request to the
service ``API_ORM_SERVICES["default"]``; ``Order`` is an ordinary table in SQLite.
"""

from django.db import models
from django_api_orm import APIModel

from .schemas import AuthorSchema, BookSchema


class Book(APIModel):
    """A book of the remote catalogue (``/api/books/``)."""

    _schema_class = BookSchema
    _endpoint = "books/"


class Author(APIModel):
    """An author of the remote catalogue (``/api/authors/``)."""

    _schema_class = AuthorSchema
    _endpoint = "authors/"


class Order(models.Model):
    """A local order of a remote book: only the book's id is stored here."""

    book_id = models.PositiveIntegerField(db_index=True)
    quantity = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Order #{self.pk}: {self.quantity} x book {self.book_id}"
