"""The upstream's models: books, their authors (writers) and reviews of books."""

from django.db import models


class Author(models.Model):
    """A writer of books."""

    name = models.CharField(max_length=100)

    class Meta:
        app_label = "library"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    """A book; every field is filterable through the API."""

    title = models.CharField(max_length=200)
    year = models.IntegerField()
    in_stock = models.BooleanField(default=True)
    author = models.CharField(max_length=100, blank=True, default="")
    isbn = models.CharField(max_length=20, blank=True, default="", null=True)
    # Sent as "writer": <author pk> (a foreign key, next to the flat author name).
    writer = models.ForeignKey(Author, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        app_label = "library"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Review(models.Model):
    """A review of a book, sent as ``{"book": <book pk>, "stars": 4, "text": ...}``."""

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    stars = models.IntegerField()
    text = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        app_label = "library"
        ordering = ["id"]
