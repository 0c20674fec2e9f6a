"""Pagination styles: DRF page-number, limit/offset, cursor, and RFC 8288 Link headers."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import (
    BasePagination,
    CursorPagination,
    LimitOffsetPagination,
    PageNumberPagination,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .state import CONFIG


class BookPagination(PageNumberPagination):
    """``?page=&page_size=``; default size comes from the ``page_size`` knob (10)."""

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = CONFIG["page_size"]
        self.max_page_size = CONFIG["max_page_size"]
        return super().get_page_size(request)


class BookLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=&offset=`` (default limit from the ``default_limit`` knob, max 1000)."""

    max_limit = 1000

    def get_limit(self, request: Request) -> int | None:
        self.default_limit = CONFIG["default_limit"]
        return super().get_limit(request)


class BookCursorPagination(CursorPagination):
    """Opaque ``?cursor=`` links ordered by id (``?page_size=`` honoured)."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Request) -> int | None:
        self.page_size = CONFIG["cursor_page_size"]
        return super().get_page_size(request)


def _positive_int(request: Request, name: str, default: int, cap: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A valid integer is required."]}) from None
    if value < 1:
        raise ValidationError({name: ["Ensure this value is greater than or equal to 1."]})
    return min(value, cap) if cap else value


class LinkHeaderPagination(BasePagination):
    """GitHub style: bare JSON list, ``Link`` (next/prev/first/last) and ``X-Total-Count``.

    ``?page=`` is 1-based; ``?per_page=`` defaults to 10 (max 1000). Pages past the end are
    empty lists, not errors.
    """

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.per_page = _positive_int(request, "per_page", CONFIG["per_page"], cap=1000)
        self.page = _positive_int(request, "page", 1)
        self.count = queryset.count()
        start = (self.page - 1) * self.per_page
        return list(queryset[start : start + self.per_page])

    def get_paginated_response(self, data: Any) -> Response:
        url = self.request.build_absolute_uri()
        last = max(1, -(-self.count // self.per_page))
        links = []
        if self.page < last:
            links.append((replace_query_param(url, "page", self.page + 1), "next"))
        if self.page > 1:
            links.append((replace_query_param(url, "page", self.page - 1), "prev"))
        links.append((replace_query_param(url, "page", 1), "first"))
        links.append((replace_query_param(url, "page", last), "last"))
        headers = {
            "Link": ", ".join(f'<{href}>; rel="{rel}"' for href, rel in links),
            "X-Total-Count": str(self.count),
        }
        return Response(data, headers=headers)
