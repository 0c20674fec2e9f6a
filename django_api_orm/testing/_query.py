"""How the fake service reads a list request: filters and ordering, as django-filter would.

The query string is parsed back with the service's own dialect (``lookup_format``,
``lookup_names``, ``list_format``...), so whatever the client sends, the fake understands.
Semantics follow Django on a real database, with the lookups of the library's own row
verification (:mod:`django_api_orm._core.evaluate`): ``contains`` is case-sensitive, ``NULL``
never matches a comparison, NULLs sort first in ascending order (as SQLite and MySQL do).
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .._core.dialect import Dialect
from .._core.evaluate import TESTS, temporal, text_of
from .._core.query import LOOKUPS

__all__ = ["BadQuery", "Filter", "order_rows", "parse_filters"]

Row = dict[str, Any]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class BadQuery(Exception):
    """A filter value the API would reject (DRF answers 400 ``{param: [message]}``)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.errors = {param: [message]}


@dataclass(frozen=True)
class Filter:
    """One lookup from the query string, e.g. ``Filter("year", "gte", ("1990",), "year__gte")``.

    A scalar lookup given twice uses the last value, as Django's ``QueryDict`` does.
    """

    field: str
    lookup: str
    values: tuple[str, ...]
    param: str

    def matcher(self, rows: Sequence[Row]) -> Callable[[Row], bool] | None:
        """A predicate over rows, or None when the filter is ignored (like DRF does)."""
        kind = _kind_of(self.field, rows)
        if self.lookup == "isnull":
            flag = _parse_bool(self.values[-1])
            if flag is None:
                return None
            return lambda row: (row.get(self.field) is None) == flag
        if self.lookup in ("in", "range"):
            wanted = [_coerce(kind, v, self.param) for v in self.values]
            if any(w is _IGNORE for w in wanted):
                return None
            if self.lookup == "range":
                if len(wanted) != 2:
                    raise BadQuery(self.param, "Enter two values.")
                low, high = wanted
                return lambda row: (
                    _compare(row.get(self.field), kind, low, TESTS["gte"])
                    and _compare(row.get(self.field), kind, high, TESTS["lte"])
                )
            exact = TESTS["exact"]
            return lambda row: any(_compare(row.get(self.field), kind, w, exact) for w in wanted)
        value = _coerce(kind, self.values[-1], self.param)
        if value is _IGNORE:
            return None
        if self.lookup == "ne":
            exact = TESTS["exact"]
            return lambda row: not _compare(row.get(self.field), kind, value, exact)
        test = TESTS[self.lookup]
        return lambda row: _compare(row.get(self.field), kind, value, test)


def _reverse(template: str, **groups: str) -> re.Pattern[str]:
    """``"{field}__{lookup}"`` → a regex with named groups for each placeholder."""
    pattern = ""
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        pattern += re.escape(literal)
        if name is not None:
            pattern += groups.get(name, ".*?")
    return re.compile(f"^{pattern}$")


def parse_filters(
    params: Sequence[tuple[str, str]], dialect: Dialect, fields: Iterable[str]
) -> list[Filter]:
    """The filters of a query string; unknown parameters and empty values are skipped."""
    known = set(fields)
    key_re = _reverse(dialect.lookup_format, field="(?P<field>.+?)", lookup="(?P<lookup>.+)")
    by_name = {dialect.lookup_names.get(name, name): name for name in LOOKUPS}
    if dialect.lookup_names.get("ne"):
        by_name[dialect.lookup_names["ne"]] = "ne"
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    filters = []
    for key, values in grouped.items():
        parsed = _parse_key(key, key_re, by_name, known, dialect)
        if parsed is None:
            continue
        field, lookup = parsed
        texts = [_strip_value(v, dialect, lookup) for v in values]
        if lookup in ("in", "range") and dialect.list_format == "comma":
            texts = [part for text in texts for part in text.split(",")]
        texts = [t for t in texts if t != ""]
        if texts:
            filters.append(Filter(field, lookup, tuple(texts), key))
    return filters


def _parse_key(
    key: str,
    key_re: re.Pattern[str],
    by_name: Mapping[str, str],
    known: set[str],
    dialect: Dialect,
) -> tuple[str, str] | None:
    if key in known and "exact" not in dialect.lookup_names:
        return key, "exact"
    match = key_re.match(key)
    if match is None:
        return None
    field, name = match.group("field"), match.group("lookup")
    lookup = by_name.get(name)
    if field not in known or lookup is None:
        return None
    return field, lookup


def _strip_value(value: str, dialect: Dialect, lookup: str) -> str:
    if dialect.value_format == "{value}" or lookup == "exact":
        return value
    name = dialect.lookup_names.get(lookup, lookup)
    value_re = _reverse(dialect.value_format, lookup=re.escape(name), value="(?P<value>.*)")
    match = value_re.match(value)
    return match.group("value") if match else value


# -- values -----------------------------------------------------------------------------------


class _Ignore:
    pass


_IGNORE: Any = _Ignore()


def _kind_of(field: str, rows: Sequence[Row]) -> str:
    for row in rows:
        value = row.get(field)
        if value is None:
            continue
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int | float | Decimal):
            return "number"
        return "text"
    return "text"


def _parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _coerce(kind: str, text: str, param: str) -> Any:
    if kind == "bool":
        flag = _parse_bool(text)
        return _IGNORE if flag is None else flag  # django-filter ignores a bad boolean
    if kind == "number":
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            raise BadQuery(param, "Enter a number.") from None
    return text


def _compare(raw: Any, kind: str, wanted: Any, test: Callable[[Any, Any], bool]) -> bool:
    if raw is None:
        return False
    if kind == "number":
        return test(Decimal(str(raw)), wanted)
    if kind == "bool":
        return test(bool(raw), wanted)
    left, right = temporal(raw), temporal(wanted)
    if _comparable(left, right):
        return test(left, right)
    return test(text_of(raw), wanted)


def _comparable(left: dt.date | None, right: dt.date | None) -> bool:
    """Both dates, or both datetimes that are both aware or both naive."""
    if left is None or right is None or type(left) is not type(right):
        return False
    if isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
        return (left.tzinfo is None) == (right.tzinfo is None)
    return True


# -- ordering ---------------------------------------------------------------------------------


def order_rows(rows: list[Row], ordering: str | None, fields: Iterable[str], pk: str) -> list[Row]:
    """Rows sorted by the pk, then by ``ordering`` (``"-year,title"``; unknown names ignored)."""
    known = set(fields)
    result = sorted(rows, key=lambda row: _sort_key(row.get(pk)))
    names = [n.strip() for n in (ordering or "").split(",") if n.strip()]
    for name in reversed(names):
        descending = name.startswith("-")
        field = name.lstrip("-")
        if field not in known:
            continue
        result.sort(key=lambda row, f=field: _sort_key(row.get(f)), reverse=descending)  # type: ignore[misc]
    return result


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float | Decimal):
        return (1, Decimal(str(value)) if not isinstance(value, bool) else int(value))
    return (2, str(value))
