"""What a queryset asks for, independent of any API: conditions, ordering and a slice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import FieldError
from .conditions import Condition, Where

__all__ = [
    "LOOKUPS",
    "Condition",
    "EmptyResult",
    "FieldSpec",
    "RemoteQuery",
    "Where",
    "parse_lookup",
]


class EmptyResult(Exception):
    """The query can match nothing (``pk__in=[]``, ``none()``): no request is needed."""


LOOKUPS = frozenset(
    {
        "exact",
        "iexact",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "isnull",
        "range",
    }
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What the core needs to know of a schema field to express lookups on it."""

    name: str
    nullable: bool = False
    is_bool: bool = False
    wire: str = ""  # the name the API uses (a pydantic alias), when it differs

    @property
    def param(self) -> str:
        """The field's name in query parameters."""
        return self.wire or self.name


def parse_lookup(keyword: str, value: Any, fields: Mapping[str, FieldSpec], pk: str) -> Condition:
    """Split ``field__lookup`` and check it against the schema, like Django's FieldError."""
    name, _, lookup = keyword.partition("__")
    if name == "pk":
        name = pk
    lookup = lookup or "exact"
    if name not in fields:
        choices = ", ".join(sorted(fields))
        raise FieldError(f"Cannot resolve keyword {name!r} into field. Choices are: {choices}")
    if lookup not in LOOKUPS:
        raise FieldError(
            f"Unsupported lookup {lookup!r} for field {name!r}; "
            f"supported lookups are: {', '.join(sorted(LOOKUPS))}."
        )
    if lookup == "exact" and value is None:
        return Condition(name, "isnull", True)
    return Condition(name, lookup, value)


@dataclass(frozen=True)
class RemoteQuery:
    """An immutable description of a list query; every queryset method returns a new one."""

    where: Where = field(default_factory=Where)
    ordering: tuple[str, ...] = ()
    low: int = 0
    high: int | None = None
    extra_params: tuple[tuple[str, str], ...] = ()
    empty: bool = False
    # Relations the API is asked to nest in each row (select_related() with EXPAND_PARAM).
    expand: tuple[str, ...] = ()

    def _with(self, **changes: Any) -> RemoteQuery:
        # dataclasses.replace() re-runs __init__ (~10 µs); a query is built on every
        # filter(), so copy the fields instead: they are immutable and already checked.
        copy = object.__new__(RemoteQuery)
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def add_where(self, where: Where) -> RemoteQuery:
        """AND ``where`` onto the conditions."""
        return self._with(where=self.where & where)

    def with_ordering(self, fields: Sequence[str]) -> RemoteQuery:
        """Replace the ordering, like ``order_by()``."""
        return self._with(ordering=tuple(fields))

    def with_params(self, params: Mapping[str, Any]) -> RemoteQuery:
        """Add raw query parameters the dialect passes through unchanged."""
        extra = tuple((k, str(v)) for k, v in params.items())
        return self._with(extra_params=self.extra_params + extra)

    def with_param_list(self, params: Sequence[tuple[str, str]]) -> RemoteQuery:
        """Add query parameters already spelled by the dialect."""
        return self._with(extra_params=self.extra_params + tuple(params))

    @property
    def is_sliced(self) -> bool:
        """True once a slice limits the rows."""
        return self.low != 0 or self.high is not None

    def sliced(self, start: int | None, stop: int | None) -> RemoteQuery:
        """Narrow the slice the way Django's ``Query.set_limits`` does (relative to it)."""
        low, high = self.low, self.high
        if stop is not None:
            high = min(high, low + stop) if high is not None else low + stop
        if start is not None:
            low = min(low + start, high) if high is not None else low + start
        return self._with(low=low, high=high)

    def reversed(self, pk: str) -> RemoteQuery:
        """The same rows in the opposite order (unordered means ordered by pk)."""
        ordering = self.ordering or (pk,)
        flipped = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in ordering)
        return self._with(ordering=flipped)
