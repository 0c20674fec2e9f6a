"""What the read and write plans need of the model layer, as two small protocols.

The plans in :mod:`.reads`, :mod:`.writes` and :mod:`.records` hold the logic of every
queryset and instance method (which requests, in what order, what is checked); the model
layer (``queryset.py``, ``models.py``) holds Django's vocabulary and implements these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .messages import Plan
from .objects import Answer
from .query import RemoteQuery

if TYPE_CHECKING:
    from .dialect import QueryContext
    from .plans import ServiceContext
    from .walk import PageWalker

__all__ = ["Record", "Source"]


class Record(Protocol):
    """One model instance, as the write plans see it."""

    @property
    def pk(self) -> Any: ...

    def _plan_save(self, ctx: ServiceContext, update_fields: Any = None) -> Plan[None]: ...

    def _plan_delete(self, ctx: ServiceContext) -> Plan[tuple[int, dict[str, int]]]: ...

    def __setattr__(self, name: str, value: Any) -> None: ...


class Source(Protocol):
    """A queryset, as the read and write plans see it."""

    @property
    def query(self) -> RemoteQuery: ...

    @property
    def endpoint(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def trusted(self) -> bool: ...

    def filter(self, *args: Any, **kwargs: Any) -> Source: ...

    def __getitem__(self, k: slice) -> Source: ...

    def _walker(
        self,
        ctx: ServiceContext,
        qctx: QueryContext,
        query: RemoteQuery | None = None,
        *,
        strict: bool = False,
        page_size: int | None = None,
        stream: bool = False,
    ) -> PageWalker: ...

    def _as_models(self) -> Source: ...

    def _pk_value(self) -> Any: ...

    def _from_answer(self, answer: Answer) -> Any: ...

    def _shape(self, objs: list[Any]) -> list[Any]: ...

    def _does_not_exist(self) -> Exception: ...

    def _multiple_objects(self, total: int) -> Exception: ...

    def _new_for_create(self, kwargs: dict[str, Any], defaults: Any) -> Record: ...

    def _pk_attr(self, field: str) -> str: ...

    def _missing_error(self) -> type[Exception]: ...

    def _computes(self, values: dict[str, Any]) -> bool: ...

    def _computed(self, values: dict[str, Any], obj: Any) -> dict[str, Any]: ...
