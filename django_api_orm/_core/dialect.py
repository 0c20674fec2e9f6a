"""Dialects: how one API spells filters, ordering and pages, and how it shapes lists.

The default, :class:`DRFDialect`, speaks Django REST framework with django-filter:
``year__gte=1990``, ``title__in=a,b``, ``ordering=-year,title``, ``page=2&page_size=50``,
and reads ``{count, next, previous, results}`` envelopes as well as bare JSON lists.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from django.core.exceptions import FieldError
from django.db.models import Q

from ..exceptions import NotSupportedError
from .query import Condition, FieldSpec, RemoteQuery, parse_lookup
from .urls import detail_path

__all__ = ["DRFDialect", "Dialect", "Page", "QueryContext"]

Params = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Page:
    """One list response: its rows, the total if the API told it, and the next page's URL.

    ``complete`` is True when the response holds every row (a bare, unpaginated list).
    """

    items: list[Any]
    total: int | None
    next_url: str | None
    complete: bool = False


@dataclass(frozen=True, slots=True)
class QueryContext:
    """Who asks, for error messages and field checks: service, model, fields, pk field."""

    service: str
    model: str
    fields: Mapping[str, FieldSpec]
    pk: str


class Dialect:
    """Base class: subclass and override what your API does differently.

    Set by the service's ``DIALECT`` setting. Methods receive plain data and return query
    parameters or :class:`Page` objects; they never send requests.
    """

    name = "base"

    def __init__(
        self,
        *,
        page_size: int | None = None,
        page_param: str = "page",
        page_size_param: str | None = "page_size",
        ordering_param: str = "ordering",
        trailing_slash: bool = True,
    ) -> None:
        self.page_size = page_size
        self.page_param = page_param
        self.page_size_param = page_size_param
        self.ordering_param = ordering_param
        self.trailing_slash = trailing_slash

    # -- requests --------------------------------------------------------------------------

    def query_params(self, query: RemoteQuery, ctx: QueryContext) -> Params:
        """Filters, exclusions and ordering as query parameters (no paging)."""
        params = self.where_params(query.where, ctx)
        if query.ordering:
            params += self.ordering_params(query.ordering, ctx)
        params += list(query.extra_params)
        return params

    def where_params(self, where: Q, ctx: QueryContext) -> Params:
        """A conjunction of conditions as parameters; what cannot be said raises."""
        params: Params = []
        for condition, negated in self._conjuncts(where, ctx, negated=False):
            if negated:
                condition = self.negate(condition, ctx)
            params += self.condition_params(condition, ctx)
        return params

    def condition_params(self, condition: Condition, ctx: QueryContext) -> Params:
        """One condition as parameters: ``field__lookup=value``."""
        key = (
            condition.field
            if condition.lookup == "exact"
            else (f"{condition.field}__{condition.lookup}")
        )
        return [(key, self.format_value(condition, ctx))]

    def ordering_params(self, ordering: Sequence[str], ctx: QueryContext) -> Params:
        """``("-year", "title")`` → ``ordering=-year,title``."""
        names = []
        for item in ordering:
            descending = item.startswith("-")
            name = item.lstrip("-")
            if name == "?":
                self.unsupported(ctx, "random ordering ('?')")
            name = ctx.pk if name == "pk" else name
            if name not in ctx.fields:
                choices = ", ".join(sorted(ctx.fields))
                raise FieldError(
                    f"Cannot resolve keyword {name!r} into field. Choices are: {choices}"
                )
            names.append(f"-{name}" if descending else name)
        return [(self.ordering_param, ",".join(names))]

    def page_params(self, page: int, page_size: int | None) -> Params:
        """Parameters selecting one page (1-based)."""
        params: Params = [(self.page_param, str(page))]
        if page_size and self.page_size_param:
            params.append((self.page_size_param, str(page_size)))
        return params

    def detail_path(self, endpoint: str, pk: Any) -> str:
        """The URL path of one object; the pk is always exactly one segment."""
        return detail_path(endpoint, pk, trailing_slash=self.trailing_slash)

    # -- responses -------------------------------------------------------------------------

    def parse_page(self, data: Any, headers: Mapping[str, str]) -> Page:
        """Rows, total and next link of a list response."""
        raise NotImplementedError

    # -- values and negation ---------------------------------------------------------------

    def format_value(self, condition: Condition, ctx: QueryContext) -> str:
        """A Python value as a query-string value (lists joined by commas)."""
        value = condition.value
        if condition.lookup in {"in", "range"}:
            items = (
                list(value)
                if isinstance(value, Iterable) and not isinstance(value, str | bytes)
                else None
            )
            if items is None or (condition.lookup == "range" and len(items) != 2):
                expected = "a pair" if condition.lookup == "range" else "an iterable"
                raise TypeError(
                    f"{condition.field}__{condition.lookup} expects {expected}, got {value!r}."
                )
            texts = [self.format_scalar(item) for item in items]
            if any("," in text for text in texts):
                self.unsupported(
                    ctx, f"a value containing ',' in {condition.field}__{condition.lookup}"
                )
            return ",".join(texts)
        if condition.lookup == "isnull":
            return self.format_scalar(bool(value))
        return self.format_scalar(value)

    def format_scalar(self, value: Any) -> str:
        """``True`` → ``"true"``, dates → ISO 8601, enums → their value."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return value.isoformat()
        if isinstance(value, int | float | decimal.Decimal | uuid.UUID | str):
            return str(value)
        raise TypeError(f"Cannot use {type(value).__name__} value {value!r} in a query.")

    _INVERSES = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}

    def negate(self, condition: Condition, ctx: QueryContext) -> Condition:
        """The exact opposite of ``condition``, or NotSupportedError when none exists.

        ``exclude(year__gte=2000)`` becomes ``year__lt=2000`` only when ``year`` cannot be
        null; a nullable field would silently lose its null rows, so that raises instead.
        """
        spec = ctx.fields[condition.field]
        if condition.lookup == "isnull":
            return Condition(condition.field, "isnull", not condition.value)
        if not spec.nullable:
            if condition.lookup in self._INVERSES:
                return Condition(condition.field, self._INVERSES[condition.lookup], condition.value)
            if spec.is_bool and condition.lookup == "exact" and isinstance(condition.value, bool):
                return Condition(condition.field, "exact", not condition.value)
        self.unsupported(ctx, f"exclude({condition.field}__{condition.lookup}=...)")

    def unsupported(self, ctx: QueryContext, what: str) -> NoReturn:
        """Raise the before-any-request error naming service, model, lookup and dialect."""
        raise NotSupportedError(
            f"{ctx.model} on service {ctx.service!r}: the {self.name!r} dialect cannot express "
            f"{what}. Narrow the query, or use .params() for the API's own parameters."
        )

    def _conjuncts(
        self, where: Q, ctx: QueryContext, *, negated: bool
    ) -> Iterable[tuple[Condition, bool]]:
        # De Morgan: NOT (a OR b) is (NOT a) AND (NOT b), which a query string can say;
        # NOT (a AND b) and (a OR b) need an OR, which it cannot.
        negated = negated != where.negated
        connector = where.connector
        if negated:
            connector = Q.AND if connector == Q.OR else Q.OR
        if connector == Q.OR and len(where.children) > 1:
            what = "the negation of several conditions" if negated else "OR between conditions"
            self.unsupported(ctx, what)
        for child in where.children:
            if isinstance(child, Q):
                yield from self._conjuncts(child, ctx, negated=negated)
            else:
                keyword, value = cast(tuple[str, Any], child)
                yield parse_lookup(keyword, value, ctx.fields, ctx.pk), negated


class DRFDialect(Dialect):
    """Django REST framework + django-filter, PageNumberPagination or bare lists."""

    name = "drf"

    def parse_page(self, data: Any, headers: Mapping[str, str]) -> Page:
        if isinstance(data, list):
            return Page(items=data, total=len(data), next_url=None, complete=True)
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            total = data.get("count")
            return Page(
                items=data["results"],
                total=total if isinstance(total, int) else None,
                next_url=data.get("next") or None,
            )
        raise ValueError(
            f"expected a JSON list or an object with a 'results' list, got {type(data).__name__}"
        )
