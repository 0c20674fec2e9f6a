"""Read plans: what ``all()``, ``get()``, ``first()``, ``count()``, ``exists()`` and
``in_bulk()`` send and check, the same in both colours. Every read that spans pages goes
through the page walker (:mod:`.walk`); every row is checked against the query
(:mod:`.verify`) by the walker's conversion."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from typing import Any

from . import objects, walk
from .dialect import QueryContext
from .flow import gather
from .messages import Plan
from .plans import ServiceContext
from .source import Source
from .verify import RowCheck

__all__ = ["count", "exists", "fetch", "fetch_in", "first", "get", "in_bulk", "only"]

# Keep each `field__in=` batch of in_bulk() well under the 2,000 characters URLs can rely on.
IN_BULK_PARAM_BUDGET = 1500


def fetch(
    src: Source,
    ctx: ServiceContext,
    qctx: QueryContext,
    *,
    strict: bool = False,
    page_size: int | None = None,
) -> Plan[list[Any]]:
    """Every row of the queryset (its slice), built, checked and shaped."""
    return (yield from src._walker(ctx, qctx, strict=strict, page_size=page_size).walk())


def get(src: Source, ctx: ServiceContext, qctx: QueryContext) -> Plan[Any]:
    """``get(pk=7)`` alone is one detail GET (its pk checked); any other ``get()`` reads at
    most two rows."""
    pk = src._pk_value()
    if pk is not None:
        answer = yield from objects.retrieve(
            ctx, src.endpoint, pk, qctx.model, exact=qctx.exact_numbers, fast=qctx.fast_row
        )
        if answer is None or answer.data is None:
            raise src._does_not_exist()
        obj = src._from_answer(answer)
        if not _is_pk(obj.pk, pk):  # else the check below passes: spare building it
            RowCheck.of(ctx, qctx, src.endpoint, src.query).apply([obj], "raise", strict=True)
        return src._shape([obj])[0]
    walker = src._walker(ctx, qctx, src.query.sliced(0, 2), strict=True)
    found = yield from walker.walk()
    if not found:
        raise src._does_not_exist()
    total = max(len(found), walker.total or 0)
    if total > 1:
        raise src._multiple_objects(total)
    return found[0]


def _is_pk(value: Any, wanted: Any) -> bool:
    """Whether a row's pk is the int or str asked for, of the very same type: the one case
    where the pk's ``exact`` check (:mod:`.verify`) is known to pass without evaluating it
    (every other case is evaluated: conversions, enums, dates...)."""
    return type(value) is type(wanted) and type(wanted) in (int, str) and value == wanted


def first(src: Source, ctx: ServiceContext, qctx: QueryContext) -> Plan[Any]:
    """The first row, or None."""
    found = yield from src._walker(ctx, qctx, src.query.sliced(0, 1), strict=True).walk()
    return found[0] if found else None


def only(src: Source, ctx: ServiceContext, qctx: QueryContext) -> Plan[Any]:
    """The first row, or ``DoesNotExist`` (``latest()``, ``earliest()``)."""
    found = yield from first(src, ctx, qctx)
    if found is None:
        raise src._does_not_exist()
    return found


def count(src: Source, ctx: ServiceContext, qctx: QueryContext) -> Plan[int]:
    """The API's total (one small request), or a walk when it gives none."""
    return (yield from walk.count(ctx, src.endpoint, src.query, qctx))


def exists(src: Source, ctx: ServiceContext, qctx: QueryContext) -> Plan[bool]:
    """Whether a (matching) row exists, asking for one at most."""
    found = yield from src._walker(ctx, qctx, src.query.sliced(0, 1), strict=True).walk()
    return bool(found)


def in_bulk(
    src: Source, ctx: ServiceContext, qctx: QueryContext, ids: list[Any] | None, field: str
) -> Plan[dict[Any, Any]]:
    """``{value: object}`` by ``field``: batched ``field__in`` requests (concurrent in
    async), or every row when ``ids`` is None."""
    attr = src._pk_attr(field)
    if ids is None:
        objs = yield from fetch(src, ctx, qctx)
    else:
        objs = yield from fetch_in(src, ctx, qctx, attr, ids, unique=True)
    return {getattr(obj, attr): obj for obj in objs}


def fetch_in(
    src: Source,
    ctx: ServiceContext,
    qctx: QueryContext,
    field: str,
    ids: list[Any],
    *,
    unique: bool = False,
) -> Plan[list[Any]]:
    """The rows whose ``field`` is one of ``ids``: batched ``field__in`` requests
    (concurrent in async), each walked to its end and checked. A batch asks for pages as
    large as it can hold (``unique``: one row per id at most), so it is one request when the
    API allows."""
    batches = []
    for batch in batched_ids(ids, ctx.dialect.format_scalar):
        narrowed = src.filter(**{f"{field}__in": batch})
        if unique:
            batches.append(fetch(narrowed[: len(batch)], ctx, qctx))
        else:
            batches.append(fetch(narrowed, ctx, qctx, page_size=ctx.dialect.max_page_size))
    found = yield from gather(batches, ctx.max_concurrency)
    return list(itertools.chain.from_iterable(found))


def batched_ids(ids: list[Any], fmt: Callable[[Any], str]) -> Generator[list[Any], None, None]:
    """``ids`` in batches whose ``__in`` parameter stays under the URL budget."""
    batch: list[Any] = []
    used = 0
    for value in ids:
        size = len(fmt(value)) * 3 + 1  # worst case: every character percent-encoded
        if batch and used + size > IN_BULK_PARAM_BUDGET:
            yield batch
            batch, used = [], 0
        batch.append(value)
        used += size
    if batch:
        yield batch
