"""The condition tree of a query: lookups joined by AND/OR, optionally negated.

The core's own, small version of Django's ``WhereNode``: a :class:`Where` node holds
:class:`Condition` leaves and other nodes. The model layer builds it from ``Q`` objects and
keyword lookups (``queryset.where_of``); the dialect and the row verifier read it.
Both classes are immutable; ``&``, ``|`` and ``~`` build new trees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

__all__ = ["AND", "OR", "Condition", "Connector", "Where"]

Connector = Literal["AND", "OR"]
AND: Connector = "AND"
OR: Connector = "OR"


@dataclass(frozen=True, slots=True)
class Condition:
    """One lookup, e.g. ``year__gte=1990`` → ``Condition("year", "gte", 1990)``."""

    field: str
    lookup: str
    value: Any


@dataclass(frozen=True, slots=True)
class Where:
    """Children (conditions or nodes) joined by ``connector``; the whole negated if asked.

    ``Where()`` has no children and holds for every row (it is falsy, as an empty ``Q``).
    """

    children: tuple[Condition | Where, ...] = ()
    connector: Connector = AND
    negated: bool = False

    def __bool__(self) -> bool:
        return bool(self.children)

    def __and__(self, other: Where) -> Where:
        return self._combine(other, AND)

    def __or__(self, other: Where) -> Where:
        return self._combine(other, OR)

    def __invert__(self) -> Where:
        return replace(self, negated=not self.negated)

    def _combine(self, other: Where, connector: Connector) -> Where:
        if not other:
            return self
        if not self:
            return other
        return Where((self, other), connector)
