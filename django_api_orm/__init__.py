"""django-api-orm: use remote REST APIs from Django as if they were models.

Public names are re-exported here, imported on first use (PEP 562), so that importing the
package, or its Django-free core (``django_api_orm._core``), loads neither Django nor the
model layer. The seed module paths (``django_api_orm.async_client``,
``django_api_orm.exceptions``) stay valid.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import exceptions
    from .async_client import AsyncServiceClient
    from .client import APIResponse, ServiceClient
    from .models import APIModel, AsyncAPIModel
    from .queryset import AsyncManager, AsyncQuerySet, Manager, QuerySet
    from .registration import register_async_models, register_models
    from .related import RemoteForeignKey

__all__ = [
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

__version__ = "0.1.0"

# Each public name -> the module that defines it.
_HOMES = {
    "APIModel": "models",
    "APIResponse": "client",
    "AsyncAPIModel": "models",
    "AsyncManager": "queryset",
    "AsyncQuerySet": "queryset",
    "AsyncServiceClient": "async_client",
    "Manager": "queryset",
    "QuerySet": "queryset",
    "RemoteForeignKey": "related",
    "ServiceClient": "client",
    "exceptions": "exceptions",
    "register_async_models": "registration",
    "register_models": "registration",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f".{home}", __name__)
    value = module if name == home else getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
