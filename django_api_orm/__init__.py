"""django-api-orm: use remote REST APIs from Django as if they were models.

Public names are re-exported here; the seed module paths (``django_api_orm.async_client``,
``django_api_orm.exceptions``) stay valid.
"""

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
