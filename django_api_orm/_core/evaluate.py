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
    return predicate(condition)(value)


def _text_test(lookup: str, text: str) -> Callable[[str], bool]:
    """A string lookup on str values, with the wanted text prepared once."""
    if lookup.startswith("i"):
        folded, name = text.casefold(), lookup[1:]
        plain = _text_test(name, folded)
        return lambda value: plain(value.casefold())
    if lookup == "contains":
        return lambda value: text in value
    if lookup == "startswith":
        return lambda value: value.startswith(text)
    if lookup == "endswith":
        return lambda value: value.endswith(text)
    return lambda value: value == text  # (i)exact


def predicate(condition: Condition) -> Callable[[Any], bool]:
    """``holds`` for one condition, compiled: the wanted value is converted once per type of
    row value (the hot path of row verification)."""
    lookup, wanted = condition.lookup, condition.value
    if lookup == "isnull":
        flag = bool(wanted)
        return lambda value: (value is None) == flag
    if lookup == "in":
        parts = [predicate(Condition(condition.field, "exact", item)) for item in wanted]
        return lambda value: value is not None and any(part(value) for part in parts)
    if lookup == "range":
        low, high = wanted
        above = predicate(Condition(condition.field, "gte", low))
        below = predicate(Condition(condition.field, "lte", high))
        return lambda value: value is not None and above(value) and below(value)
    if lookup == "ne":
        equal = predicate(Condition(condition.field, "exact", wanted))
        return lambda value: value is None or not equal(value)
    by_type: dict[type, Callable[[Any], bool]] = {}

    def test(value: Any) -> bool:
        if value is None:
            return False
        compiled = by_type.get(type(value))
        if compiled is None:
            compiled = by_type[type(value)] = _specialise(lookup, wanted, value)
        return compiled(value)

    return test


def _specialise(lookup: str, wanted: Any, sample: Any) -> Callable[[Any], bool]:
    """The test of ``lookup`` against ``wanted`` for row values of ``sample``'s type."""
    if isinstance(wanted, enum.Enum):
        wanted = wanted.value
    if isinstance(sample, enum.Enum):
        inner = predicate(Condition("", lookup, wanted))
        return lambda value: inner(value.value)
    op = TESTS[lookup]
    if lookup in _TEXT_LOOKUPS:
        if isinstance(sample, dict | list | tuple | set):
            raise Unverifiable(f"{lookup} on a {type(sample).__name__}")
        if isinstance(sample, str):
            return _text_test(lookup, text_of(wanted))
        return lambda value: op(value, wanted)
    right = _comparable(sample, wanted)[1]
    if isinstance(sample, dt.datetime):
        naive = getattr(right, "tzinfo", None) is None

        def compare_datetime(value: Any) -> bool:
            if (value.tzinfo is None) != naive:
                raise Unverifiable("an aware and a naive datetime")
            return op(value, right)

        return compare_datetime
    if isinstance(sample, str) and not isinstance(right, str):  # ISO strings read as dates
        return lambda value: op(*_comparable(value, wanted))
    if isinstance(sample, int | float | Decimal) and not isinstance(sample, bool):
        return lambda value: op(value, right)

    def compare(value: Any) -> bool:
        try:
            return op(value, right)
        except TypeError:
            raise Unverifiable(f"cannot compare {value!r} with {wanted!r}") from None

    return compare


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
        if isinstance(wanted, int | float | Decimal) and not isinstance(wanted, bool):
            return value, wanted  # Python compares these exactly
        try:
            return value, Decimal(text_of(wanted).strip())
        except InvalidOperation:
            raise Unverifiable(f"{wanted!r} is not a number") from None
    if isinstance(value, dt.datetime | dt.date):
        other = temporal(wanted if not isinstance(wanted, str) else wanted.strip())
        if other is None or isinstance(other, dt.datetime) != isinstance(value, dt.datetime):
            raise Unverifiable(f"{wanted!r} is not a {type(value).__name__}")
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
