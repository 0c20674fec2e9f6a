"""django-ninja integration (``pip install "django-api-orm[ninja]"``).

::

    from django_api_orm.ninja import PageNumberPagination, register_exception_handlers

    api = NinjaAPI()
    register_exception_handlers(api)   # DoesNotExist → 404, upstream outage → 503...

    @api.get("/books", response=list[BookOut])
    @paginate(PageNumberPagination)     # one count request + one page request
    async def books(request):
        return Book.objects.filter(in_stock=True)

Sync routes can use ninja's own pagination classes; async routes need the ones here, because
ninja's async paginators only ``async for`` over Django querysets and iterate anything else
synchronously (which a remote queryset refuses inside the event loop). Setting
``NINJA_PAGINATION_CLASS = "django_api_orm.ninja.LimitOffsetPagination"`` makes a bare
``@paginate`` use them.

Routes return model instances as they are, whatever the response schema: the model's own
plain pydantic schema (``response=BookSchema``), a ``ninja.Schema``, ``list[...]`` of either,
or a paginated response. A model instance is a read-only mapping of its fields, which pydantic
validates into any schema; sync routes may also return a remote queryset (async routes
evaluate it first: ``await queryset.aall()``, as Django querysets need there too).
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

try:
    from ninja import NinjaAPI
    from ninja import errors as ninja_errors
    from ninja import pagination as ninja_pagination
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "django_api_orm.ninja needs django-ninja: pip install 'django-api-orm[ninja]'"
    ) from error

from django.http import HttpRequest, HttpResponse

from . import exceptions
from .queryset import QuerySet

__all__ = [
    "LimitOffsetPagination",
    "PageNumberPagination",
    "register_exception_handlers",
    "upstream_errors",
]

logger = logging.getLogger("django_api_orm")

_UNAVAILABLE = "The upstream service is unavailable; try again later."
_UPSTREAM_INVALID = "upstream_invalid"


# -- exception handlers -----------------------------------------------------------------------


def register_exception_handlers(api: NinjaAPI) -> None:
    """Answer the library's errors with proper HTTP statuses instead of 500s.

    - ``DoesNotExist`` (any ``Model.DoesNotExist``) and upstream 404s: 404 ``{"detail":
      "Not found."}``;
    - ``ValidationError`` (the upstream rejected the data): 422 in ninja's own shape,
      ``{"detail": [{"type": "upstream_invalid", "loc": ["upstream", field], "msg": ...}]}``
      (through the API's handler of ``ninja.errors.ValidationError``, so a custom one
      shapes both kinds of 422 alike);
    - ``NotSupportedError`` (the API cannot express the query): 400 ``{"detail": message}``;
    - ``AuthenticationError``/``PermissionDenied`` (our credentials) and ``ResponseError``
      (an unreadable answer): 502;
    - ``RequestError`` (no answer), ``ServerError`` and ``RateLimited``: 503, with
      ``Retry-After`` when the upstream gave one; ``APITimeoutError``: 504.

    5xx answers never repeat the upstream's message, URL or credentials; they are logged
    (``django_api_orm`` logger, WARNING) for the operator.
    """

    def respond(
        request: HttpRequest, status: int, data: dict[str, Any], exc: Exception
    ) -> HttpResponse:
        response = api.create_response(request, data, status=status)
        retry_after = getattr(exc, "retry_after", None)
        if status >= 500:
            logger.warning("%s %s failed upstream: %r", request.method, request.path, exc)
            if retry_after is not None and status in (503, 504):
                response["Retry-After"] = str(max(0, math.ceil(retry_after)))
        return response

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 404, {"detail": "Not found."}, exc)

    def invalid(request: HttpRequest, exc: exceptions.ValidationError) -> HttpResponse:
        return api.on_exception(request, ninja_errors.ValidationError(upstream_errors(exc)))

    def unsupported(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 400, {"detail": str(exc)}, exc)

    def credentials(request: HttpRequest, exc: Exception) -> HttpResponse:
        detail = "The upstream service refused this application's credentials."
        return respond(request, 502, {"detail": detail}, exc)

    def bad_gateway(request: HttpRequest, exc: Exception) -> HttpResponse:
        detail = "The upstream service sent an invalid response."
        return respond(request, 502, {"detail": detail}, exc)

    def unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 503, {"detail": _UNAVAILABLE}, exc)

    def timed_out(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, 504, {"detail": "The upstream service timed out."}, exc)

    handlers: dict[type[Exception], Any] = {
        exceptions.DoesNotExist: not_found,
        exceptions.NotFound: not_found,
        exceptions.ValidationError: invalid,
        exceptions.NotSupportedError: unsupported,
        exceptions.AuthenticationError: credentials,
        exceptions.PermissionDenied: credentials,
        exceptions.ResponseError: bad_gateway,
        exceptions.RequestError: unavailable,
        exceptions.ServerError: unavailable,
        exceptions.RateLimited: unavailable,
        exceptions.APITimeoutError: timed_out,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)


def upstream_errors(exc: exceptions.ValidationError) -> list[dict[str, Any]]:
    """The upstream's rejection as pydantic/ninja error items: one per message.

    ``loc`` starts with ``"upstream"`` (ninja's own start with ``"body"``, ``"query"``...)
    followed by the field's path (``"author.name"`` → ``["upstream", "author", "name"]``);
    messages not tied to a field have ``loc == ["upstream"]``.
    """
    items: list[dict[str, Any]] = []
    for field, messages in exc.field_errors.items():
        loc = ["upstream"]
        if field and field != "non_field_errors":
            loc += field.split(".")
        items += [{"type": _UPSTREAM_INVALID, "loc": loc, "msg": str(m)} for m in messages]
    if not items:
        msg = exc.detail or "The data was rejected by the upstream service."
        items.append({"type": _UPSTREAM_INVALID, "loc": ["upstream"], "msg": msg})
    return items


# -- pagination -------------------------------------------------------------------------------


async def _apage(queryset: QuerySet[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    """The rows ``[offset:offset + limit]`` and the total: two requests, sent together
    (none when the queryset was already evaluated)."""
    page = queryset[offset : offset + limit]
    if not isinstance(page, QuerySet):  # sliced from the result cache
        return list(page), await queryset.acount()
    # gather, not a TaskGroup: the exception handlers must see our error, not a group.
    rows, total = await asyncio.gather(page.aall(), queryset.acount())
    return rows, total


class LimitOffsetPagination(ninja_pagination.LimitOffsetPagination):
    """ninja's ``?limit=&offset=`` pagination, also for remote querysets in async routes."""

    async def apaginate_queryset(
        self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        if not isinstance(queryset, QuerySet):
            return await super().apaginate_queryset(queryset, pagination, request, **params)
        limit = min(pagination.limit, self.max_limit)
        items, count = await _apage(queryset, pagination.offset, limit)
        return {self.items_attribute: items, "count": count}


class PageNumberPagination(ninja_pagination.PageNumberPagination):
    """ninja's ``?page=&page_size=`` pagination, also for remote querysets in async routes."""

    async def apaginate_queryset(
        self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        if not isinstance(queryset, QuerySet):
            return await super().apaginate_queryset(queryset, pagination, request, **params)
        size = self._get_page_size(pagination.page_size)
        items, count = await _apage(queryset, (pagination.page - 1) * size, size)
        return {self.items_attribute: items, "count": count}
