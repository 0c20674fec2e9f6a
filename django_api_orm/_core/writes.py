"""Write plans of a queryset: ``create()``, ``bulk_create()``, ``get_or_create()``,
``update_or_create()``, ``update()`` and ``delete()``, the same in both colours.

REST APIs have no "update where": ``update()`` and ``delete()`` list the matching rows (each
checked against the query: a row that does not match raises before any write), then write
each row once.
"""

from __future__ import annotations

from typing import Any

from .. import exceptions
from . import objects
from .dialect import QueryContext
from .flow import gather
from .messages import Plan
from .plans import ServiceContext
from .reads import fetch, get
from .source import Record, Source
from .verify import RowCheck

__all__ = [
    "bulk_create",
    "bulk_update",
    "create",
    "delete",
    "get_or_create",
    "update",
    "update_or_create",
]


def create(src: Source, ctx: ServiceContext, qctx: QueryContext, obj: Record) -> Plan[Any]:
    """POST one new object."""
    yield from obj._plan_save(ctx)
    return obj


def bulk_create(
    src: Source, ctx: ServiceContext, qctx: QueryContext, objs: list[Record]
) -> Plan[list[Any]]:
    """POST each object (concurrently in async, bounded by MAX_CONCURRENCY)."""
    yield from gather((obj._plan_save(ctx) for obj in objs), ctx.max_concurrency)
    return objs


def get_or_create(
    src: Source, ctx: ServiceContext, qctx: QueryContext, defaults: Any, kwargs: dict[str, Any]
) -> Plan[tuple[Any, bool]]:
    """Get by ``kwargs`` (strictly checked), else create; a 409 means someone else just did."""
    lookup = src.filter(**kwargs)
    try:
        return (yield from get(lookup, ctx, qctx)), False
    except src._missing_error():
        pass
    obj = src._new_for_create(kwargs, defaults)
    try:
        yield from obj._plan_save(ctx)
    except exceptions.Conflict:  # created meanwhile by someone else
        return (yield from get(lookup, ctx, qctx)), False
    return obj, True


def update_or_create(
    src: Source,
    ctx: ServiceContext,
    qctx: QueryContext,
    defaults: Any,
    create_defaults: Any,
    kwargs: dict[str, Any],
) -> Plan[tuple[Any, bool]]:
    """PATCH ``defaults`` onto the match, else create it."""
    lookup = src.filter(**kwargs)
    try:
        obj = yield from get(lookup, ctx, qctx)
    except src._missing_error():
        new = src._new_for_create(kwargs, defaults if create_defaults is None else create_defaults)
        yield from new._plan_save(ctx)
        return new, True
    values = resolve_callables(dict(defaults or {}))
    for name, value in values.items():
        setattr(obj, name, value)
    yield from obj._plan_save(ctx, list(values))
    return obj, False


def update(
    src: Source, ctx: ServiceContext, qctx: QueryContext, values: dict[str, Any]
) -> Plan[int]:
    """PATCH ``values`` onto every matching row, once each; returns how many. Values
    computed from the row (``F("views") + 1``) are read-modify-write per row."""
    objs = yield from _rows_to_write(src, ctx, qctx)
    if src._computes(values):
        plans = (_read_modify_write(src, ctx, qctx, obj.pk, values) for obj in objs)
        return sum((yield from gather(plans, ctx.max_concurrency)))
    for obj in objs:
        for name, value in values.items():
            setattr(obj, name, value)
    yield from gather((obj._plan_save(ctx, list(values)) for obj in objs), ctx.max_concurrency)
    return len(objs)


def _read_modify_write(
    src: Source, ctx: ServiceContext, qctx: QueryContext, pk: Any, values: dict[str, Any]
) -> Plan[int]:
    """Read the row afresh (its ETag too), compute, PATCH with ``If-Match``. A row gone or
    no longer matching meanwhile is not written (as an SQL UPDATE would skip it)."""
    answer = yield from objects.retrieve(
        ctx, src.endpoint, pk, qctx.model, exact=qctx.exact_numbers
    )
    if answer is None or answer.data is None:
        return 0
    obj = src._from_answer(answer)
    check = RowCheck.of(ctx, qctx, src.endpoint, src.query)
    if not check.apply([obj], "drop", strict=False, trusted=True) and check.conditions:
        return 0
    for name, value in src._computed(values, obj).items():
        setattr(obj, name, value)
    yield from obj._plan_save(ctx, list(values))
    return 1


def bulk_update(
    src: Source, ctx: ServiceContext, qctx: QueryContext, objs: list[Record], fields: list[str]
) -> Plan[int]:
    """PATCH ``fields`` of each object (concurrently in async, bounded)."""
    yield from gather((obj._plan_save(ctx, fields) for obj in objs), ctx.max_concurrency)
    return len(objs)


def delete(
    src: Source, ctx: ServiceContext, qctx: QueryContext
) -> Plan[tuple[int, dict[str, int]]]:
    """DELETE every matching row, once each; returns ``(count, {label: count})``."""
    objs = yield from _rows_to_write(src, ctx, qctx)
    yield from gather((obj._plan_delete(ctx) for obj in objs), ctx.max_concurrency)
    return len(objs), ({src.label: len(objs)} if objs else {})


def _rows_to_write(src: Source, ctx: ServiceContext, qctx: QueryContext) -> Plan[list[Any]]:
    RowCheck.of(ctx, qctx, src.endpoint, src.query).check_writable(src.trusted)
    objs = yield from fetch(src._as_models(), ctx, qctx, strict=True)
    return list({obj.pk: obj for obj in objs}.values())  # a row listed twice is written once


def resolve_callables(mapping: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` values that are callables are called, as in Django."""
    return {k: v() if callable(v) else v for k, v in mapping.items()}
