"""``Model._meta`` and the metaclass of remote models: what a model declares, checked once.

:class:`ModelOptions` holds the schema, endpoint, service, primary key, field specs and the
allow-lists of a remote model; :class:`APIModelBase` builds it, the field attributes, the
per-model exceptions and the managers when a model class is defined.
"""

from __future__ import annotations

import copy
import decimal
import types
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pydantic
from django.apps import apps as django_apps
from django.core.exceptions import FieldError, ImproperlyConfigured
from pydantic import BaseModel

from . import exceptions
from ._core.dialect import Dialect, QueryContext
from ._core.query import LOOKUPS, FieldSpec
from ._registry import services

if TYPE_CHECKING:
    from ._transport import Service
    from .models import APIModel
    from .related import RemoteForeignKey

__all__ = ["APIModelBase", "ModelOptions", "all_models", "related_cache"]

# The per-instance cache of related objects of a remote model (Django's ``fields_cache``).
RELATED_CACHE = "_related_cache"
# Reverse relations fetched by prefetch_related(), by accessor (Django uses the same name).
PREFETCHED = "_prefetched_objects_cache"


def related_cache(obj: Any) -> dict[str, Any]:
    """The related objects cached on ``obj``: Django's ``_state.fields_cache`` on a local
    model, a dict of its own on a remote one."""
    state = getattr(obj, "_state", None)
    if state is not None and hasattr(state, "fields_cache"):
        return state.fields_cache  # type: ignore[no-any-return]
    return obj.__dict__.setdefault(RELATED_CACHE, {})  # type: ignore[no-any-return]


M = TypeVar("M", bound="APIModel")
T = TypeVar("T")

# Attribute names a schema field may not take: they are the model's own API.
_RESERVED = frozenset(
    {
        "pk",
        "objects",
        "save",
        "asave",
        "delete",
        "adelete",
        "refresh_from_api",
        "arefresh_from_api",
        "refresh_from_db",
        "arefresh_from_db",
        "to_dict",
        "serializable_value",
        "DoesNotExist",
        "MultipleObjectsReturned",
    }
)


def _field_spec(name: str, info: pydantic.fields.FieldInfo, pk: str) -> FieldSpec:
    annotation = info.annotation
    args = set(getattr(annotation, "__args__", ()) or ())
    # A pk is None only on unsaved objects; rows from the API always carry one.
    nullable = name != pk and (annotation is None or type(None) in args or info.default is None)
    is_bool = annotation is bool or (args - {type(None)}) == {bool}
    wire = info.alias if info.alias and info.alias != name else ""
    return FieldSpec(name=name, nullable=nullable, is_bool=is_bool, wire=wire)


class ModelOptions:
    """``Model._meta``: the schema, endpoint, service and primary key of a remote model."""

    def __init__(
        self,
        model: type[APIModel],
        schema: type[BaseModel],
        endpoint: str,
        service: str,
        pk_field: str,
    ) -> None:
        self.model = model
        self.schema = schema
        self.endpoint = endpoint
        self.service_alias = service
        self.pk_field = pk_field
        self.object_name = model.__name__
        self.model_name = model.__name__.lower()
        self.app_label = _app_label(model.__module__)
        self.label = f"{self.app_label}.{self.object_name}" if self.app_label else self.object_name
        self.verbose_name = self.model_name
        self.verbose_name_plural = f"{self.model_name}s"
        self.fields: dict[str, FieldSpec] = {
            name: _field_spec(name, info, pk_field) for name, info in schema.model_fields.items()
        }
        self.field_names = tuple(self.fields)
        self.list_validator = pydantic.TypeAdapter(list[schema])  # type: ignore[valid-type]
        # Decimal fields are read from JSON without a float detour (and no fast path, since
        # pydantic's JSON parser reads numbers as floats first).
        self.exact_numbers = _has_decimal(schema)
        self._fast_pages: dict[int, tuple[Dialect, FastPage | None]] = {}
        self._fast_row = _row_parser(schema)
        self.accepted_names = frozenset(self.fields) | {
            info.alias for info in schema.model_fields.values() if info.alias
        }
        # Keys of the instance as a mapping: field names, and wire aliases for pydantic.
        self.item_names: dict[str, str] = {
            info.alias: name for name, info in schema.model_fields.items() if info.alias
        }
        self.item_names.update((name, name) for name in self.fields)
        # Optional allow-lists: the fields the API lets us filter and order by.
        self.filterable = _allow_list(model, "_filterable_fields", self.fields)
        self.orderable = _allow_list(model, "_orderable_fields", self.fields)
        # Optional per-field lookups: {"author": ["exact", "in"]}; other filters are refused.
        self.filter_lookups = _field_lookups(model, self.fields)
        # Set by register_models()/register_async_models(): an explicit client's service.
        self.bound_service: Service | None = None
        # RemoteForeignKeys declared on this model, and those pointing at it (by accessor).
        self._django_fields: dict[str, Any] = {}  # built by get_field(), for the admin
        self._query_contexts: dict[str, tuple[tuple[Any, int], QueryContext]] = {}
        self.relations: dict[str, RemoteForeignKey] = {}
        self.reverse_relations: dict[str, RemoteForeignKey] = {}

    def __repr__(self) -> str:
        return f"<Options for {self.object_name}>"

    def get_service(self, alias: str | None = None) -> Service:
        """The service to use: ``alias`` if given, else the registered client or setting."""
        if alias is None and self.bound_service is not None:
            return self.bound_service
        return services[alias or self.service_alias]

    def query_context(self, service: Service) -> QueryContext:
        """What the dialect needs to check and word lookups on this model (built once per
        service, and again when the service learns of a lookup the API ignores)."""
        version = (service, len(service.context.ignored))
        cached = self._query_contexts.get(service.alias)
        if cached is not None and cached[0] == version:
            return cached[1]
        built = self._build_query_context(service)
        self._query_contexts[service.alias] = (version, built)
        return built

    def _build_query_context(self, service: Service) -> QueryContext:
        return QueryContext(
            service=service.alias,
            model=self.object_name,
            fields=self.fields,
            pk=self.pk_field,
            filterable=self.filterable,
            orderable=self.orderable,
            fast_page=self._fast_page(service.context.dialect),
            fast_row=None if self.exact_numbers else self._fast_row,
            field_lookups=self.filter_lookups or self._configured_lookups(service),
            exact_numbers=self.exact_numbers,
            refused=frozenset(
                (field, lookup)
                for endpoint, field, lookup in service.context.ignored
                if endpoint == self.endpoint
            ),
        )

    def _configured_lookups(self, service: Service) -> dict[str, frozenset[str]] | None:
        configured = service.context.field_lookups.get(self.endpoint.strip("/"))
        if configured is None:
            return None
        self._check_lookup_fields(configured, f"FIELD_LOOKUPS[{self.endpoint!r}]")
        return dict(configured)

    def _check_lookup_fields(self, declared: Mapping[str, Any], where: str) -> None:
        unknown = sorted(set(declared) - set(self.fields) - {"pk"})
        if unknown:
            raise ImproperlyConfigured(
                f"{self.object_name}: {where} names unknown fields {unknown}."
            )

    def _fast_page(self, dialect: Dialect) -> FastPage | None:
        """A parser validating a whole envelope page straight from JSON bytes (2-3x faster
        than decoding to dicts and validating the rows), cached per dialect."""
        if self.exact_numbers:
            return None
        cached = self._fast_pages.get(id(dialect))
        if cached is not None and cached[0] is dialect:
            return cached[1]
        keys = dialect.envelope_keys()
        parser = None if keys is None else _envelope_parser(self.schema, *keys)
        self._fast_pages[id(dialect)] = (dialect, parser)
        return parser

    def check_fields(self, names: Any, what: str, error: type[Exception] = FieldError) -> None:
        """Raise ``error`` (FieldError; ValueError for update_fields, as Django) for names
        that are not fields."""
        unknown = [n for n in names if n not in self.fields and n != "pk"]
        if unknown:
            raise error(
                f"{what}: the following fields do not exist in {self.object_name}: "
                f"{', '.join(unknown)}"
            )

    # -- what Django's admin reads (a remote model is never abstract, swapped or joined) --

    abstract = False
    swapped = None
    is_composite_pk = False
    ordering: tuple[str, ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    total_unique_constraints: tuple[Any, ...] = ()
    related_fkey_lookups: tuple[Any, ...] = ()

    @property
    def app_config(self) -> Any:
        """The Django app holding the model."""
        return django_apps.get_app_config(self.app_label)

    def get_field(self, name: str) -> Any:
        """A Django field describing schema field ``name`` (for the admin: label, form
        field, display); FieldDoesNotExist for other names, as Django's ``get_field``."""
        if name == "pk":
            name = self.pk_field
        found = self._django_fields.get(name)
        if found is None:
            info = self.schema.model_fields.get(name)
            if info is None:
                from django.core.exceptions import FieldDoesNotExist

                raise FieldDoesNotExist(f"{self.object_name} has no field named {name!r}")
            from ._admin.fields import build_field

            found = build_field(self.model, name, info, primary_key=name == self.pk_field)
            self._django_fields[name] = found
        return found

    @property
    def pk(self) -> Any:
        """The primary key as a Django field (``pk.attname``, ``pk.to_python()``)."""
        return self.get_field(self.pk_field)

    def attname(self, name: str) -> str:
        """The field holding ``name``: a relation's key field (``book`` → ``book_id``);
        other names unchanged."""
        relation = self.relations.get(name)
        return relation.attname if relation is not None else name

    def relation_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """``{"book": obj}`` → ``{"book_id": obj.pk}``; other items unchanged."""
        if not self.relations:
            return values
        return {
            self.attname(name): (
                self.relations[name].target_pk(value) if name in self.relations else value
            )
            for name, value in values.items()
        }

    def crosses_relation(self, keyword: str) -> bool:
        """Whether ``keyword`` looks into a related model (``book__title``), not at the key
        (``book``, ``book__in``, ``book__pk``)."""
        name, _, rest = keyword.partition("__")
        relation = self.relations.get(name)
        if relation is None or not rest:
            return False
        first = rest.split("__")[0]
        return first not in LOOKUPS and first not in ("pk", relation.to._meta.pk_field)

    def relation_lookup(self, keyword: str, value: Any) -> tuple[str, Any]:
        """``book=obj``, ``book__in=[...]``, ``book__pk=3`` → the key field's lookup
        (``book_id``...), objects replaced by their pks; other keywords unchanged. A lookup
        across a relation (``book__title``) raises NotSupportedError before any request."""
        name, _, rest = keyword.partition("__")
        relation = self.relations.get(name)
        if relation is None:
            if name in self.reverse_relations:
                raise exceptions.NotSupportedError(
                    f"{self.object_name}.objects.filter({keyword}=...): a lookup across the "
                    f"reverse relation {name!r} is not supported by a REST API listing; "
                    f"filter {self.reverse_relations[name].model.__name__} by its key instead."
                )
            return keyword, value
        target = relation.to._meta
        parts = rest.split("__") if rest else []
        if parts and parts[0] in ("pk", target.pk_field):
            parts = parts[1:]
        if len(parts) > 1 or (parts and parts[0] not in LOOKUPS):
            raise exceptions.NotSupportedError(
                f"{self.object_name}.objects.filter({keyword}=...): a lookup across the "
                f"relation {name!r} would need the API to join {target.object_name}; filter by "
                f"the key ({relation.attname}=..., {name}__in=[...]), query "
                f"{target.object_name} first, or set RELATED_LOOKUPS for an API that filters "
                "across relations (then only in filter() keywords)."
            )
        lookup = parts[0] if parts else "exact"
        if lookup in ("in", "range") and not isinstance(value, str):
            value = [relation.target_pk(item) for item in value]
        else:
            value = relation.target_pk(value)
        return f"{relation.attname}__{lookup}", value


FastPage = Callable[[bytes], tuple[list[Any], int | None, str | int | None] | None]


def _envelope_parser(
    schema: type[BaseModel], items: str, total: str | None, next_: str | None
) -> FastPage:
    fields: dict[str, Any] = {"rows": (list[schema], pydantic.Field(alias=items))}  # type: ignore[valid-type]
    if total:
        fields["total"] = (int | None, pydantic.Field(default=None, alias=total))
    if next_:
        fields["next"] = (str | int | None, pydantic.Field(default=None, alias=next_))
    envelope = pydantic.create_model(f"{schema.__name__}Page", **fields)
    validator = envelope.__pydantic_validator__

    def parse(content: bytes) -> tuple[list[Any], int | None, str | int | None] | None:
        try:
            page = validator.validate_json(content)
        except (pydantic.ValidationError, ValueError):
            return None  # not this shape (a bare list, an error): the generic route explains
        return page.rows, getattr(page, "total", None), getattr(page, "next", None)

    return parse


def _row_parser(schema: type[BaseModel]) -> Callable[[bytes], Any]:
    """One object validated straight from JSON bytes, or None (not this shape, or a
    mismatch: the generic route then explains it, naming the field)."""
    validate = schema.__pydantic_validator__.validate_json

    def parse(content: bytes) -> Any:
        try:
            return validate(content)
        except (pydantic.ValidationError, ValueError):
            return None

    return parse


def _app_label(module: str) -> str:
    """The Django app that contains ``module`` (as Django labels models), else a best guess.

    Before the app registry is ready (a model defined at import time of a settings module,
    or in a script, FastAPI or aiohttp app with no Django settings at all) the registry is
    not asked: asking would read ``settings.INSTALLED_APPS``, which raises
    ImproperlyConfigured when no settings are configured.
    """
    config = django_apps.get_containing_app_config(module) if django_apps.apps_ready else None
    if config is not None:
        return config.label
    parts = module.split(".")
    if "models" in parts[1:]:
        return parts[parts.index("models", 1) - 1]
    return parts[-2] if len(parts) > 1 else ""


def _has_decimal(annotation: Any, seen: frozenset[Any] = frozenset()) -> bool:
    """Whether a schema (or annotation) holds a Decimal anywhere, nested models included."""
    if annotation is decimal.Decimal:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return False
        return any(
            _has_decimal(info.annotation, seen | {annotation})
            for info in annotation.model_fields.values()
        )
    return any(_has_decimal(arg, seen) for arg in getattr(annotation, "__args__", ()) or ())


def _field_lookups(
    model: type, fields: Mapping[str, FieldSpec]
) -> dict[str, frozenset[str]] | None:
    from ._core.query import LOOKUPS

    declared = getattr(model, "_filter_lookups", None)
    if declared is None:
        return None
    result: dict[str, frozenset[str]] = {}
    for name, lookups in declared.items():
        if name not in fields:
            raise ImproperlyConfigured(
                f"{model.__name__}._filter_lookups names unknown field {name!r}."
            )
        unknown = sorted(set(lookups) - LOOKUPS)
        if unknown:
            raise ImproperlyConfigured(
                f"{model.__name__}._filter_lookups[{name!r}]: unknown lookups {unknown}."
            )
        result[name] = frozenset(lookups)
    return result


def _allow_list(model: type, attr: str, fields: Mapping[str, FieldSpec]) -> frozenset[str] | None:
    names = getattr(model, attr, None)
    if names is None:
        return None
    unknown = sorted(set(names) - set(fields))
    if unknown:
        raise ImproperlyConfigured(f"{model.__name__}.{attr} names unknown fields {unknown}.")
    return frozenset(names)


class _ManagerDescriptor:
    """``Book.objects`` on the class; an AttributeError on instances, like Django."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is not None:
            raise AttributeError(f"Manager isn't accessible via {owner.__name__} instances")
        return self.manager


class _FieldDescriptor:
    """Reads a schema field; assignment is validated by the schema (as validate_assignment)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: APIModel | None, owner: type) -> Any:
        if instance is None:
            return self
        return getattr(instance._data, self.name)

    def __set__(self, instance: APIModel, value: Any) -> None:
        data = instance._data
        data.__pydantic_validator__.validate_assignment(data, self.name, value)
        # save() sends only what changed (a list or dict changed in place is not seen).
        instance.__dict__.setdefault("_changed", set()).add(self.name)


class APIModelBase(type):
    """Metaclass: builds ``_meta``, field attributes, the manager and per-model exceptions."""

    def __iter__(cls) -> Iterator[type]:
        # Django's AdminSite.register() takes a model class or an iterable of them, and it
        # tells the two apart with isinstance(x, ModelBase): a remote model reads as the
        # iterable of itself, so admin.site.register(Book, APIModelAdmin) works.
        return iter((cls,))

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> APIModelBase:
        cls = super().__new__(mcs, name, bases, attrs)
        schema = attrs.get("_schema_class") or getattr(cls, "_schema_class", None)
        if schema is None:
            return cls  # an abstract base such as APIModel itself
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ImproperlyConfigured(f"{name}._schema_class must be a pydantic BaseModel class.")
        endpoint = getattr(cls, "_endpoint", None)
        if not isinstance(endpoint, str) or not endpoint:
            raise ImproperlyConfigured(
                f"{name}._endpoint must be a non-empty string like 'books/'."
            )
        pk_field = getattr(cls, "_pk_field", "id")
        if pk_field not in schema.model_fields:
            raise ImproperlyConfigured(
                f"{name}: the primary key field {pk_field!r} is not a field of "
                f"{schema.__name__}; set _pk_field."
            )
        clashes = sorted(_RESERVED & set(schema.model_fields))
        if clashes:
            raise ImproperlyConfigured(
                f"{name}: schema fields {clashes} clash with the model API; rename them in "
                f"{schema.__name__} (pydantic aliases keep the wire names)."
            )
        model = cast("type[APIModel]", cls)
        meta = ModelOptions(model, schema, endpoint, getattr(cls, "_service", "default"), pk_field)
        model._meta = meta
        for field_name in schema.model_fields:
            setattr(cls, field_name, _FieldDescriptor(field_name))
        module = attrs.get("__module__", __name__)
        cls.DoesNotExist = types.new_class(  # type: ignore[attr-defined]
            "DoesNotExist",
            (*_parents(bases, "DoesNotExist"),),
            exec_body=lambda ns: ns.update(
                {"__module__": module, "__qualname__": f"{name}.DoesNotExist"}
            ),
        )
        cls.MultipleObjectsReturned = types.new_class(  # type: ignore[attr-defined]
            "MultipleObjectsReturned",
            (*_parents(bases, "MultipleObjectsReturned"),),
            exec_body=lambda ns: ns.update(
                {"__module__": module, "__qualname__": f"{name}.MultipleObjectsReturned"}
            ),
        )
        _install_managers(cls, bases, attrs)
        for attr, value in attrs.items():
            # A RemoteForeignKey (duck-typed: importing it would import django.db.models).
            if not isinstance(value, type) and hasattr(value, "contribute_to_remote"):
                value.contribute_to_remote(model, attr)
        _ALL_MODELS.append(cls)  # type: ignore[arg-type]
        return cls


def _declared_managers(bases: tuple[type, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    """Managers declared on the class, or on abstract bases, in definition order."""
    found: dict[str, Any] = {}
    for base in reversed([b for klass in bases for b in klass.__mro__]):
        for name, value in vars(base).items():
            if getattr(value, "_is_manager", False) and not isinstance(value, type):
                found[name] = value
    for name, value in attrs.items():
        if getattr(value, "_is_manager", False) and not isinstance(value, type):
            found.pop(name, None)
            found[name] = value
    return found


def _install_managers(cls: type, bases: tuple[type, ...], attrs: dict[str, Any]) -> None:
    """Bind each declared manager (a copy per model); ``objects`` when none is declared.
    ``_default_manager`` is the first declared (Django's shortcuts use it),
    ``_base_manager`` a plain one."""
    manager_class = cls._manager_class()  # type: ignore[attr-defined]
    declared = _declared_managers(bases, attrs) or {"objects": manager_class()}
    clashes = sorted(set(declared) & set(cls._meta.fields))  # type: ignore[attr-defined]
    if clashes:
        raise ImproperlyConfigured(
            f"{cls.__name__}: managers {clashes} have the names of schema fields; rename them."
        )
    bound = {}
    for name, unbound in declared.items():
        manager = copy.copy(unbound)
        manager.model = cls
        bound[name] = manager
        setattr(cls, name, _ManagerDescriptor(manager))
    cls._default_manager = next(iter(bound.values()))  # type: ignore[attr-defined]
    cls._base_manager = manager_class(cls)  # type: ignore[attr-defined]


def _parents(bases: tuple[type, ...], attr: str) -> list[type]:
    parents = [getattr(b, attr) for b in bases if hasattr(b, attr) and hasattr(b, "_meta")]
    return parents or [getattr(exceptions, attr)]


_ALL_MODELS: list[type[APIModel]] = []


def all_models() -> list[type[APIModel]]:
    """Every concrete remote model defined so far (for system checks)."""
    return list(_ALL_MODELS)
