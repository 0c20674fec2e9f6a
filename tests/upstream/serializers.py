"""DRF serializers."""

from rest_framework import serializers

from .models import Book


class BookSerializer(serializers.ModelSerializer):
    """All fields; ``id`` is read-only, ``title`` and ``year`` are required."""

    class Meta:
        model = Book
        fields = ["id", "title", "year", "in_stock", "author", "isbn"]
