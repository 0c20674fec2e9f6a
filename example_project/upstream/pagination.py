"""PageNumberPagination as Django REST framework does it: ``{count, next, previous, results}``."""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.paginator import InvalidPage, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja.errors import HttpError

__all__ = ["paginate"]


def _page_size(request: HttpRequest) -> int:
    """``page_size`` from the query, capped at MAX_PAGE_SIZE; anything invalid → default."""
    try:
        size = int(request.GET.get("page_size", ""))
    except ValueError:
        return int(settings.PAGE_SIZE)
    return min(size, int(settings.MAX_PAGE_SIZE)) if size > 0 else int(settings.PAGE_SIZE)


def _page_url(request: HttpRequest, number: int) -> str:
    """The absolute URL of page ``number`` with every other parameter kept (page 1: none)."""
    query = request.GET.copy()
    if number == 1:
        query.pop("page", None)
    else:
        query["page"] = str(number)
    encoded = query.urlencode()
    return request.build_absolute_uri(request.path) + (f"?{encoded}" if encoded else "")


def paginate(
    request: HttpRequest, queryset: QuerySet[Any], serialize: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of ``queryset`` in the DRF envelope; a page past the end is a 404."""
    paginator = Paginator(queryset, _page_size(request))
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        raise HttpError(404, "Invalid page.") from None
    return {
        "count": paginator.count,
        "next": _page_url(request, page.next_page_number()) if page.has_next() else None,
        "previous": (
            _page_url(request, page.previous_page_number()) if page.has_previous() else None
        ),
        "results": [serialize(item) for item in page.object_list],
    }
