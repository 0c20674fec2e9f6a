"""The upstream's only model."""

from django.db import models


class Book(models.Model):
    """A book; every field is filterable through the API."""

    title = models.CharField(max_length=200)
    year = models.IntegerField()
    in_stock = models.BooleanField(default=True)
    author = models.CharField(max_length=100, blank=True, default="")
    isbn = models.CharField(max_length=20, blank=True, default="", null=True)

    class Meta:
        app_label = "library"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title
