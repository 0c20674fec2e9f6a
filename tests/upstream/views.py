"""DRF viewsets over ``Book`` plus a plain-Django catch-all for hostile primary keys."""

import json
from typing import Any
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django_filters import rest_framework as filters
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from .auth import authorization_ok
from .models import Author, Book, Review
from .pagination import (
    BookCursorPagination,
    BookLimitOffsetPagination,
    BookPagination,
    LinkHeaderPagination,
)
from .serializers import AuthorSerializer, BookSerializer, ReviewSerializer

NUMBER_LOOKUPS = ["exact", "in", "gt", "gte", "lt", "lte", "range"]
TEXT_LOOKUPS = [
    "exact",
    "iexact",
    "in",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
]
BOOK_FILTERS = {
    "id": NUMBER_LOOKUPS,
    "title": TEXT_LOOKUPS,
    "year": NUMBER_LOOKUPS,
    "in_stock": ["exact"],
    "author": TEXT_LOOKUPS,
    "isbn": [*TEXT_LOOKUPS, "isnull"],
    "writer": ["exact", "in", "isnull"],
}


class BookFilterSet(filters.FilterSet):
    """Exactly what ``filterset_fields = BOOK_FILTERS`` would generate, built once.

    Only filters named in the query string are copied per request: django-filter would
    otherwise deep-copy ~50 filters and build a ~50-field form each time (~5 ms), and an
    absent parameter never filters or validates anyway.
    """

    class Meta:
        model = Book
        fields = BOOK_FILTERS

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None:
            self.base_filters = {k: v for k, v in self.base_filters.items() if k in data}
        super().__init__(data, *args, **kwargs)


class BookViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """``/api/books/``: full CRUD, page-number pagination, filters and ordering."""

    queryset = Book.objects.all()
    serializer_class = BookSerializer
    pagination_class = BookPagination
    filterset_class = BookFilterSet
    ordering_fields = "__all__"
    ordering = ["id"]


class AuthorViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """``/api/authors/``: the writers of the books."""

    queryset = Author.objects.all()
    serializer_class = AuthorSerializer
    pagination_class = BookPagination
    filterset_fields = {"id": NUMBER_LOOKUPS, "name": TEXT_LOOKUPS}
    ordering_fields = "__all__"
    ordering = ["id"]


class ReviewViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """``/api/reviews/``: reviews with a foreign key to books (``?book=3``,
    ``?book__in=1,2``; ``?expand=book`` nests the book)."""

    queryset = Review.objects.select_related("book")
    serializer_class = ReviewSerializer
    pagination_class = BookPagination
    filterset_fields = {
        "id": NUMBER_LOOKUPS,
        "book": ["exact", "in"],
        "book__title": ["exact", "icontains"],
        "stars": NUMBER_LOOKUPS,
    }
    ordering_fields = "__all__"
    ordering = ["id"]


class NarrowBookViewSet(BookViewSet):
    """``/api/narrow-books/``: declares only ``author`` and ``year`` exact filters, so
    django-filter silently ignores every other lookup (as real APIs do)."""

    filterset_class = None  # type: ignore[assignment]
    filterset_fields = {"author": ["exact"], "year": ["exact"]}


class PrivateBookViewSet(BookViewSet):
    """``/api/private/books/``: same as books but requires ``Bearer test-token``."""

    permission_classes = [IsAuthenticated]


class PlainBookViewSet(BookViewSet):
    """``/api/plain-books/``: no pagination, the list is a bare JSON array."""

    pagination_class = None


class LimitOffsetBookViewSet(BookViewSet):
    """``/api/lo-books/``: ``?limit=&offset=`` pagination."""

    pagination_class = BookLimitOffsetPagination


class CursorBookViewSet(BookViewSet):
    """``/api/cursor-books/``: opaque cursor pagination."""

    pagination_class = BookCursorPagination


class HeaderBookViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """``/api/header-books/``: read-only, bare array + ``Link`` / ``X-Total-Count`` headers."""

    queryset = Book.objects.all()
    serializer_class = BookSerializer
    pagination_class = LinkHeaderPagination
    filterset_class = BookFilterSet
    ordering_fields = "__all__"
    ordering = ["id"]


TAGS_PREFIX = "/api/tags/"


def tag_echo(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Echo what arrived on the wire for any path under ``/api/tags/`` (any method).

    ``id`` is the percent-decoded remainder of the raw path (one trailing slash removed), so a
    client that encodes ``a/b`` as ``a%2Fb`` gets ``{"id": "a/b", "raw_path": "/api/tags/a%2Fb/"}``.
    """
    if not authorization_ok(request.META.get("HTTP_AUTHORIZATION")):
        return JsonResponse({"detail": "Invalid token."}, status=401)
    scope: dict[str, Any] = getattr(request, "scope", {})
    raw_path = scope.get("raw_path", request.path.encode()).decode("latin-1")
    segment = raw_path[len(TAGS_PREFIX) :] if raw_path.startswith(TAGS_PREFIX) else rest
    segment = segment.removesuffix("/")
    body = request.body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body
    return JsonResponse(
        {
            "id": unquote(segment),
            "raw_path": raw_path,
            "path": request.path,
            "method": request.method,
            "body": parsed,
        }
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON 404 for URLs no route matches."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """JSON 500."""
    return JsonResponse({"detail": "A server error occurred."}, status=500)
