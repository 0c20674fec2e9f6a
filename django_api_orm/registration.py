"""Bind models to explicit clients, as the seed docs do, instead of ``API_ORM_SERVICES``."""

from __future__ import annotations

from .async_client import AsyncServiceClient
from .client import ServiceClient
from .models import APIModel

__all__ = ["register_async_models", "register_models"]


def _bind(client: ServiceClient | AsyncServiceClient, models: tuple[type[APIModel], ...]) -> None:
    for model in models:
        if not (
            isinstance(model, type) and issubclass(model, APIModel) and hasattr(model, "_meta")
        ):
            raise TypeError(f"{model!r} is not a remote model (an APIModel subclass).")
        model._meta.bound_service = client._service


def register_models(client: ServiceClient, *models: type[APIModel]) -> None:
    """Send the requests of ``models`` through ``client`` (instead of their ``_service``)."""
    if not isinstance(client, ServiceClient):
        raise TypeError("register_models() takes a ServiceClient; use register_async_models().")
    _bind(client, models)


def register_async_models(client: AsyncServiceClient, *models: type[APIModel]) -> None:
    """Send the requests of ``models`` through the async ``client``."""
    if not isinstance(client, AsyncServiceClient):
        raise TypeError("register_async_models() takes an AsyncServiceClient.")
    _bind(client, models)
