"""The in-memory lookup evaluator behind row verification (and the fake service)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest

from django_api_orm._core.evaluate import Unverifiable, holds
from django_api_orm._core.query import Condition


class Colour(enum.Enum):
    RED = "red"


UTC = dt.UTC
CASES: list[tuple[str, Any, Any, bool]] = [
    ("exact", 1990, 1990, True),
    ("exact", 1990, "1990", True),
    ("exact", 1990, 1991, False),
    ("gte", 1990, 1990, True),
    ("gt", 1990, "1990", False),
    ("lt", Decimal("0.123456789012345678"), Decimal("0.123456789012345679"), True),
    ("lte", 2.5, "2.5", True),
    ("exact", True, "true", True),
    ("exact", False, True, False),
    ("exact", "Orwell", "orwell", False),
    ("iexact", "Orwell", "ORWELL", True),
    ("contains", "Nineteen", "teen", True),
    ("contains", "Nineteen", "TEEN", False),
    ("icontains", "Nineteen", "TEEN", True),
    ("startswith", "Orwell", "Orw", True),
    ("istartswith", "Orwell", "orw", True),
    ("endswith", "Book 05", "05", True),
    ("iendswith", "Book 05", "K 05", True),
    ("in", 3, [1, 2, 3], True),
    ("in", 4, (1, 2, 3), False),
    ("range", 1995, (1990, 2000), True),
    ("range", 2001, (1990, 2000), False),
    ("isnull", None, True, True),
    ("isnull", 1, True, False),
    ("exact", None, 1, False),  # NULL matches no comparison
    ("gt", None, 1, False),
    ("exact", dt.date(2024, 1, 2), "2024-01-02", True),
    ("gt", dt.datetime(2024, 1, 2, tzinfo=UTC), "2024-01-01T00:00:00Z", True),
    ("exact", uuid.UUID(int=5), str(uuid.UUID(int=5)), True),
    ("exact", Colour.RED, "red", True),
    ("gte", "2024-03-01", dt.date(2024, 2, 1), True),  # ISO text compared as dates
    ("exact", "a,b", "a,b", True),
]


@pytest.mark.parametrize(("lookup", "value", "wanted", "expected"), CASES)
def test_lookups_follow_django(lookup: str, value: Any, wanted: Any, expected: bool) -> None:
    assert holds(Condition("f", lookup, wanted), value) is expected


@pytest.mark.parametrize(
    ("lookup", "value", "wanted"),
    [
        ("gt", dt.datetime(2024, 1, 2), "2024-01-01T00:00:00Z"),  # naive vs aware
        ("exact", 1990, "nineteen ninety"),
        ("exact", True, "maybe"),
        ("contains", {"a": 1}, "a"),
    ],
)
def test_what_cannot_be_compared_is_unverifiable(lookup: str, value: Any, wanted: Any) -> None:
    with pytest.raises(Unverifiable):
        holds(Condition("f", lookup, wanted), value)
