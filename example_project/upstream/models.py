"""The upstream's own tables: books and their authors."""

from django.db import models


class Author(models.Model):
    """A writer; books refer to authors by name, as a flat API often does."""

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

    def __str__(self) -> str:
        return self.title
