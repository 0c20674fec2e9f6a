"""Remote models (rows of the books API) next to a local Django model (orders).

``Book.objects`` behaves like a Django manager, but every query is an HTTP request to the
service ``API_ORM_SERVICES["default"]``; ``Order`` is an ordinary table in SQLite whose
``book`` is a key to a remote book.
"""

from django.db import models
from django_api_orm import APIModel, RemoteForeignKey

from .schemas import AuthorSchema, BookSchema


class Author(APIModel):
    """An author of the remote catalogue (``/api/authors/``)."""

    _schema_class = AuthorSchema
    _endpoint = "authors/"


class Book(APIModel):
    """A book of the remote catalogue (``/api/books/``); ``book.writer`` is its Author,
    ``author.books`` the author's books."""

    _schema_class = BookSchema
    _endpoint = "books/"
    writer = RemoteForeignKey(Author, related_name="books", null=True)


class Order(models.Model):
    """A local order of a remote book: the column ``book_id`` holds the book's pk."""

    book = RemoteForeignKey(Book, related_name="orders")
    quantity = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Order #{self.pk}: {self.quantity} x book {self.book_id}"
