"""Row verification: every row an API returns is checked against the query that asked for it.

Many APIs silently ignore parameters they do not support (django-filter does for any lookup
a view does not declare; so do json-server and most hand-written APIs). Trusting them turns
``filter(author__startswith="Orw").delete()`` into a whole-table delete. So each row is
evaluated in memory (:mod:`.evaluate`) against every condition the library can check:

* a write never touches a failing row: :class:`~django_api_orm.exceptions.FilterIgnored` is
  raised before any write;
* a read raises too (``VERIFY="raise"``, the default), or drops the row with one warning
  (``"drop"``), or is not checked (``"off"``);
* the (field, lookup) caught being ignored is remembered by the service for the process and
  refused before sending, so ``count()`` (which sees no rows) is protected too.

Conditions the library cannot evaluate (``params()``, values that cannot be compared) are
listed by ``explain()``; a write that depends on them refuses unless the queryset says
``trust_api()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urljoin

from .. import exceptions
from .dialect import QueryContext
from .evaluate import Unverifiable, predicate
from .plans import ServiceContext
from .query import Condition, EmptyResult, RemoteQuery

__all__ = ["RowCheck", "VerifyMode"]

VerifyMode = Literal["raise", "drop", "off"]


@dataclass
class RowCheck:
    """The conditions of one query, ready to be evaluated on rows."""

    ctx: ServiceContext
    qctx: QueryContext
    endpoint: str
    conditions: tuple[tuple[Condition, bool], ...]
    unchecked: tuple[str, ...]  # what the rows cannot be checked against
    warned: bool = False  # drop mode warns once per query

    @classmethod
    def of(
        cls, ctx: ServiceContext, qctx: QueryContext, endpoint: str, query: RemoteQuery
    ) -> RowCheck:
        """The check of ``query`` (its conditions as the dialect reads them)."""
        try:
            conditions = tuple(ctx.dialect.conjuncts(query.where, qctx)) if query.where else ()
        except EmptyResult:  # pragma: no cover - no rows to check
            conditions = ()
        unchecked = tuple(f"params({name}={value!r})" for name, value in query.extra_params)
        return cls(ctx, qctx, endpoint, conditions, unchecked)

    def __post_init__(self) -> None:
        self._tests = [
            (condition, predicate(condition), negated)
            for condition, negated in self.conditions
            # a listed row always has a pk
            if not (condition.field == self.qctx.pk and condition.lookup == "isnull")
        ]

    def failure(self, value_of: Callable[[str], Any]) -> Condition | None:
        """The first condition a row fails, or None; raises Unverifiable when a condition
        cannot be evaluated on it."""
        for condition, test, negated in self._tests:
            if test(value_of(condition.field)) == negated:
                return condition
        return None

    def apply(
        self, objs: Sequence[Any], mode: VerifyMode, *, strict: bool, trusted: bool = False
    ) -> list[Any]:
        """The objects that match; ``strict`` (writes, single-object reads) raises on the
        first that does not, whatever the mode. ``trusted`` (``trust_api()``) lets rows
        that cannot be evaluated through. In ``"drop"`` mode the first drop of a query
        warns once (:class:`~django_api_orm.exceptions.FilterIgnoredWarning`)."""
        if (mode == "off" and not strict) or not self.conditions:
            return list(objs)
        kept: list[Any] = []
        for obj in objs:
            try:
                failed = self.failure(obj._data.__dict__.__getitem__)
            except Unverifiable as error:
                if strict and not trusted:
                    self._refuse_unverifiable(str(error))
                kept.append(obj)
                continue
            if failed is None:
                kept.append(obj)
                continue
            self.ctx.ignored.add((self.endpoint, failed.field, failed.lookup))
            if strict or mode == "raise":
                self._ignored(failed, obj.pk)
            if not self.warned:
                self.warned = True
                warnings.warn(
                    f"{self.qctx.model} on service {self.ctx.alias!r}: dropped rows that do "
                    f"not match {_lookup(failed)} (first pk={obj.pk!r}); the API ignores that "
                    "filter. Further rows of this query that do not match are dropped too.",
                    exceptions.FilterIgnoredWarning,
                    stacklevel=2,
                )
        return kept

    def check_writable(self, trusted: bool) -> None:
        """Refuse a write that depends on conditions the rows cannot be checked against."""
        if self.unchecked and not trusted:
            raise exceptions.NotSupportedError(
                f"{self.qctx.model} on service {self.ctx.alias!r}: this write depends on "
                f"{', '.join(self.unchecked)}, which the library cannot check against the "
                "rows the API returns. Call .trust_api() on the queryset to write to them "
                "anyway."
            )

    def _ignored(self, failed: Condition, pk: Any) -> None:
        raise exceptions.FilterIgnored(
            f"{self.qctx.model} on service {self.ctx.alias!r}: the API returned pk={pk!r}, "
            f"which does not match {_lookup(failed)}: it ignores that filter. Nothing was "
            "written; the lookup is refused from now on.",
            method="GET",
            url=urljoin(self.ctx.base_url, self.endpoint),
            service=self.ctx.alias,
            model=self.qctx.model,
            field=failed.field,
            lookup=f"{failed.field}__{failed.lookup}",
            pk=pk,
        )

    def _refuse_unverifiable(self, why: str) -> None:
        raise exceptions.NotSupportedError(
            f"{self.qctx.model} on service {self.ctx.alias!r}: a row cannot be checked "
            f"against the query ({why}); refusing to write. Call .trust_api() on the "
            "queryset to write anyway."
        )


def _lookup(condition: Condition) -> str:
    return f"{condition.field}__{condition.lookup}={condition.value!r}"
