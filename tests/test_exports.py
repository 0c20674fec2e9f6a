"""The public surface: exported names, seed import paths and sync/async twin parity."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

import pytest

import django_api_orm
from django_api_orm import APIModel, AsyncAPIModel, AsyncQuerySet, QuerySet

EXPECTED_ALL = [
    "APIModel",
    "APIResponse",
    "AsyncAPIModel",
    "AsyncManager",
    "AsyncQuerySet",
    "AsyncServiceClient",
    "Manager",
    "QuerySet",
    "RemoteForeignKey",
    "ServiceClient",
    "exceptions",
    "register_async_models",
    "register_models",
]

# Every public module (no part of its path starts with "_") and its __all__, as httpx pins
# its exported members: a change to a module's surface must change this dict too.
PUBLIC = {
    "django_api_orm": EXPECTED_ALL,
    "django_api_orm.admin": ["APIModelAdmin", "APIModelForm"],
    "django_api_orm.apps": ["ApiOrmConfig"],
    "django_api_orm.async_client": ["APIResponse", "AsyncServiceClient"],
    "django_api_orm.client": ["APIResponse", "BaseServiceClient", "ServiceClient"],
    "django_api_orm.debug_toolbar": ["APIRequestsPanel"],
    "django_api_orm.dialects": [
        "Condition",
        "DRFDialect",
        "Dialect",
        "FieldSpec",
        "LinkHeaderDialect",
        "Page",
        "QueryContext",
        "RemoteQuery",
        "Where",
    ],
    "django_api_orm.exceptions": [
        "APIConnectionError",
        "APIError",
        "APITimeoutError",
        "AuthenticationError",
        "CircuitOpenError",
        "ClientError",
        "Conflict",
        "ConflictError",
        "DoesNotExist",
        "FilterIgnored",
        "FilterIgnoredWarning",
        "HTTPStatusError",
        "InvalidPrimaryKey",
        "MultipleObjectsReturned",
        "NotFound",
        "NotSupportedError",
        "PaginationError",
        "PermissionDenied",
        "RateLimited",
        "RequestError",
        "ResponseError",
        "ResponseTooLarge",
        "ServerError",
        "TooManyPages",
        "UnsafeRequestError",
        "ValidationError",
    ],
    "django_api_orm.expressions": ["has_expressions", "resolve", "validate"],
    "django_api_orm.management": [],
    "django_api_orm.management.commands": [],
    "django_api_orm.management.commands.api_orm_check": ["Command"],
    "django_api_orm.middleware": ["UpstreamErrorMiddleware"],
    "django_api_orm.models": ["APIModel", "AsyncAPIModel", "ModelOptions", "all_models"],
    "django_api_orm.ninja": [
        "LimitOffsetPagination",
        "PageNumberPagination",
        "register_exception_handlers",
        "upstream_errors",
    ],
    "django_api_orm.options": ["APIModelBase", "ModelOptions", "all_models", "related_cache"],
    "django_api_orm.otel": ["SETTING_NAME", "instrument", "is_instrumented", "uninstrument"],
    "django_api_orm.queryset": ["AsyncManager", "AsyncQuerySet", "Manager", "QuerySet"],
    "django_api_orm.registration": ["register_async_models", "register_models"],
    "django_api_orm.related": [
        "RemoteForeignKey",
        "aprefetch_related_objects",
        "prefetch_related_objects",
    ],
    "django_api_orm.shortcuts": [
        "aget_list_or_404",
        "aget_object_or_404",
        "get_list_or_404",
        "get_object_or_404",
    ],
    "django_api_orm.signals": ["api_request", "post_delete", "post_save", "pre_delete", "pre_save"],
    "django_api_orm.testing": [
        "CapturedRequest",
        "FakeRequest",
        "FakeService",
        "PageShape",
        "assert_num_requests",
        "capture_requests",
        "fake_service",
    ],
    "django_api_orm.testing.counting": [
        "CapturedRequest",
        "assert_num_requests",
        "capture_requests",
    ],
    "django_api_orm.testing.fake": ["FakeRequest", "FakeService", "PageShape"],
    "django_api_orm.testing.pytest_plugin": ["api_fake", "api_num_requests"],
}

QUERYSET_IO = [
    "get",
    "first",
    "last",
    "count",
    "exists",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "in_bulk",
    "iterator",
    "update",
    "delete",
    "bulk_update",
    "latest",
    "earliest",
    "contains",
    "aggregate",
]
MODEL_IO = ["save", "delete", "refresh_from_api"]


# -- exported names -------------------------------------------------------------------------------


def test_all_is_pinned() -> None:
    assert django_api_orm.__all__ == EXPECTED_ALL
    assert len(set(django_api_orm.__all__)) == len(django_api_orm.__all__)


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_every_exported_name_is_importable(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"from django_api_orm import {name}", namespace)
    assert namespace[name] is getattr(django_api_orm, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from django_api_orm import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(EXPECTED_ALL)


def test_seed_module_paths() -> None:
    from django_api_orm.async_client import AsyncServiceClient
    from django_api_orm.client import ServiceClient
    from django_api_orm.exceptions import APIError, NotFound

    assert AsyncServiceClient is django_api_orm.AsyncServiceClient
    assert ServiceClient is django_api_orm.ServiceClient
    assert django_api_orm.exceptions is importlib.import_module("django_api_orm.exceptions")
    assert issubclass(NotFound, APIError)
    for name in django_api_orm.exceptions.__all__:
        assert isinstance(getattr(django_api_orm.exceptions, name), type), name


def test_the_package_resolves_its_names_lazily() -> None:
    assert set(EXPECTED_ALL) <= set(dir(django_api_orm))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        django_api_orm.Nope  # noqa: B018


def public_modules() -> list[str]:
    found = ["django_api_orm"]
    for module in pkgutil.walk_packages(django_api_orm.__path__, "django_api_orm."):
        if not any(part.startswith("_") for part in module.name.split(".")):
            found.append(module.name)
    return sorted(found)


def test_every_public_module_is_pinned() -> None:
    assert public_modules() == sorted(PUBLIC)


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_module_surface_is_pinned(module: str) -> None:
    exported = importlib.import_module(module).__all__
    assert sorted(exported) == sorted(PUBLIC[module])
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize(
    ("module", "name"), [(module, name) for module, names in PUBLIC.items() for name in names]
)
def test_every_public_name_exists_and_is_documented(module: str, name: str) -> None:
    value = getattr(importlib.import_module(module), name)
    doc = getattr(value, "__doc__", None)
    if doc is not type(value).__doc__:  # a class, function, fixture or module: its own
        assert (doc or "").strip(), f"{module}.{name} has no docstring"
    else:  # data (a signal, a constant): a "#:" comment right above its assignment
        lines = inspect.getsource(sys.modules[module]).splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{name} = "))
        assert lines[at - 1].startswith("#:"), f"{module}.{name} has no #: comment"


def test_version() -> None:
    assert isinstance(django_api_orm.__version__, str)
    assert django_api_orm.__version__.count(".") >= 2


# -- twin parity ----------------------------------------------------------------------------------


def parameters(func: Callable[..., Any]) -> list[tuple[str, Any, Any, Any]]:
    return [
        (p.name, p.kind, p.default, p.annotation)
        for p in inspect.signature(func).parameters.values()
    ]


@pytest.mark.parametrize("name", QUERYSET_IO)
def test_queryset_twin_has_same_parameters(name: str) -> None:
    sync, twin = getattr(QuerySet, name), getattr(QuerySet, "a" + name)
    assert parameters(twin) == parameters(sync)


@pytest.mark.parametrize("name", MODEL_IO)
def test_model_twin_has_same_parameters(name: str) -> None:
    sync, twin = getattr(APIModel, name), getattr(APIModel, "a" + name)
    assert parameters(twin) == parameters(sync)


@pytest.mark.parametrize(
    ("owner", "name"),
    [(QuerySet, n) for n in QUERYSET_IO] + [(APIModel, n) for n in MODEL_IO],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_twins_are_native_async(owner: type, name: str) -> None:
    sync, twin = getattr(owner, name), getattr(owner, "a" + name)
    assert not inspect.iscoroutinefunction(sync)
    if name == "iterator":
        assert inspect.isasyncgenfunction(twin)
        assert inspect.isgeneratorfunction(sync)
    else:
        assert inspect.iscoroutinefunction(twin)
    assert "sync_to_async" not in inspect.getsource(twin)


def test_twin_plumbing_is_native_async() -> None:
    for func in (QuerySet._arun, QuerySet._afetch_all, QuerySet.aall, APIModel._arun):
        assert inspect.iscoroutinefunction(func)
        assert "sync_to_async" not in inspect.getsource(func)
    for module in ("queryset", "models", "_transport", "client", "async_client", "_core.plans"):
        source = inspect.getsource(importlib.import_module(f"django_api_orm.{module}"))
        assert "sync_to_async" not in source, module


def test_every_public_async_queryset_method_has_a_sync_twin() -> None:
    # not async twins: annotate()/alias() raise, aggregate()/as_manager() are sync
    unsupported = {"annotate", "alias", "aggregate", "as_manager"}
    names = {n for n in vars(QuerySet) if n.startswith("a") and not n.startswith("_")} - unsupported
    twins = {n for n in names if n[1:] in vars(QuerySet)}
    assert twins == {"a" + n for n in QUERYSET_IO} | {"aall"}  # aall(): list(qs), awaited
    assert names - twins == {"all"}


@pytest.mark.parametrize("name", QUERYSET_IO)
def test_async_queryset_unprefixed_methods_are_the_twins(name: str) -> None:
    assert getattr(AsyncQuerySet, name) is getattr(QuerySet, "a" + name)


@pytest.mark.parametrize("name", MODEL_IO)
def test_async_model_unprefixed_methods_are_the_twins(name: str) -> None:
    assert getattr(AsyncAPIModel, name) is getattr(APIModel, "a" + name)


@pytest.mark.parametrize("name", ["create", "get_or_create", "update_or_create", "bulk_create"])
def test_writes_are_marked_alters_data(name: str) -> None:
    assert getattr(QuerySet, name).alters_data is True
    assert getattr(QuerySet, "a" + name).alters_data is True
    assert APIModel.save.alters_data is True  # type: ignore[attr-defined]
    assert APIModel.asave.alters_data is True  # type: ignore[attr-defined]
