"""Lookups evaluated in memory, with Django's semantics on a real database.

One evaluator serves two masters: the library checks every row an API returns against the
query's conditions (an API that ignores a filter must not turn ``delete()`` into a
whole-table delete), and the test kit's fake service filters its rows with it.

Semantics: ``exact``/``contains``/``startswith``/``endswith`` are case-sensitive, the ``i``
forms fold case; ``NULL`` matches no comparison (only ``isnull``); numbers compare as
decimals, ISO-8601 strings as dates and datetimes.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from .query import Condition

__all__ = ["TESTS", "Unverifiable", "holds", "temporal", "text_of"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class Unverifiable(Exception):
    """The value cannot be compared with what the condition asks (e.g. a nested object)."""


def text_of(value: Any) -> str:
    """The text a value is compared as by the string lookups (``True`` → ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return text_of(value.value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def temporal(value: Any) -> dt.date | None:
    """An ISO-8601 date or datetime string as a date/datetime, else None."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def _str_test(op: Callable[[str, str], bool], fold: bool) -> Callable[[Any, Any], bool]:
    def test(value: Any, wanted: Any) -> bool:
        left, right = text_of(value), text_of(wanted)
        if fold:
            left, right = left.casefold(), right.casefold()
        return op(left, right)

    return test


TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": _eq,
    "iexact": _str_test(lambda a, b: a == b, True),
    "gt": lambda a, b: bool(a > b),
    "gte": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "lte": lambda a, b: bool(a <= b),
    "contains": _str_test(lambda a, b: b in a, False),
    "icontains": _str_test(lambda a, b: b in a, True),
    "startswith": _str_test(str.startswith, False),
    "istartswith": _str_test(str.startswith, True),
    "endswith": _str_test(str.endswith, False),
    "iendswith": _str_test(str.endswith, True),
}
_TEXT_LOOKUPS = frozenset(TESTS) - {"exact", "gt", "gte", "lt", "lte"}


def holds(condition: Condition, value: Any) -> bool:
    """Whether a row whose field holds ``value`` satisfies ``condition``.

    Raises :class:`Unverifiable` when the two cannot be compared.
    """
    lookup, wanted = condition.lookup, condition.value
    if lookup == "isnull":
        return (value is None) == bool(wanted)
    if lookup == "ne":
        return value is None or not _one("exact", value, wanted)
    if value is None:
        return False
    if lookup == "in":
        return any(_one("exact", value, item) for item in wanted)
    if lookup == "range":
        low, high = wanted
        return _one("gte", value, low) and _one("lte", value, high)
    return _one(lookup, value, wanted)


def _one(lookup: str, value: Any, wanted: Any) -> bool:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(wanted, enum.Enum):
        wanted = wanted.value
    if lookup in _TEXT_LOOKUPS:
        if isinstance(value, dict | list | tuple | set):
            raise Unverifiable(f"{lookup} on a {type(value).__name__}")
        return TESTS[lookup](value, wanted)
    left, right = _comparable(value, wanted)
    try:
        return TESTS[lookup](left, right)
    except TypeError:
        raise Unverifiable(f"cannot compare {value!r} with {wanted!r}") from None


def _comparable(value: Any, wanted: Any) -> tuple[Any, Any]:
    """The two sides in one type: ``wanted`` is read as the row value's type."""
    if isinstance(value, bool):
        if isinstance(wanted, bool):
            return value, wanted
        flag = {"true": True, "1": True, "false": False, "0": False}.get(text_of(wanted).lower())
        if flag is None:
            raise Unverifiable(f"{wanted!r} is not a boolean")
        return value, flag
    if isinstance(value, int | float | Decimal):
        try:
            return Decimal(str(value)), Decimal(text_of(wanted).strip())
        except InvalidOperation:
            raise Unverifiable(f"{wanted!r} is not a number") from None
    if isinstance(value, dt.datetime | dt.date):
        other = temporal(wanted if not isinstance(wanted, str) else wanted.strip())
        if other is None or isinstance(other, dt.datetime) != isinstance(value, dt.datetime):
            raise Unverifiable(f"{wanted!r} is not a {type(value).__name__}")
        aware = {getattr(v, "tzinfo", None) is None for v in (value, other)}
        if isinstance(value, dt.datetime) and len(aware) > 1:
            raise Unverifiable("an aware and a naive datetime")
        return value, other
    if isinstance(value, uuid.UUID):
        try:
            return value, uuid.UUID(text_of(wanted))
        except ValueError:
            raise Unverifiable(f"{wanted!r} is not a UUID") from None
    if isinstance(value, str):
        left, right = temporal(value), temporal(wanted)
        if left is not None and right is not None and type(left) is type(right):
            return left, right
        return value, text_of(wanted)
    return value, wanted
