"""The services named in ``API_ORM_SERVICES``, built once and rebuilt when the setting changes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from ._transport import Service

__all__ = ["ServiceRegistry", "services"]


class ServiceRegistry:
    """Lazily validated, thread-safe map of alias → :class:`~django_api_orm._transport.Service`.

    The settings model and the drivers are imported on first use (``ready()`` makes it), not
    when the models are imported.
    """

    def __init__(self) -> None:
        self._services: dict[str, Service] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Service]:
        services = self._services
        if services is None:
            with self._lock:
                if self._services is None:
                    from ._settings import load_services
                    from ._transport import Service

                    configured = load_services()
                    self._services = {
                        alias: Service(alias, settings) for alias, settings in configured.items()
                    }
                services = self._services
        return services

    def __getitem__(self, alias: str) -> Service:
        services = self._load()
        try:
            return services[alias]
        except KeyError:
            from ._settings import SETTING_NAME

            known = ", ".join(repr(a) for a in services) or "none"
            hint = (
                ""
                if django_settings.configured
                else " Django settings are not configured: bind the model to an explicit "
                "client with register_models() or register_async_models(), or call "
                f"django.conf.settings.configure({SETTING_NAME}={{...}})."
            )
            raise ImproperlyConfigured(
                f"The service {alias!r} is not in {SETTING_NAME} (configured: {known}).{hint}"
            ) from None

    def __contains__(self, alias: object) -> bool:
        return alias in self._load()

    def all(self) -> list[Service]:
        """Every configured service."""
        return list(self._load().values())

    def validate(self) -> None:
        """Validate the setting now (``ready()`` calls this so errors show at startup)."""
        self._load()

    def reload(self) -> None:
        """Forget the services (closing their sync clients); the next use re-reads settings."""
        with self._lock:
            old, self._services = self._services, None
        for service in (old or {}).values():
            service.close()

    def close_all(self) -> None:
        """Close every sync client (async clients close with their event loops)."""
        for service in (self._services or {}).values():
            service.close()


services = ServiceRegistry()
