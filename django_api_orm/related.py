"""Relations to remote models: :class:`RemoteForeignKey`, on remote and on local models.

On a remote model the key is a schema field (``book_id``, sent as ``"book"`` through a
pydantic alias); on a Django model it is a column of the remote pk's type. Either way
``review.book`` fetches the related object on first access in sync code and caches it,
``review.book_id`` is the key, and ``related_name`` puts a reverse accessor on the remote
model (``book.reviews``: a manager of reviews, or ``book.orders``: a local queryset).

Batched loading (``prefetch_related``/``select_related``) lives in :mod:`._prefetch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.db import models

from . import _prefetch
from ._async_safety import sync_blocked
from .options import PREFETCHED, related_cache
from .queryset import QuerySet

if TYPE_CHECKING:
    from .models import APIModel

__all__ = ["RemoteForeignKey", "aprefetch_related_objects", "prefetch_related_objects"]


_PK_FIELD_TYPES: dict[type, type[models.Field[Any, Any]]] = {
    int: models.BigIntegerField,
    str: models.CharField,
}


class RemoteForeignKey(models.Field):  # type: ignore[type-arg]
    """A many-to-one key to a remote model (an :class:`~django_api_orm.APIModel`).

    On a remote model, ``book = RemoteForeignKey(Book, related_name="reviews")`` needs a
    schema field ``book_id``; on a Django model it adds the column ``book_id`` (the remote
    pk's type; migrations see a plain column). ``related_name="+"`` adds no reverse
    accessor; by default it is ``<model>_set`` as in Django.
    """

    description = "A key to a remote (REST API) model"

    def __init__(
        self,
        to: type[APIModel],
        related_name: str | None = None,
        *,
        max_length: int | None = None,
        **kwargs: Any,
    ) -> None:
        from .models import APIModel

        if not (isinstance(to, type) and issubclass(to, APIModel) and hasattr(to, "_meta")):
            raise TypeError(
                f"RemoteForeignKey(to={to!r}): 'to' must be a remote model class "
                "(a subclass of django_api_orm.APIModel with a schema)."
            )
        self.to = to
        self.related_name = related_name
        kwargs.setdefault("db_index", True)
        pk_type = _pk_type(to)
        if pk_type is str:
            max_length = max_length or 255
        super().__init__(max_length=max_length, **kwargs)
        self._column_class = _PK_FIELD_TYPES.get(pk_type, models.CharField)
        self.on_remote_model = False

    # -- shared --------------------------------------------------------------------------------

    def get_attname(self) -> str:
        """``book`` keeps its key in ``book_id``, as a ForeignKey does."""
        return f"{self.name}_id"

    def target_pk(self, value: Any) -> Any:
        """The key of ``value``: a saved instance of ``to`` gives its pk; a bare key is kept."""
        from .models import APIModel

        if isinstance(value, APIModel):
            if not isinstance(value, self.to):
                raise ValueError(
                    f'Cannot use "{value!r}" for {self.model.__name__}.{self.name}: it must '
                    f'be a "{self.to.__name__}" instance.'
                )
            if value.pk is None:
                raise ValueError(
                    f"{self.model.__name__}.{self.name}: an unsaved {self.to.__name__} has no "
                    "key yet; save it first."
                )
            return value.pk
        return value

    def _reverse_name(self, model: type[Any]) -> str | None:
        if self.related_name == "+" or (self.related_name or "").endswith("+"):
            return None
        return self.related_name or f"{model.__name__.lower()}_set"

    def _install_reverse(self, model: type[Any], descriptor: Any) -> None:
        name = self._reverse_name(model)
        if name is None:
            return
        meta = self.to._meta
        if name in meta.fields or name in meta.relations or name in meta.reverse_relations:
            raise ImproperlyConfigured(
                f"{model.__name__}.{self.name}: related_name {name!r} clashes with a field or "
                f"relation of {self.to.__name__}; choose another related_name."
            )
        meta.reverse_relations[name] = self
        setattr(self.to, name, descriptor)

    # -- on a remote model ---------------------------------------------------------------------

    def contribute_to_remote(self, model: type[APIModel], name: str) -> None:
        """Bind to a remote model: ``name_id`` must be a schema field holding the key."""
        self.set_attributes_from_name(name)
        self.model = model  # type: ignore[assignment]  # a remote model, not a Django one
        self.on_remote_model = True
        meta = model._meta
        if name in meta.fields:
            raise ImproperlyConfigured(
                f"{model.__name__}.{name}: a RemoteForeignKey cannot take the name of a "
                f"schema field; name the field {self.attname!r} (an alias keeps the API's name)."
            )
        if self.attname not in meta.fields:
            raise ImproperlyConfigured(
                f"{model.__name__}.{name} = RemoteForeignKey({self.to.__name__}) keeps its key "
                f"in the schema field {self.attname!r}, which {meta.schema.__name__} does not "
                f"have; add `{self.attname}: int = Field(alias={name!r})` (or the API's name)."
            )
        meta.relations[name] = self
        setattr(model, name, ForwardDescriptor(self))
        self._install_reverse(model, ReverseRemoteDescriptor(self))

    # -- on a Django model ---------------------------------------------------------------------

    def contribute_to_class(self, cls: type[Any], name: str, private_only: bool = False) -> None:
        """Bind to a Django model: a column ``name_id`` plus the ``name`` accessor."""
        super().contribute_to_class(cls, name, private_only=private_only)
        setattr(cls, name, ForwardDescriptor(self))
        if not cls._meta.abstract:
            self._install_reverse(cls, ReverseLocalDescriptor(self))

    def get_internal_type(self) -> str:
        """The column's type: the remote pk's (an integer or a string)."""
        return self._column_class().get_internal_type()

    def deconstruct(self) -> Any:
        """Migrations see the plain column (``book_id``), not the relation."""
        name, _path, args, kwargs = super().deconstruct()
        kwargs["db_column"] = self.column
        path = f"django.db.models.{self._column_class.__name__}"
        return name, path, args, kwargs

    def clone(self) -> Any:
        """The migration state's copy: the plain column (see :meth:`deconstruct`)."""
        _name, _path, args, kwargs = self.deconstruct()
        return self._column_class(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        """An instance of ``to`` is stored (and filtered) as its pk."""
        value = self.target_pk(value)
        return None if value is None else self._column_class().get_prep_value(value)

    def to_python(self, value: Any) -> Any:
        """The key from a form or a fixture, in the pk's type."""
        return self._column_class().to_python(self.target_pk(value))

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """A field for the key (the remote pk)."""
        return self._column_class(null=self.null, max_length=self.max_length).formfield(
            **{"required": not self.blank, **kwargs}
        )


def _pk_type(model: type[APIModel]) -> type:
    annotation = model._meta.schema.model_fields[model._meta.pk_field].annotation
    args = [a for a in getattr(annotation, "__args__", ()) or () if a is not type(None)]
    kind = args[0] if len(args) == 1 else annotation
    return int if kind is int else str


class ForwardDescriptor:
    """``review.book``: the related object, fetched once (sync) and cached."""

    def __init__(self, field: RemoteForeignKey) -> None:
        self.field = field

    def is_cached(self, instance: Any) -> bool:
        """Whether the object was fetched, set or prefetched already."""
        return self.field.name in related_cache(instance)

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        field = self.field
        key = getattr(instance, field.attname)
        cache = related_cache(instance)
        cached = cache.get(field.name, _MISSING)
        if cached is not _MISSING and (cached is None or cached.pk == key):
            if cached is None and key is not None:
                raise field.to.DoesNotExist(
                    f"{type(instance).__name__}.{field.name}: {field.to.__name__} with pk "
                    f"{key!r} was not found by the API (it was asked for it in a batch)."
                )
            return cached
        if key is None:
            return None
        if sync_blocked():
            raise SynchronousOnlyOperation(
                f"{type(instance).__name__}.{field.name} is not loaded and fetching it blocks "
                f"on network I/O inside a running event loop. Load it with "
                f"select_related({field.name!r}) or prefetch_related({field.name!r}), or use "
                f"`await {field.to.__name__}.objects.aget(pk=obj.{field.attname})`."
            )
        # QuerySet.get itself: an AsyncAPIModel's manager rebinds get() to aget().
        obj = QuerySet.get(field.to._base_manager.get_queryset(), pk=key)
        cache[field.name] = obj
        return obj

    def __set__(self, instance: Any, value: Any) -> None:
        field = self.field
        if value is not None and not isinstance(value, field.to):
            raise ValueError(
                f'Cannot assign "{value!r}": "{type(instance).__name__}.{field.name}" must be '
                f'a "{field.to.__name__}" instance.'
            )
        key = None if value is None else field.target_pk(value)
        if value is None and not field.null and not field.on_remote_model:
            raise ValueError(f"{type(instance).__name__}.{field.name} does not allow None.")
        setattr(instance, field.attname, key)
        related_cache(instance)[field.name] = value

    # Django's prefetch_related() on a local model asks the descriptor for one batch.
    def get_prefetch_querysets(self, instances: list[Any], querysets: Any = None) -> Any:
        """Django's prefetch protocol: the related objects of ``instances`` in one batch."""
        field = self.field
        if querysets:
            raise ValueError("Prefetch(queryset=...) is not supported for a RemoteForeignKey.")
        keys = list(dict.fromkeys(k for i in instances if (k := getattr(i, field.attname))))
        return (
            _Batch(field.to, keys),
            lambda obj: obj.pk,
            lambda instance: getattr(instance, field.attname),
            True,
            field.name,
            False,
        )


class _Batch:
    """The related objects of a prefetch, read with ``in_bulk`` (batched ``pk__in``)."""

    _prefetch_related_lookups: tuple[str, ...] = ()

    def __init__(self, model: type[APIModel], keys: list[Any]) -> None:
        self.model = model
        self.keys = keys

    def __iter__(self) -> Any:
        if not self.keys:
            return iter(())
        queryset = self.model._base_manager.get_queryset()
        return iter(QuerySet.in_bulk(queryset, self.keys).values())


class ReverseRemoteDescriptor:
    """``book.reviews``: a manager of the remote rows whose key is this object's pk
    (rows fetched by ``prefetch_related("reviews")`` answer ``all()`` without a request)."""

    def __init__(self, field: RemoteForeignKey) -> None:
        self.field = field
        self._manager_class: type[Any] | None = None

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        if self._manager_class is None:
            self._manager_class = _related_manager_class(self.field)
        manager = self._manager_class(self.field.model)
        manager.instance = instance
        return manager


def _related_manager_class(field: RemoteForeignKey) -> type[Any]:
    accessor = field._reverse_name(field.model)

    class RelatedManager(type(field.model._default_manager)):  # type: ignore[misc]
        instance: Any

        def get_queryset(self) -> QuerySet[Any]:
            instance = self.instance
            if instance.pk is None:
                raise ValueError(
                    f"{type(instance).__name__} must be saved before {accessor} can be used."
                )
            qs = super().get_queryset().filter(**{field.attname: instance.pk})
            prefetched = instance.__dict__.get(PREFETCHED, {}).get(accessor)
            if prefetched is not None:
                qs._result_cache = list(prefetched)
            return qs  # type: ignore[no-any-return]

        def create(self, **fields: Any) -> Any:
            """Create a related row pointing at this object."""
            return super().create(**{**fields, field.name: self.instance})

        async def acreate(self, **fields: Any) -> Any:
            """Async twin of :meth:`create`."""
            return await super().acreate(**{**fields, field.name: self.instance})

    RelatedManager.__name__ = RelatedManager.__qualname__ = f"{field.model.__name__}RelatedManager"
    return RelatedManager


class ReverseLocalDescriptor:
    """``book.orders``: the local (Django) rows whose column holds this object's pk."""

    def __init__(self, field: RemoteForeignKey) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        if instance.pk is None:
            raise ValueError(
                f"{type(instance).__name__} must be saved before "
                f"{self.field._reverse_name(self.field.model)} can be used."
            )
        field = self.field
        qs = field.model._default_manager.filter(**{field.attname: instance.pk})
        prefetched = instance.__dict__.get(PREFETCHED, {}).get(field._reverse_name(field.model))
        if prefetched is not None:
            qs._result_cache, qs._prefetch_done = list(prefetched), True  # type: ignore[attr-defined]
        return qs


def prefetch_related_objects(objs: Iterable[Any], *lookups: str) -> None:
    """Load ``lookups`` onto remote objects already fetched, in batches (Django's
    ``prefetch_related_objects`` for remote models)."""
    objs = list(objs)
    if objs:
        for lookup in lookups:
            _prefetch.check_lookup(type(objs[0]), lookup)
        _prefetch.load(objs, lookups)


async def aprefetch_related_objects(objs: Iterable[Any], *lookups: str) -> None:
    """Async twin of :func:`prefetch_related_objects`."""
    objs = list(objs)
    if objs:
        for lookup in lookups:
            _prefetch.check_lookup(type(objs[0]), lookup)
        await _prefetch.aload(objs, lookups)


_MISSING: Any = object()
