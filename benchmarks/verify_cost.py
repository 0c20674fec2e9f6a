"""What row verification costs: checking a page of 100 rows against a query's conditions,
next to what the page costs anyway (validating its rows with the schema), in one run.

    .venv/bin/python benchmarks/verify_cost.py [--quick]

Paired, interleaved samples; the median of each is reported with the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db.models import Q  # noqa: E402

from django_api_orm._core.query import RemoteQuery  # noqa: E402
from django_api_orm._core.verify import RowCheck  # noqa: E402
from django_api_orm._registry import services  # noqa: E402
from django_api_orm.queryset import where_of  # noqa: E402
from tests.models import Book  # noqa: E402

QUERIES = {
    "1 condition (author=...)": Q(author="Ada"),
    "3 conditions (year__gte, title__startswith, in_stock)": Q(
        year__gte=1900, title__startswith="Book", in_stock=True
    ),
}


def rows(count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "title": f"Book {i:03}", "year": 1950 + i, "in_stock": True, "author": "Ada"}
        for i in range(1, count + 1)
    ]


def measure(rounds: int) -> list[str]:
    service = services["default"]
    ctx, qctx = service.context, Book._meta.query_context(service)
    page = rows(100)
    lines = []
    for name, q in QUERIES.items():
        where = where_of([q], {}, Book._meta.fields, Book._meta.pk_field)
        check = RowCheck.of(ctx, qctx, "books/", RemoteQuery(where=where))
        objs = Book._many_from_api(page, "books/")
        assert len(check.apply(objs, "raise", strict=True)) == 100
        validate, verify = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            Book._many_from_api(page, "books/")
            validate.append(time.perf_counter() - started)
            started = time.perf_counter()
            check.apply(objs, "raise", strict=True)
            verify.append(time.perf_counter() - started)
        v, c = statistics.median(validate), statistics.median(verify)
        lines.append(
            f"{name}: verify {c * 1e6:.0f} µs per 100-row page; validating the page "
            f"{v * 1e6:.0f} µs; ratio verify/validate {c / v:.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few rounds (a smoke run)")
    args = parser.parse_args()
    for line in measure(20 if args.quick else 2000):
        print(line)


if __name__ == "__main__":
    main()
