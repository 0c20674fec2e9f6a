"""Remote models: a pydantic schema plus an endpoint, with Django's model vocabulary.

::

    class Book(APIModel):
        _schema_class = BookSchema      # a pydantic BaseModel
        _endpoint = "books/"            # relative to the service's BASE_URL
        _service = "default"            # an alias of API_ORM_SERVICES (optional)
        _pk_field = "id"                # optional

Every instance method that talks to the API has an ``a``-twin (``save``/``asave``...); both
run the same plan (see :mod:`django_api_orm._core.records`). The metaclass and ``_meta``
live in :mod:`django_api_orm.options`.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pydantic
from pydantic import BaseModel

from . import _observe, exceptions
from ._async_safety import ensure_sync_allowed
from ._core import records
from ._core.messages import Plan
from ._core.objects import Answer
from ._core.plans import ServiceContext
from .options import RELATED_CACHE, APIModelBase, ModelOptions, all_models

if TYPE_CHECKING:
    from .queryset import AsyncManager, Manager

__all__ = ["APIModel", "AsyncAPIModel", "ModelOptions", "all_models"]

M = TypeVar("M", bound="APIModel")
T = TypeVar("T")


class APIModel(metaclass=APIModelBase):
    """A row of a remote REST resource. Subclass with ``_schema_class`` and ``_endpoint``."""

    _schema_class: ClassVar[type[BaseModel]]
    _endpoint: ClassVar[str]
    _service: ClassVar[str] = "default"
    _pk_field: ClassVar[str] = "id"
    _filterable_fields: ClassVar[Sequence[str] | None] = None
    _orderable_fields: ClassVar[Sequence[str] | None] = None
    _filter_lookups: ClassVar[Mapping[str, Sequence[str]] | None] = None
    _meta: ClassVar[ModelOptions]
    DoesNotExist: ClassVar[type[exceptions.DoesNotExist]]
    MultipleObjectsReturned: ClassVar[type[exceptions.MultipleObjectsReturned]]

    if TYPE_CHECKING:
        objects: ClassVar[Manager[Any]]
        _default_manager: ClassVar[Manager[Any]]
        _base_manager: ClassVar[Manager[Any]]

    _data: BaseModel
    # True until the object exists on the API: save() then POSTs, even with a preset pk.
    _adding: bool = False

    def __init__(self, **fields: Any) -> None:
        meta = self._meta
        related = {}
        for name, field in meta.relations.items():
            if isinstance(fields.get(name), APIModel):  # else a key sent by its wire name
                related[name] = obj = fields.pop(name)
                fields[field.attname] = field.target_pk(obj)
        unknown = [name for name in fields if name not in meta.accepted_names]
        if unknown:
            raise TypeError(
                f"{meta.object_name}() got unexpected keyword arguments: "
                + ", ".join(repr(name) for name in unknown)
            )
        self._data = meta.schema(**fields)
        self._adding = True
        if related:
            self.__dict__[RELATED_CACHE] = related

    @classmethod
    def _manager_class(cls) -> type[Any]:
        from .queryset import Manager

        return Manager

    @classmethod
    def _from_api(cls: type[M], data: Mapping[str, Any], where: str = "") -> M:
        """An instance from the API's JSON, or ResponseError naming model and field."""
        return cls._many_from_api([data], where)[0]

    @classmethod
    def _many_from_api(cls: type[M], rows: Any, where: str = "") -> list[M]:
        """Instances from a page of rows, validated in one call (the hot path of listing)."""
        schema = cls._meta.schema
        try:
            if rows and type(rows[0]) is schema:
                validated = rows  # validated with the page (see ModelOptions._fast_page)
            else:
                validated = cls._meta.list_validator.validate_python(rows)
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"][1:])  # [0] is the row's index
            raise exceptions.ResponseError(
                f"{cls.__name__}: the API's data does not match {cls._meta.schema.__name__}: "
                f"field {field!r}: {first['msg']} ({error.error_count()} error(s))",
                url=where,
                model=cls.__name__,
                field=field,
            ) from None
        # An attribute, not obj.__dict__[...]: the instance keeps its inline attribute
        # values and no dict is made per row until one is asked for (less to collect).
        new = cls.__new__
        objs: list[M] = []
        append = objs.append
        for data in validated:
            obj = new(cls)
            obj._data = data
            append(obj)
        return objs

    # -- identity ----------------------------------------------------------------------------

    @property
    def pk(self) -> Any:
        """The primary key (the ``_pk_field`` value); None until the object is created."""
        return getattr(self._data, self._meta.pk_field)

    @pk.setter
    def pk(self, value: Any) -> None:
        setattr(self, self._meta.pk_field, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, APIModel) or self._meta.model is not other._meta.model:
            return NotImplemented if not isinstance(other, APIModel) else False
        if self.pk is None:
            return self is other
        return bool(self.pk == other.pk)

    def __hash__(self) -> int:
        if self.pk is None:
            raise TypeError("Model instances without primary key value are unhashable")
        return hash((self._meta.model, self.pk))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: pk={self.pk!r}>"

    def __str__(self) -> str:
        return f"{type(self).__name__} object ({self.pk})"

    def serializable_value(self, field_name: str) -> Any:
        """The value of ``field_name`` (Django's name; the admin reads the pk with it)."""
        return self.pk if field_name == "pk" else getattr(self, field_name)

    def to_dict(self, *, mode: str = "python") -> dict[str, Any]:
        """The fields as a dict (``mode="json"`` for JSON-ready values)."""
        return self._data.model_dump(mode=mode)

    # -- a read-only mapping of the fields ---------------------------------------------------
    # pydantic validates a model-typed value from an instance of that very class, a dict, or
    # (lax mode) any collections.abc.Mapping; it reads attributes only when the *target*
    # schema has from_attributes. Being a Mapping is what lets a response schema that is the
    # model's own plain pydantic schema (django-ninja's `response=BookSchema`, FastAPI's
    # response_model) take a Book. pydantic prefers a Mapping to attributes, so keys also
    # reach the non-callable public attributes (pk, properties) that from_attributes schemas
    # read; iteration lists the fields only.

    def __getitem__(self, key: str) -> Any:
        name = self._meta.item_names.get(key)
        if name is not None:
            return getattr(self._data, name)
        if isinstance(key, str) and not key.startswith("_"):
            value = getattr(self, key, _MISSING)
            if value is not _MISSING and not callable(value):
                return value
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """``book["title"]``, or ``default`` when there is no such field or attribute."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._meta.field_names)

    def __len__(self) -> int:
        return len(self._meta.field_names)

    def keys(self) -> KeysView[str]:
        """The field names (``dict(book)`` is a shallow ``to_dict()``)."""
        return KeysView(self)

    def values(self) -> ValuesView[Any]:
        """The field values, in field order."""
        return ValuesView(self)

    def items(self) -> ItemsView[str, Any]:
        """``(field name, value)`` pairs, in field order."""
        return ItemsView(self)

    # -- plans -------------------------------------------------------------------------------

    def _body(self, fields: Any = None, *, pk_in_body: bool = True) -> dict[str, Any]:
        """The JSON body: ``fields`` only (attribute names) or every field; the pk only when
        it is set and ``pk_in_body``."""
        meta = self._meta
        data = self._data.model_dump(mode="json", by_alias=True)
        if fields is not None:
            data = {meta.fields[name].param: data[meta.fields[name].param] for name in fields}
        if self.pk is None or not pk_in_body:
            data.pop(meta.fields[meta.pk_field].param, None)
        return data

    def _apply(self, answer: Answer | None, fields: Any = None) -> None:
        """Take the server's representation; with ``fields``, only those (and the pk), so
        other unsaved changes survive ``save(update_fields=...)`` as in Django."""
        self._adding = False
        if answer is None:
            return
        self.__dict__["_etag"] = answer.etag
        if answer.data is None:
            self._saved(fields)
            return
        fresh = self._from_api(answer.data, self._meta.endpoint)._data
        if fields is not None:
            keep = set(self._meta.field_names) - set(fields) - {self._meta.pk_field}
            for name in keep:
                fresh.__dict__[name] = self._data.__dict__[name]
        self._data = fresh
        self._saved(fields)

    def _saved(self, fields: Any) -> None:
        changed = self.__dict__.get("_changed")
        if changed:
            changed.difference_update(self._meta.field_names if fields is None else fields)

    def _plan_save(self, ctx: ServiceContext, update_fields: Any = None) -> Plan[None]:
        return records.save(self, ctx, update_fields)

    def _changed_fields(self) -> set[str]:
        changed: set[str] = self.__dict__.get("_changed") or set()
        return changed

    def _plan_delete(self, ctx: ServiceContext) -> Plan[tuple[int, dict[str, int]]]:
        return records.destroy(self, ctx)

    def _plan_refresh(self, ctx: ServiceContext) -> Plan[None]:
        return records.refresh(self, ctx)

    def _run(self, twin: str, make: Callable[..., Plan[T]], *args: Any) -> T:
        ensure_sync_allowed(f"{type(self).__name__}.{twin[1:]}", twin)
        service = self._meta.get_service()
        with _observe.call(type(self), twin, service, instance=True):
            return service.run(make(service.context, *args))

    async def _arun(self, make: Callable[..., Plan[T]], *args: Any) -> T:
        service = self._meta.get_service()
        with _observe.call(type(self), None, service, instance=True):
            return await service.arun(make(service.context, *args))

    # -- Django's vocabulary, twice ------------------------------------------------------------

    def save(self, update_fields: Any = None) -> None:
        """POST when new, PATCH ``update_fields`` when given, else PUT every field."""
        return self._run("asave", self._plan_save, self._update_fields(update_fields))

    async def asave(self, update_fields: Any = None) -> None:
        """Async twin of :meth:`save`."""
        return await self._arun(self._plan_save, self._update_fields(update_fields))

    def _update_fields(self, names: Any) -> Any:
        """A relation's name stands for its key field (``book`` → ``book_id``)."""
        if names is None or not self._meta.relations or isinstance(names, str):
            return names
        return [self._meta.attname(name) for name in names]

    def delete(self) -> tuple[int, dict[str, int]]:
        """DELETE the object; its pk becomes None. Returns ``(1, {label: 1})`` like Django."""
        return self._run("adelete", self._plan_delete)

    async def adelete(self) -> tuple[int, dict[str, int]]:
        """Async twin of :meth:`delete`."""
        return await self._arun(self._plan_delete)

    def refresh_from_api(self) -> None:
        """Reload every field from the API."""
        return self._run("arefresh_from_api", self._plan_refresh)

    async def arefresh_from_api(self) -> None:
        """Async twin of :meth:`refresh_from_api`."""
        return await self._arun(self._plan_refresh)

    refresh_from_db = refresh_from_api
    arefresh_from_db = arefresh_from_api

    save.alters_data = True  # type: ignore[attr-defined]
    asave.alters_data = True  # type: ignore[attr-defined]
    delete.alters_data = True  # type: ignore[attr-defined]
    adelete.alters_data = True  # type: ignore[attr-defined]


_MISSING: Any = object()
# Registered, not inherited: APIModel's metaclass is not ABCMeta, and Mapping's mixin
# methods (__eq__ by items) would change what equality means for models.
Mapping.register(APIModel)


class AsyncAPIModel(APIModel):
    """Seed-compatible model whose unprefixed methods are awaitable.

    ``await User.objects.get(id=1)``, ``await user.save()``: the same plans as
    :class:`APIModel`'s ``a``-methods.
    """

    if TYPE_CHECKING:
        objects: ClassVar[AsyncManager[Any]]  # type: ignore[assignment]

    @classmethod
    def _manager_class(cls) -> type[Any]:
        from .queryset import AsyncManager

        return AsyncManager

    save = APIModel.asave  # type: ignore[assignment]
    delete = APIModel.adelete  # type: ignore[assignment]
    refresh_from_api = APIModel.arefresh_from_api  # type: ignore[assignment]
    refresh_from_db = APIModel.arefresh_from_api  # type: ignore[assignment]
