"""The list endpoint every resource shares: filters, search, ordering, then one page."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, reduce
from operator import or_
from typing import Any

from django.db import models
from django.db.models import Q
from django.http import HttpRequest

from .lookups import allowed_lookups, filter_kwargs, ordering_fields
from .pagination import paginate

__all__ = ["Listing"]

RESERVED_PARAMS = ("page", "page_size", "ordering", "search")


@dataclass(frozen=True)
class Listing:
    """How one model is listed: which fields filter, order and search."""

    model: type[models.Model]
    filter_fields: Sequence[str]
    ordering_fields: Sequence[str]
    search_fields: Sequence[str]

    @cached_property
    def lookups(self) -> dict[str, frozenset[str]]:
        """The allow-list: each filter field and the lookups it accepts."""
        return allowed_lookups(self.model, self.filter_fields)

    def queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        """The rows ``request``'s query string asks for, ordered, not yet paginated."""
        rows = self.model._default_manager.filter(
            **filter_kwargs(self.model, self.lookups, request.GET, RESERVED_PARAMS)
        )
        term = request.GET.get("search", "").strip()
        if term:
            rows = rows.filter(
                reduce(or_, (Q(**{f"{name}__icontains": term}) for name in self.search_fields))
            )
        return rows.order_by(*ordering_fields(request.GET.get("ordering"), self.ordering_fields))

    def page(self, request: HttpRequest, serialize: Callable[[Any], Any]) -> dict[str, Any]:
        """One page of the matching rows in the ``{count, next, previous, results}`` envelope."""
        return paginate(request, self.queryset(request), serialize)
