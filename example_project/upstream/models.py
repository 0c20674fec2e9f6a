"""The upstream's own tables: books and their authors."""

from django.db import models


class Author(models.Model):
    """A writer; books name their author (a flat string) and refer to it (``writer``)."""

    name = models.CharField(max_length=100, unique=True)
    born = models.IntegerField()
    country = models.CharField(max_length=60)

    def __str__(self) -> str:
        return self.name


class Book(models.Model):
    """One title of the catalogue."""

    title = models.CharField(max_length=200)
    author = models.CharField(max_length=100, blank=True, default="")
    year = models.IntegerField()
    in_stock = models.BooleanField(default=True)
    isbn = models.CharField(max_length=20, unique=True, null=True, blank=True)
    # Sent as "writer": <author pk>, a foreign key next to the flat author name.
    writer = models.ForeignKey(
        Author, null=True, blank=True, on_delete=models.SET_NULL, related_name="books"
    )

    def __str__(self) -> str:
        return self.title
