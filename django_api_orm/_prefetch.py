"""``prefetch_related()`` / ``select_related()``: related objects in batches, both colours.

One orchestration (:func:`_steps`) walks the lookups and asks for each batch with a
:class:`Batch`; :func:`load` runs the batches with the sync driver, :func:`aload` with the
async one. A forward relation (``review.book``) costs one ``in_bulk`` (batched ``pk__in``,
concurrent in async) per level; a reverse one (``book.reviews``) one batched
``book__in`` listing. Related objects land in the caches the accessors read.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._core import reads
from .options import PREFETCHED, related_cache

if TYPE_CHECKING:
    from .queryset import QuerySet
    from .related import RemoteForeignKey

__all__ = ["aload", "attach_nested", "check_lookup", "load", "take_nested"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One batched read: ``in_bulk`` of keys (forward) or the rows whose ``field`` is in
    ``keys`` (reverse), on a remote queryset or a local (Django) one."""

    queryset: Any
    field: str
    keys: list[Any]
    reverse: bool

    def run(self) -> Any:
        """Send it with the sync driver (or Django's ORM)."""
        if self._is_local():
            return list(self.queryset.filter(**{f"{self.field}__in": self.keys}))
        qs: QuerySet[Any] = self.queryset
        if self.reverse:
            return qs._run("aall", reads.fetch_in, self.field, self.keys)
        return qs._run("ain_bulk", reads.in_bulk, self.keys, self.field)

    async def arun(self) -> Any:
        """Send it with the async driver (or Django's async ORM)."""
        if self._is_local():
            return [o async for o in self.queryset.filter(**{f"{self.field}__in": self.keys})]
        qs: QuerySet[Any] = self.queryset
        if self.reverse:
            return await qs._arun(reads.fetch_in, self.field, self.keys)
        return await qs._arun(reads.in_bulk, self.keys, self.field)

    def _is_local(self) -> bool:
        return not hasattr(self.queryset, "_arun")


def load(objs: list[Any], lookups: Iterable[str]) -> None:
    """Fill the related caches of ``objs`` for ``lookups`` (sync)."""
    steps = _steps(objs, lookups)
    result = None
    while True:
        try:
            batch = steps.send(result)
        except StopIteration:
            return
        result = batch.run()


async def aload(objs: list[Any], lookups: Iterable[str]) -> None:
    """Async twin of :func:`load`."""
    steps = _steps(objs, lookups)
    result = None
    while True:
        try:
            batch = steps.send(result)
        except StopIteration:
            return
        result = await batch.arun()


def check_lookup(model: type[Any], lookup: str, *, forward_only: bool = False) -> None:
    """Raise ValueError (as Django) unless every step of ``lookup`` is a relation."""
    for name in lookup.split("__"):
        meta = getattr(model, "_meta", None)
        relation, reverse = _relation(model, name)
        if relation is None or (reverse and forward_only):
            kind = "select_related" if forward_only else "prefetch_related"
            choices = sorted(getattr(meta, "relations", {}))
            if not forward_only:
                choices += sorted(getattr(meta, "reverse_relations", {}))
            raise ValueError(
                f"Cannot find {name!r} on {model.__name__} object, {lookup!r} is an invalid "
                f"parameter to {kind}(). Choices are: {', '.join(choices) or '(none)'}"
            )
        model = relation.model if reverse else relation.to


def _relation(model: type[Any], name: str) -> tuple[RemoteForeignKey | None, bool]:
    meta = getattr(model, "_meta", None)
    forward = getattr(meta, "relations", {}).get(name)
    if forward is not None:
        return forward, False
    return getattr(meta, "reverse_relations", {}).get(name), True


def _steps(objs: list[Any], lookups: Iterable[str]) -> Generator[Batch, Any, None]:
    for lookup in lookups:
        yield from _level(objs, lookup.split("__"))


def _level(objs: list[Any], path: list[str]) -> Generator[Batch, Any, None]:
    if not objs or not path:
        return
    name = path[0]
    relation, reverse = _relation(type(objs[0]), name)
    assert relation is not None  # checked by check_lookup() when the lookup was added
    if reverse:
        found = yield from _reverse(objs, name, relation)
    else:
        found = yield from _forward(objs, relation)
    yield from _level(found, path[1:])


def _forward(objs: list[Any], relation: RemoteForeignKey) -> Generator[Batch, Any, list[Any]]:
    name, attname = relation.name, relation.attname
    by_pk: dict[Any, Any] = {}
    missing = []
    for obj in objs:  # objects loaded already (expanded, set, prefetched) are kept
        cached = related_cache(obj).get(name)
        if cached is not None and cached.pk == getattr(obj, attname):
            by_pk[cached.pk] = cached
        elif getattr(obj, attname) is not None:
            missing.append(obj)
    keys = list(dict.fromkeys(getattr(obj, attname) for obj in missing))
    if keys:
        found = yield Batch(relation.to._base_manager.all(), "pk", keys, False)
        for obj in missing:
            # A key the API did not return stays None: the accessor raises DoesNotExist.
            related_cache(obj)[name] = found.get(getattr(obj, attname))
        by_pk.update(found)
    return list(by_pk.values())


def _reverse(
    objs: list[Any], accessor: str, relation: RemoteForeignKey
) -> Generator[Batch, Any, list[Any]]:
    keys = list(dict.fromkeys(o.pk for o in objs if o.pk is not None))
    rows: list[Any] = []
    if keys:
        manager = relation.model._base_manager
        rows = yield Batch(manager.all(), relation.attname, keys, True)
    groups: dict[Any, list[Any]] = {}
    for row in rows:
        groups.setdefault(getattr(row, relation.attname), []).append(row)
    for obj in objs:
        related = groups.get(obj.pk, [])
        obj.__dict__.setdefault(PREFETCHED, {})[accessor] = related
        for row in related:
            related_cache(row)[relation.name] = obj
    return rows


def take_nested(model: type[Any], rows: list[Any], names: Iterable[str]) -> dict[str, list[Any]]:
    """Replace each related row the API nested in ``rows`` (``"book": {...}``) by its key,
    in place; the nested rows per relation, aligned with ``rows`` (None where not nested)."""
    meta = model._meta
    nested: dict[str, list[Any]] = {}
    for name in names:
        relation = meta.relations[name]
        wire = meta.fields[relation.attname].param
        target = relation.to._meta
        pk_wire = target.fields[target.pk_field].param
        column: list[Any] = []
        for row in rows:
            value = row.get(wire) if isinstance(row, dict) else None
            if isinstance(value, dict):
                row[wire] = value.get(pk_wire)
                column.append(value)
            else:
                column.append(None)
        nested[name] = column
    return nested


def attach_nested(
    model: type[Any], objs: list[Any], nested: dict[str, list[Any]], where: str
) -> None:
    """Build the nested related objects (validated by their schema) into ``objs``' caches."""
    for name, column in nested.items():
        present = [(obj, row) for obj, row in zip(objs, column, strict=True) if row is not None]
        if present:
            target = model._meta.relations[name].to
            built = target._many_from_api([row for _obj, row in present], where)
            for (obj, _row), related in zip(present, built, strict=True):
                related_cache(obj)[name] = related
