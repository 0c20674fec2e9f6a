"""Lazy, chainable, immutable querysets over a remote endpoint, and their managers.

Every method that talks to the API comes twice, ``count()`` and ``acount()``: each is two
lines that hand the same plan to the sync or the async driver. A sync method called inside a
running event loop raises :class:`~django.core.exceptions.SynchronousOnlyOperation` naming
its twin, before any request.
"""

from __future__ import annotations

import inspect
from collections import namedtuple
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from contextlib import aclosing
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, cast
from urllib.parse import urlencode

from django.core.exceptions import FieldError

from . import _observe, _prefetch, exceptions, expressions
from ._async_safety import ensure_sync_allowed, sync_blocked
from ._core import objects, reads, writes
from ._core.conditions import AND, OR, Condition, Where
from ._core.dialect import QueryContext
from ._core.messages import Plan
from ._core.plans import ServiceContext
from ._core.query import FieldSpec, RemoteQuery, parse_lookup
from ._core.verify import RowCheck
from ._core.walk import PageWalker

if TYPE_CHECKING:
    from django.db.models import Q

    from ._transport import Service
    from .models import APIModel

__all__ = ["AsyncManager", "AsyncQuerySet", "Manager", "QuerySet"]

M = TypeVar("M", bound="APIModel")
T = TypeVar("T")


# The query of a fresh queryset, shared: queries are immutable (saves building one per call).
_EVERY_ROW = RemoteQuery()


def where_of(
    args: Iterable[Q],
    kwargs: Mapping[str, Any],
    fields: Mapping[str, FieldSpec],
    pk: str,
    rewrite: Callable[[str, Any], tuple[str, Any]] | None = None,
) -> Where:
    """``Q`` objects and keyword lookups, ANDed as ``Q(*args, **kwargs)`` does, as the core's
    condition tree; each lookup is checked by :func:`parse_lookup` (``FieldError``), after
    ``rewrite`` (a model's relations: ``book=obj`` → ``book_id=obj.pk``). The only place
    that reads a ``Q``."""

    def leaf(keyword: str, value: Any) -> Condition:
        value = _materialize(keyword, value)
        if rewrite is not None:
            keyword, value = rewrite(keyword, value)
        return parse_lookup(keyword, value, fields, pk)

    if not args:  # Q(**kwargs): its lookups ANDed in keyword order
        return Where(tuple(leaf(keyword, value) for keyword, value in sorted(kwargs.items())))
    # Only now is Django's ORM needed (the caller has built Q objects, so it is loaded): a
    # project without database models never imports django.db.models for this library.
    from django.db.models import Q

    for q in args:
        if not isinstance(q, Q):
            raise TypeError(f"filter() positional arguments must be Q objects, got {q!r}.")

    def convert(q: Q) -> Where:
        if q.connector not in ("AND", "OR"):
            raise exceptions.NotSupportedError(
                f"{q.connector} between Q objects cannot be sent to an API."
            )
        children: list[Condition | Where] = []
        for child in q.children:
            if isinstance(child, Q):
                children.append(convert(child))
            else:
                children.append(leaf(*cast(tuple[str, Any], child)))
        return Where(tuple(children), AND if q.connector == "AND" else OR, q.negated)

    return convert(Q(*args, **kwargs))


def _materialize(keyword: str, value: Any) -> Any:
    """A one-shot iterator (a generator) for ``__in``/``__range`` becomes a tuple, so every
    evaluation of the queryset sees the same values."""
    if keyword.endswith(("__in", "__range")) and isinstance(value, Iterator):
        return tuple(value)
    return value


class QuerySet(Generic[M]):
    """A lazy query over a remote model's endpoint.

    Nothing is sent until the queryset is evaluated (iteration, ``len()``, ``bool()``,
    ``list()``, indexing) or a method such as ``count()`` or ``get()`` is called. Evaluation
    caches the rows: ``len()``, ``bool()`` and iteration then share one fetch.
    """

    _queryset_class: ClassVar[type[QuerySet[Any]] | None] = None
    model: type[M]

    def __init__(
        self,
        model: type[M] | None = None,
        query: RemoteQuery | None = None,
        using: str | None = None,
    ) -> None:
        # None for a manager declared in a model's class body, until the model binds it.
        self.model = model  # type: ignore[assignment]
        self._query = query or _EVERY_ROW
        self._using = using
        self._kind = "model"
        self._fields: tuple[str, ...] = ()
        self._flat = False
        self._named = False
        self._result_cache: list[Any] | None = None
        self._trusted = False
        self._related: tuple[str, ...] = ()  # prefetch_related()/select_related() lookups
        self._select: tuple[str, ...] = ()  # select_related() relations an API may nest

    # -- plumbing ----------------------------------------------------------------------------

    def _clone(self) -> Self:
        """A copy (Django's name: its admin and paginators call it)."""
        return self._chain()

    def _chain(self, **changes: Any) -> Self:
        cls = self._queryset_class or type(self)
        clone = cls.__new__(cls)
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(changes)
        clone._result_cache = None
        return clone  # type: ignore[return-value]

    def _service(self) -> Service:
        return self.model._meta.get_service(self._using)

    def _run(self, twin: str, make: Callable[..., Plan[T]], *args: Any) -> T:
        if sync_blocked():  # the message only when it is needed
            ensure_sync_allowed(f"{self.model.__name__}.objects.{twin[1:]}", twin)
        service = self._service()
        with _observe.call(self.model, twin, service):
            return service.run(make(self, service.context, self._qctx(service), *args))

    async def _arun(self, make: Callable[..., Plan[T]], *args: Any) -> T:
        service = self._service()
        with _observe.call(self.model, None, service):
            return await service.arun(make(self, service.context, self._qctx(service), *args))

    def _qctx(self, service: Service) -> QueryContext:
        return self.model._meta.query_context(service)

    def _check_lookups(self, args: Iterable[Q], kwargs: dict[str, Any]) -> Where:
        """The lookups, checked against the schema, as the core's condition tree."""
        meta = self.model._meta
        rewrite = meta.relation_lookup if meta.relations or meta.reverse_relations else None
        return where_of(args, kwargs, meta.fields, meta.pk_field, rewrite)

    def _not_sliced(self, action: str) -> None:
        if self._query.is_sliced:
            raise TypeError(f"Cannot {action} a query once a slice has been taken.")

    # -- building ----------------------------------------------------------------------------

    def all(self) -> QuerySet[M]:
        """A copy of this queryset."""
        return self._chain()

    def filter(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Rows matching the lookups (``year__gte=1990``) and Q objects, ANDed."""
        return self._filter_or_exclude(False, args, kwargs)

    def exclude(self, *args: Q, **kwargs: Any) -> QuerySet[M]:
        """Rows not matching; what the API cannot negate raises NotSupportedError."""
        return self._filter_or_exclude(True, args, kwargs)

    def _filter_or_exclude(
        self, negate: bool, args: tuple[Q, ...], kwargs: dict[str, Any]
    ) -> QuerySet[M]:
        if not args and not kwargs:
            return self._chain()
        self._not_sliced("filter")
        query = self._query
        meta = self.model._meta
        across = [key for key in kwargs if meta.crosses_relation(key)]
        if across and not negate and self._service().context.dialect.related_lookups:
            # Sent as the API's own parameters; like params(), not checked against rows.
            dialect = self._service().context.dialect
            for key in across:
                query = query.with_param_list(dialect.related_params(key, kwargs.pop(key)))
            if not args and not kwargs:
                return self._chain(_query=query)
        where = self._check_lookups(args, kwargs)
        return self._chain(_query=query.add_where(~where if negate else where))

    def order_by(self, *fields: str) -> QuerySet[M]:
        """Order by fields (``"-year"`` for descending); replaces any earlier ordering."""
        self._not_sliced("reorder")
        meta = self.model._meta
        fields = tuple(
            ("-" if name.startswith("-") else "") + meta.attname(name.lstrip("-"))
            for name in fields
        )
        for name in fields:
            bare = name.lstrip("-")
            if bare not in ("pk", "?") and bare not in meta.fields:
                raise FieldError(
                    f"Cannot resolve keyword {bare!r} into field. "
                    f"Choices are: {', '.join(sorted(meta.fields))}"
                )
        return self._chain(_query=self._query.with_ordering(fields))

    def none(self) -> QuerySet[M]:
        """A queryset that matches nothing and never sends a request."""
        return self._chain(_query=replace(self._query, empty=True))

    def reverse(self) -> QuerySet[M]:
        """The same rows in the opposite order."""
        self._not_sliced("reverse")
        return self._chain(_query=self._query.reversed(self.model._meta.pk_field))

    def using(self, alias: str) -> QuerySet[M]:
        """Send this query to another service of ``API_ORM_SERVICES``."""
        return self._chain(_using=alias)

    def params(self, **params: Any) -> QuerySet[M]:
        """Add the API's own query parameters (e.g. ``search="dune"``), sent unchanged."""
        return self._chain(_query=self._query.with_params(params))

    def prefetch_related(self, *lookups: str | None) -> QuerySet[M]:
        """Load the related objects of every row in batches when the queryset is evaluated:
        ``"book"`` (a RemoteForeignKey) costs one batched ``pk__in`` request, ``"reviews"``
        (a reverse accessor) one batched listing; ``"reviews__book"`` goes on. ``None``
        clears the list."""
        if lookups == (None,):
            return self._chain(_related=())
        for lookup in lookups:
            _prefetch.check_lookup(self.model, str(lookup))
        return self._chain(_related=self._related + cast(tuple[str, ...], lookups))

    def select_related(self, *fields: str | None) -> QuerySet[M]:
        """Load forward relations (``"book"``, ``"book__author"``) with the rows: nested in
        the same answer when the service's ``EXPAND_PARAM`` lets the API nest them, else
        (and for rows it did not nest) one batched request per relation, as
        :meth:`prefetch_related`."""
        if fields == (None,):
            return self._chain(_related=(), _select=())
        names = cast(tuple[str, ...], fields)
        for name in names:
            _prefetch.check_lookup(self.model, name, forward_only=True)
        first = tuple(dict.fromkeys(name.split("__")[0] for name in names))
        return self._chain(_related=self._related + names, _select=self._select + first)

    def _load_related(self, objs: list[Any]) -> list[Any]:
        if self._related and self._kind == "model" and objs:
            _prefetch.load(objs, self._related)
        return objs

    async def _aload_related(self, objs: list[Any]) -> list[Any]:
        if self._related and self._kind == "model" and objs:
            await _prefetch.aload(objs, self._related)
        return objs

    def _one_related(self, obj: T) -> T:
        if obj is not None:
            self._load_related([obj])
        return obj

    async def _aone_related(self, obj: T) -> T:
        if obj is not None:
            await self._aload_related([obj])
        return obj

    @classmethod
    def as_manager(cls) -> Any:
        """A manager whose querysets are this class, as Django's ``QuerySet.as_manager()``:
        ``objects = BookQuerySet.as_manager()``."""
        base = AsyncManager if issubclass(cls, AsyncQuerySet) else Manager
        return base.from_queryset(cls)()

    def trust_api(self) -> QuerySet[M]:
        """Let ``update()``/``delete()`` write to rows the library cannot check against the
        query: conditions sent with ``params()`` (a search, the API's own filters). Rows are
        still checked against every condition the library can evaluate."""
        return self._chain(_trusted=True)

    def values(self, *fields: str) -> QuerySet[Any]:
        """Rows as dicts of ``fields`` (all fields when none are named)."""
        fields = tuple(map(self.model._meta.attname, fields))
        self.model._meta.check_fields(fields, "values()")
        return self._chain(_kind="values", _fields=fields)

    def values_list(self, *fields: str, flat: bool = False, named: bool = False) -> QuerySet[Any]:
        """Rows as tuples of ``fields``; ``flat=True`` with one field gives bare values."""
        if flat and named:
            raise TypeError("'flat' and 'named' can't be used together.")
        if flat and len(fields) > 1:
            raise TypeError(
                "'flat' is not valid when values_list is called with more than one field."
            )
        fields = tuple(map(self.model._meta.attname, fields))
        self.model._meta.check_fields(fields, "values_list()")
        return self._chain(_kind="values_list", _fields=fields, _flat=flat, _named=named)

    @property
    def ordered(self) -> bool:
        """Always True: a remote list comes in an order the API keeps stable across pages
        (its default, or ``order_by()``), so Django's Paginator has nothing to warn about."""
        return True

    @property
    def query(self) -> RemoteQuery:
        """The underlying :class:`RemoteQuery` (``explain()`` shows the request)."""
        return self._query

    def explain(self) -> str:
        """The first request this queryset would send, without sending it; then the
        conditions the rows cannot be checked against (``params()``), if any."""
        service = self._service()
        walker = PageWalker(
            service.context, self.model._meta.endpoint, self._query, self._qctx(service)
        )
        request = walker.first_request
        if request is None:
            return "(no request: the slice is empty)"
        query = urlencode(list(request.params))
        explained = f"GET {service.settings.BASE_URL}{request.url}" + (f"?{query}" if query else "")
        check = RowCheck.of(service.context, self._qctx(service), walker.endpoint, self._query)
        if check.unchecked:
            explained += f"\nnot checked against the rows: {', '.join(check.unchecked)}"
        return explained

    # -- results -----------------------------------------------------------------------------

    def _shape(self, objs: list[Any]) -> list[Any]:
        if self._kind == "model":
            return objs
        names = self._fields or self.model._meta.field_names
        rows = [tuple(getattr(obj, name) for name in names) for obj in objs]
        if self._kind == "values":
            return [dict(zip(names, row, strict=True)) for row in rows]
        if self._flat:
            return [row[0] for row in rows]
        if self._named:
            row_class = namedtuple("Row", names)  # type: ignore[misc]
            return [row_class(*row) for row in rows]
        return rows

    def _walker(
        self,
        ctx: ServiceContext,
        qctx: QueryContext,
        query: RemoteQuery | None = None,
        *,
        strict: bool = False,
        page_size: int | None = None,
        stream: bool = False,
    ) -> PageWalker:
        """The page walk of ``query`` (this queryset's by default), delivering objects built
        from each page and checked against the query (see ``_core.verify``). ``strict``
        raises on a row that does not match, whatever the service's VERIFY mode; a strict
        walk (the listing of a write) never reads ahead, so a refused page is the last
        request sent."""
        query = self._query if query is None else query
        endpoint = self.model._meta.endpoint
        check = RowCheck.of(ctx, qctx, endpoint, query)
        model, trusted = self.model, self._trusted
        expand = self._select if ctx.dialect.expand_param and self._kind == "model" else ()
        if expand:  # rows come as dicts, their nested related rows taken out first
            query, qctx = replace(query, expand=expand), replace(qctx, fast_page=None)

        def convert(rows: list[Any]) -> list[Any]:
            nested = _prefetch.take_nested(model, rows, expand) if expand else None
            objs = model._many_from_api(rows, endpoint)
            if nested:
                _prefetch.attach_nested(model, objs, nested, endpoint)
            return self._shape(check.apply(objs, ctx.verify, strict=strict, trusted=trusted))

        return PageWalker(
            ctx,
            endpoint,
            query,
            qctx,
            page_size=page_size,
            stream=stream,
            convert=convert,
            read_ahead=ctx.read_ahead and not strict,
        )

    def _fetch_all(self) -> list[Any]:
        if self._result_cache is None:
            self._result_cache = self._load_related(self._run("aall", reads.fetch))
        return self._result_cache

    async def _afetch_all(self) -> list[Any]:
        if self._result_cache is None:
            self._result_cache = await self._aload_related(await self._arun(reads.fetch))
        return self._result_cache

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fetch_all())

    async def __aiter__(self) -> AsyncIterator[Any]:
        # Streams with read-ahead (pages started ahead, see _core.walk); a full pass fills
        # the cache.
        if self._result_cache is not None:
            for item in self._result_cache:
                yield item
            return
        results = []
        async for item in self._astream(None):
            results.append(item)
            yield item
        self._result_cache = results

    def __len__(self) -> int:
        return len(self._fetch_all())

    def __bool__(self) -> bool:
        return bool(self._fetch_all())

    async def aall(self) -> list[Any]:
        """Evaluate asynchronously and return the rows as a list."""
        return list(await self._afetch_all())

    def __getitem__(self, k: int | slice) -> Any:
        if not isinstance(k, int | slice):
            raise TypeError(f"QuerySet indices must be integers or slices, not {type(k).__name__}.")
        if (isinstance(k, int) and k < 0) or (
            isinstance(k, slice)
            and ((k.start is not None and k.start < 0) or (k.stop is not None and k.stop < 0))
        ):
            raise ValueError("Negative indexing is not supported.")
        if self._result_cache is not None:
            return self._result_cache[k]
        if isinstance(k, slice):
            clone = self._chain(_query=self._query.sliced(k.start, k.stop))
            return list(clone)[:: k.step] if k.step else clone
        clone = self._chain(_query=self._query.sliced(k, k + 1))
        return clone._fetch_all()[0]

    def __repr__(self) -> str:
        if self._result_cache is not None:
            return f"<{type(self).__name__} {self._result_cache!r}>"
        return f"<{type(self).__name__} of {self.model.__name__} (not evaluated)>"

    # -- plans -------------------------------------------------------------------------------

    def _pk_value(self) -> Any:
        """The pk when the query is exactly ``pk=value`` (→ a detail GET), else None."""
        query = self._query
        if query.is_sliced or query.extra_params or query.where.negated:
            return None
        children = query.where.children
        if len(children) != 1 or isinstance(children[0], Where):
            return None
        condition = children[0]
        if (condition.field, condition.lookup) != (self.model._meta.pk_field, "exact"):
            return None
        return condition.value

    def _from_answer(self, answer: objects.Answer) -> Any:
        obj = self.model._from_api(answer.data or {}, self.model._meta.endpoint)
        obj.__dict__["_etag"] = answer.etag
        return obj

    def _does_not_exist(self) -> Exception:
        return self.model.DoesNotExist(
            f"{self.model._meta.object_name} matching query does not exist."
        )

    def _multiple_objects(self, total: int) -> Exception:
        return self.model.MultipleObjectsReturned(
            f"get() returned more than one {self.model._meta.object_name} -- it returned {total}!"
        )

    def _missing_error(self) -> type[Exception]:
        return self.model.DoesNotExist

    def _new_for_create(self, kwargs: dict[str, Any], defaults: Any) -> M:
        pk = self.model._meta.pk_field
        params = {(pk if k == "pk" else k): v for k, v in kwargs.items() if "__" not in k}
        params.update(writes.resolve_callables(dict(defaults or {})))
        return self.model(**params)

    def _computes(self, values: dict[str, Any]) -> bool:
        return expressions.has_expressions(values)

    def _computed(self, values: dict[str, Any], obj: Any) -> dict[str, Any]:
        return {name: expressions.resolve(value, obj) for name, value in values.items()}

    def _pk_attr(self, field: str) -> str:
        return self.model._meta.pk_field if field == "pk" else field

    @property
    def endpoint(self) -> str:
        """The model's endpoint (for the plans)."""
        return self.model._meta.endpoint

    @property
    def label(self) -> str:
        """The model's label, ``app.Model`` (for ``delete()``'s count)."""
        return self.model._meta.label

    @property
    def trusted(self) -> bool:
        """Whether ``trust_api()`` was called."""
        return self._trusted

    def _as_models(self) -> QuerySet[M]:
        return self._chain(_kind="model", _fields=())

    # -- Django's vocabulary, twice ------------------------------------------------------------

    def get(self, *args: Q, **kwargs: Any) -> M:
        """The one matching object: ``get(pk=7)`` is ``GET endpoint/7/``; other lookups fetch
        at most 2 rows. Raises ``Model.DoesNotExist`` / ``Model.MultipleObjectsReturned``."""
        qs = self._for_get(args, kwargs)
        return cast(M, qs._one_related(qs._run("aget", reads.get)))

    async def aget(self, *args: Q, **kwargs: Any) -> M:
        """Async twin of :meth:`get`."""
        qs = self._for_get(args, kwargs)
        return cast(M, await qs._aone_related(await qs._arun(reads.get)))

    def _for_get(self, args: tuple[Q, ...], kwargs: dict[str, Any]) -> QuerySet[M]:
        return self.filter(*args, **kwargs) if args or kwargs else self

    def first(self) -> M | None:
        """The first object (by pk when unordered), or None."""
        return cast(M | None, self._one_related(self._for_first()._run("afirst", reads.first)))

    async def afirst(self) -> M | None:
        """Async twin of :meth:`first`."""
        return await self._aone_related(await self._for_first()._arun(reads.first))

    def _for_first(self) -> QuerySet[M]:
        if self._query.ordering or self._query.is_sliced:
            return self
        return self.order_by("pk")

    def last(self) -> M | None:
        """The last object (by pk when unordered), or None: fetched with reversed ordering."""
        return cast(M | None, self._one_related(self.reverse()._run("alast", reads.first)))

    async def alast(self) -> M | None:
        """Async twin of :meth:`last`."""
        return await self._aone_related(await self.reverse()._arun(reads.first))

    def count(self) -> int:
        """How many objects match, from the API's total (one small request)."""
        if self._result_cache is not None:
            return len(self._result_cache)
        return self._run("acount", reads.count)

    async def acount(self) -> int:
        """Async twin of :meth:`count`."""
        if self._result_cache is not None:
            return len(self._result_cache)
        return await self._arun(reads.count)

    def exists(self) -> bool:
        """Whether anything matches, asking for one row at most."""
        if self._result_cache is not None:
            return bool(self._result_cache)
        return self._run("aexists", reads.exists)

    async def aexists(self) -> bool:
        """Async twin of :meth:`exists`."""
        if self._result_cache is not None:
            return bool(self._result_cache)
        return await self._arun(reads.exists)

    def create(self, **fields: Any) -> M:
        """Validate locally, then POST (with an Idempotency-Key); returns the saved object."""
        return cast(M, self._run("acreate", writes.create, self.model(**fields)))

    async def acreate(self, **fields: Any) -> M:
        """Async twin of :meth:`create`."""
        return await self._arun(writes.create, self.model(**fields))

    def get_or_create(self, defaults: Any = None, **kwargs: Any) -> tuple[M, bool]:
        """``(object, created)``: get by ``kwargs``, else create with ``kwargs`` + ``defaults``."""
        self._check_lookups((), kwargs)
        return self._run("aget_or_create", writes.get_or_create, defaults, kwargs)

    async def aget_or_create(self, defaults: Any = None, **kwargs: Any) -> tuple[M, bool]:
        """Async twin of :meth:`get_or_create`."""
        self._check_lookups((), kwargs)
        return await self._arun(writes.get_or_create, defaults, kwargs)

    def update_or_create(
        self, defaults: Any = None, create_defaults: Any = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """``(object, created)``: PATCH ``defaults`` onto the match, else create it."""
        self._check_lookups((), kwargs)
        return self._run(
            "aupdate_or_create", writes.update_or_create, defaults, create_defaults, kwargs
        )

    async def aupdate_or_create(
        self, defaults: Any = None, create_defaults: Any = None, **kwargs: Any
    ) -> tuple[M, bool]:
        """Async twin of :meth:`update_or_create`."""
        self._check_lookups((), kwargs)
        return await self._arun(writes.update_or_create, defaults, create_defaults, kwargs)

    def bulk_create(self, objs: Iterable[M | dict[str, Any]]) -> list[M]:
        """Create each object (instances or dicts); concurrently in the async twin."""
        return self._run("abulk_create", writes.bulk_create, self._instances(objs))

    async def abulk_create(self, objs: Iterable[M | dict[str, Any]]) -> list[M]:
        """Async twin of :meth:`bulk_create`."""
        return await self._arun(writes.bulk_create, self._instances(objs))

    def _instances(self, objs: Iterable[M | dict[str, Any]]) -> list[M]:
        return [obj if isinstance(obj, self.model) else self.model(**obj) for obj in objs]

    def in_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, M]:
        """``{pk: object}`` for ``id_list`` (batched ``pk__in`` requests), or for every row."""
        ids = self._for_in_bulk(id_list, field_name)
        if ids == []:
            return {}
        found: dict[Any, M] = self._run("ain_bulk", reads.in_bulk, ids, field_name)
        self._load_related(list(found.values()))
        return found

    async def ain_bulk(
        self, id_list: Iterable[Any] | None = None, *, field_name: str = "pk"
    ) -> dict[Any, M]:
        """Async twin of :meth:`in_bulk`."""
        ids = self._for_in_bulk(id_list, field_name)
        if ids == []:
            return {}
        found: dict[Any, M] = await self._arun(reads.in_bulk, ids, field_name)
        await self._aload_related(list(found.values()))
        return found

    def _for_in_bulk(self, id_list: Iterable[Any] | None, field_name: str) -> list[Any] | None:
        self._not_sliced("use in_bulk() on")
        if self._kind != "model":
            raise TypeError("in_bulk() cannot be used with values() or values_list().")
        self.model._meta.check_fields([field_name], "in_bulk()")
        return None if id_list is None else list(dict.fromkeys(id_list))

    def update(self, **fields: Any) -> int:
        """PATCH ``fields`` onto every matching object; returns how many were updated."""
        fields = self._for_write("update", fields)
        return self._run("aupdate", writes.update, fields)

    async def aupdate(self, **fields: Any) -> int:
        """Async twin of :meth:`update` (its PATCHes run concurrently, bounded)."""
        fields = self._for_write("update", fields)
        return await self._arun(writes.update, fields)

    def delete(self) -> tuple[int, dict[str, int]]:
        """DELETE every matching object; returns ``(count, {label: count})`` like Django."""
        self._for_write("delete", {})
        return self._run("adelete", writes.delete)

    async def adelete(self) -> tuple[int, dict[str, int]]:
        """Async twin of :meth:`delete` (its DELETEs run concurrently, bounded)."""
        self._for_write("delete", {})
        return await self._arun(writes.delete)

    def _for_write(self, action: str, fields: dict[str, Any]) -> dict[str, Any]:
        if self._query.is_sliced:
            raise TypeError(f"Cannot {action} a query once a slice has been taken.")
        meta = self.model._meta
        fields = meta.relation_values(fields)
        meta.check_fields(fields, f"{action}()")
        for name, value in fields.items():
            expressions.validate(value, meta.fields, f"{meta.object_name}.{action}({name}=...)")
        return fields

    def bulk_update(self, objs: Iterable[M], fields: Iterable[str]) -> int:
        """PATCH ``fields`` of each object (one request each); returns how many."""
        objs, names = self._for_bulk_update(objs, fields)
        return self._run("abulk_update", writes.bulk_update, objs, names)

    async def abulk_update(self, objs: Iterable[M], fields: Iterable[str]) -> int:
        """Async twin of :meth:`bulk_update` (its PATCHes run concurrently, bounded)."""
        objs, names = self._for_bulk_update(objs, fields)
        return await self._arun(writes.bulk_update, objs, names)

    def _for_bulk_update(
        self, objs: Iterable[M], fields: Iterable[str]
    ) -> tuple[list[M], list[str]]:
        objs, names = list(objs), list(map(self.model._meta.attname, fields))
        if not names:
            raise ValueError("Field names must be given to bulk_update().")
        self.model._meta.check_fields(names, "bulk_update()", ValueError)
        if any(obj.pk is None for obj in objs):
            raise ValueError("All bulk_update() objects must have a primary key set.")
        return objs, names

    def latest(self, *fields: str) -> M:
        """The last object by ``fields`` (or the model's ``_get_latest_by``); DoesNotExist
        when there is none."""
        qs = self._latest_query(fields, reverse=True)
        return cast(M, self._one_related(qs._run("alatest", reads.only)))

    async def alatest(self, *fields: str) -> M:
        """Async twin of :meth:`latest`."""
        qs = self._latest_query(fields, reverse=True)
        return await self._aone_related(await qs._arun(reads.only))

    def earliest(self, *fields: str) -> M:
        """The first object by ``fields`` (or the model's ``_get_latest_by``)."""
        qs = self._latest_query(fields, reverse=False)
        return cast(M, self._one_related(qs._run("aearliest", reads.only)))

    async def aearliest(self, *fields: str) -> M:
        """Async twin of :meth:`earliest`."""
        qs = self._latest_query(fields, reverse=False)
        return await self._aone_related(await qs._arun(reads.only))

    def _latest_query(self, fields: tuple[str, ...], *, reverse: bool) -> QuerySet[M]:
        self._not_sliced("change the ordering of")
        order = fields or tuple(getattr(self.model, "_get_latest_by", None) or ())
        if isinstance(order, str):
            order = (order,)
        if not order:
            raise ValueError(
                "earliest() and latest() require either fields as positional arguments or "
                "'_get_latest_by' on the model."
            )
        if reverse:
            order = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in order)
        return cast(QuerySet[M], self.order_by(*order)[:1])

    def contains(self, obj: M) -> bool:
        """Whether ``obj`` is among the rows: one request asking for its pk."""
        return self._for_contains(obj).exists()

    async def acontains(self, obj: M) -> bool:
        """Async twin of :meth:`contains`."""
        return await self._for_contains(obj).aexists()

    def _for_contains(self, obj: M) -> QuerySet[M]:
        if not isinstance(obj, self.model):
            raise TypeError(f"'obj' must be a {self.model.__name__} instance.")
        if obj.pk is None:
            raise ValueError("QuerySet.contains() cannot be used on unsaved objects.")
        if self._result_cache is not None:
            return self.filter(pk=obj.pk) if obj in self._result_cache else self.none()
        return self.filter(pk=obj.pk)

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, int]:
        """``aggregate(Count("pk"))`` (or ``n=Count("id")``) from the API's total; other
        aggregates need the rows: NotSupportedError."""
        names = self._count_names(args, kwargs)
        total = self._run("aaggregate", reads.count)
        return dict.fromkeys(names, total)

    async def aaggregate(self, *args: Any, **kwargs: Any) -> dict[str, int]:
        """Async twin of :meth:`aggregate`."""
        names = self._count_names(args, kwargs)
        return dict.fromkeys(names, await self._arun(reads.count))

    def _count_names(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[str]:
        from django.db.models import Count  # loaded: the caller built the aggregates

        meta = self.model._meta
        named = [(None, a) for a in args] + list(kwargs.items())
        names = []
        for name, aggregate in named:
            expressions_ = getattr(aggregate, "source_expressions", [None])
            source = expressions_[0] if expressions_ else None
            field = getattr(source, "name", None)
            if (
                not isinstance(aggregate, Count)
                or getattr(aggregate, "distinct", False)
                or aggregate.filter is not None
                or field not in (*meta.fields, "pk", "*")
            ):
                raise exceptions.NotSupportedError(
                    f"{meta.object_name}: only Count(field) can be read from the API (its "
                    f"total); {aggregate!r} would need every row. Compute it from the rows "
                    "(e.g. sum(b.price for b in qs)) if that is what you mean."
                )
            names.append(name or f"{field}__count")
        return names

    def iterator(self, chunk_size: int | None = None) -> Iterator[Any]:
        """Stream the rows page by page (``chunk_size`` rows per request), without caching."""
        ensure_sync_allowed(f"{self.model.__name__}.objects.iterator", "aiterator")
        service = self._service()
        batches = service.stream(self._streaming(service, chunk_size))
        for objs in _observe.pages(self.model, "iterator", service, batches):
            yield from self._load_related(objs)

    async def aiterator(self, chunk_size: int | None = None) -> AsyncIterator[Any]:
        """Async twin of :meth:`iterator`, fetching ahead (concurrently when the total is known)."""
        async for item in self._astream(chunk_size):
            yield item

    async def _astream(self, chunk_size: int | None) -> AsyncIterator[Any]:
        service = self._service()
        batches = service.astream(self._streaming(service, chunk_size))
        async with aclosing(_observe.apages(self.model, "aiterator", service, batches)) as pages:
            async for objs in pages:
                for item in await self._aload_related(objs):
                    yield item

    def _streaming(self, service: Service, chunk_size: int | None) -> Plan[list[Any]]:
        walker = self._walker(
            service.context, self._qctx(service), page_size=chunk_size, stream=True
        )
        return walker.walk()


_UNSUPPORTED = {
    "annotate": "a REST API computes no per-row expressions; compute them from the rows",
    "alias": "a REST API computes no per-row expressions; compute them from the rows",
    "distinct": "a REST API lists each row once by its pk already",
    "only": "the API sends whole rows, validated by the model's schema",
    "defer": "the API sends whole rows, validated by the model's schema",
    "select_for_update": "a REST API holds no row locks; writes send If-Match when the API "
    "gives ETags",
    "raw": "there is no SQL behind a remote model; use params() for the API's own parameters",
    "extra": "there is no SQL behind a remote model; use params() for the API's own parameters",
    "union": "combining two API listings would need every row of both",
    "intersection": "combining two API listings would need every row of both",
    "difference": "combining two API listings would need every row of both",
    "dates": "the API has no date truncation; read the rows and truncate them",
    "datetimes": "the API has no date truncation; read the rows and truncate them",
}


def _unsupported(name: str, why: str) -> Callable[..., Any]:
    def method(self: QuerySet[Any], *args: Any, **kwargs: Any) -> Any:
        raise exceptions.NotSupportedError(
            f"{self.model.__name__}.objects.{name}() is not supported on a remote model: {why}."
        )

    method.__name__ = name
    method.__doc__ = f"Not supported on remote models ({why}): raises NotSupportedError."
    return method


for _name, _why in _UNSUPPORTED.items():
    setattr(QuerySet, _name, _unsupported(_name, _why))


# Templates must not call methods that write (Django's `alters_data` convention).
for _name in (
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "update",
    "delete",
):
    getattr(QuerySet, _name).alters_data = True
    getattr(QuerySet, "a" + _name).alters_data = True


class Manager(QuerySet[M]):
    """``Model.objects``: the entry point to querysets.

    Every public queryset method is proxied to :meth:`get_queryset` (override it to narrow
    every use of the manager, as in Django); to iterate, call ``.all()`` first. Declare your
    own in the model's class body (``objects = BookManager()``), build one from a queryset
    class (``Manager.from_queryset(BookQuerySet)``, ``BookQuerySet.as_manager()``).
    """

    _queryset_class: ClassVar[type[QuerySet[Any]] | None] = QuerySet
    _is_manager: ClassVar[bool] = True

    def get_queryset(self) -> QuerySet[M]:
        """A fresh queryset over every row."""
        cls = self._queryset_class or QuerySet
        return cls(self.model, using=self._using)

    def all(self) -> QuerySet[M]:
        """``get_queryset()`` itself, not a copy: rows it already holds (a related manager's
        prefetched rows) stay, as Django's ``Manager.all()``."""
        return self.get_queryset()

    @classmethod
    def from_queryset(
        cls, queryset_class: type[QuerySet[Any]], class_name: str | None = None
    ) -> Any:
        """A manager class whose querysets are ``queryset_class``, with its methods."""
        attrs: dict[str, Any] = {"_queryset_class": queryset_class}
        for klass in queryset_class.__mro__:
            if klass in (QuerySet, AsyncQuerySet) or not issubclass(klass, QuerySet):
                break
            for name, value in vars(klass).items():
                if not name.startswith("_") and callable(value) and name not in attrs:
                    attrs[name] = _proxy(name, value)
        name = class_name or f"{cls.__name__}From{queryset_class.__name__}"
        return type(name, (cls,), attrs)

    def _fetch_all(self) -> list[Any]:
        return self.get_queryset()._fetch_all()  # never cache rows on the shared manager

    async def _afetch_all(self) -> list[Any]:
        return await self.get_queryset()._afetch_all()

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(f"'{type(self).__name__}' object is not iterable; use .all()")

    def __aiter__(self) -> AsyncIterator[Any]:
        raise TypeError(f"'{type(self).__name__}' object is not iterable; use .all()")

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        raise TypeError(f"object of type '{type(self).__name__}' has no len(); use .count()")

    def __repr__(self) -> str:
        model = self.model.__name__ if self.model is not None else "(unbound)"
        return f"<{type(self).__name__} for {model}>"


def _proxy(name: str, original: Any) -> Any:
    """``manager.name(...)`` → ``manager.get_queryset().name(...)``, of the same colour (a
    coroutine function stays one, for asgiref and inspect)."""
    method: Any
    if inspect.isasyncgenfunction(original):

        async def method(self: Manager[Any], *args: Any, **kwargs: Any) -> Any:
            async for item in getattr(self.get_queryset(), name)(*args, **kwargs):
                yield item

    elif inspect.iscoroutinefunction(original):

        async def method(self: Manager[Any], *args: Any, **kwargs: Any) -> Any:
            return await getattr(self.get_queryset(), name)(*args, **kwargs)

    else:

        def method(self: Manager[Any], *args: Any, **kwargs: Any) -> Any:
            return getattr(self.get_queryset(), name)(*args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"Manager.{name}"
    method.__doc__ = getattr(original, "__doc__", None)
    if getattr(original, "alters_data", False):
        method.alters_data = True
    return method


class AsyncQuerySet(QuerySet[M]):
    """The queryset of :class:`~django_api_orm.AsyncAPIModel`: unprefixed methods are
    awaitable (``await User.objects.count()``) and so is the queryset itself (the list)."""

    get = QuerySet.aget  # type: ignore[assignment]
    first = QuerySet.afirst  # type: ignore[assignment]
    last = QuerySet.alast  # type: ignore[assignment]
    count = QuerySet.acount  # type: ignore[assignment]
    exists = QuerySet.aexists  # type: ignore[assignment]
    create = QuerySet.acreate  # type: ignore[assignment]
    get_or_create = QuerySet.aget_or_create  # type: ignore[assignment]
    update_or_create = QuerySet.aupdate_or_create  # type: ignore[assignment]
    bulk_create = QuerySet.abulk_create  # type: ignore[assignment]
    in_bulk = QuerySet.ain_bulk  # type: ignore[assignment]
    update = QuerySet.aupdate  # type: ignore[assignment]
    delete = QuerySet.adelete  # type: ignore[assignment]
    iterator = QuerySet.aiterator  # type: ignore[assignment]
    bulk_update = QuerySet.abulk_update  # type: ignore[assignment]
    latest = QuerySet.alatest  # type: ignore[assignment]
    earliest = QuerySet.aearliest  # type: ignore[assignment]
    contains = QuerySet.acontains  # type: ignore[assignment]
    aggregate = QuerySet.aaggregate  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return self.aall().__await__()

    def _fetch(self) -> Awaitable[list[Any]]:
        """Seed 000's ``await qs._fetch()``: the rows as a list."""
        return self.aall()


class AsyncManager(AsyncQuerySet[M]):
    """``Model.objects`` of :class:`~django_api_orm.AsyncAPIModel`."""

    _queryset_class: ClassVar[type[QuerySet[Any]] | None] = AsyncQuerySet

    _is_manager: ClassVar[bool] = True
    get_queryset = Manager.get_queryset
    all = Manager.all
    from_queryset = Manager.__dict__["from_queryset"]
    _fetch_all = Manager._fetch_all
    _afetch_all = Manager._afetch_all
    __iter__ = Manager.__iter__
    __aiter__ = Manager.__aiter__
    __bool__ = Manager.__bool__
    __len__ = Manager.__len__
    __repr__ = Manager.__repr__


# Every public queryset method of a manager goes through get_queryset(), as in Django.
_MANAGER_OWN = {"get_queryset", "from_queryset", "as_manager", "all"}
for _manager_class, _queryset in ((Manager, QuerySet), (AsyncManager, AsyncQuerySet)):
    for _name in dir(_queryset):
        _value = getattr(_queryset, _name)
        if (
            _name.startswith("_")
            or _name in _MANAGER_OWN
            or isinstance(inspect.getattr_static(_queryset, _name), property | classmethod)
            or not callable(_value)
        ):
            continue
        setattr(_manager_class, _name, _proxy(_name, _value))
