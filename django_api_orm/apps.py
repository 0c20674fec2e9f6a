"""The Django app: validates ``API_ORM_SERVICES`` at startup and manages the clients."""

from __future__ import annotations

import atexit
from typing import Any

from django.apps import AppConfig
from django.conf import settings as django_settings
from django.core.signals import setting_changed

from ._settings import SETTING_NAME

__all__ = ["ApiOrmConfig"]


OTEL_SETTING = "API_ORM_OPENTELEMETRY"


def _reload_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        from ._registry import services

        services.reload()
    elif setting == OTEL_SETTING:
        from .otel import instrument_from_settings

        instrument_from_settings()


class ApiOrmConfig(AppConfig):
    """``INSTALLED_APPS = [..., "django_api_orm"]``."""

    name = "django_api_orm"
    label = "django_api_orm"
    verbose_name = "API ORM"

    def ready(self) -> None:
        from . import _checks  # noqa: F401  (registers the system checks)
        from ._registry import services

        services.validate()  # misconfiguration fails here, naming the alias and the key
        # Import the drivers and read the CA store now, off any event loop: the first call
        # (and the first aget's loop callback) then pays for neither.
        for service in services.all():
            service.warm()
        if getattr(django_settings, OTEL_SETTING, False):
            from .otel import instrument_from_settings  # ImportError names the extra

            instrument_from_settings()
        setting_changed.connect(_reload_on_change, dispatch_uid="django_api_orm.reload")
        from django.db.models.signals import post_migrate

        from ._permissions import create_permissions

        post_migrate.connect(create_permissions, dispatch_uid="django_api_orm.permissions")
        atexit.register(services.close_all)
