"""DRF serializers."""

from typing import Any

from rest_framework import serializers

from .models import Author, Book, Review


class BookSerializer(serializers.ModelSerializer):
    """All fields; ``id`` is read-only, ``title`` and ``year`` are required."""

    class Meta:
        model = Book
        fields = ["id", "title", "year", "in_stock", "author", "isbn", "writer"]


class AuthorSerializer(serializers.ModelSerializer):
    """``{"id": 1, "name": "Ada"}``."""

    class Meta:
        model = Author
        fields = ["id", "name"]


class ReviewSerializer(serializers.ModelSerializer):
    """``book`` is the book's pk; ``?expand=book`` nests the whole book instead, as
    drf-flex-fields does."""

    class Meta:
        model = Review
        fields = ["id", "book", "stars", "text"]

    def to_representation(self, instance: Review) -> Any:
        data = super().to_representation(instance)
        request = self.context.get("request")
        expand = request.query_params.get("expand", "") if request is not None else ""
        if "book" in expand.split(","):
            data["book"] = BookSerializer(instance.book).data
        return data
