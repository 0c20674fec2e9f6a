"""System checks (``manage.py check``): the setting and the models that use it."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, register

from ._settings import SETTING_NAME, collect_services
from .models import all_models

__all__ = ["check_models", "check_services"]


@register("api_orm")
def check_services(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """api_orm.E001 for each invalid value; api_orm.W001 for VERIFY_SSL=False outside DEBUG."""
    services, problems = collect_services(getattr(django_settings, SETTING_NAME, None))
    messages: list[CheckMessage] = [
        Error(problem, id="api_orm.E001", hint="See docs/settings.md for every key.")
        for problem in problems
    ]
    if not django_settings.DEBUG:
        for alias, service in services.items():
            if not service.VERIFY_SSL:
                messages.append(
                    Warning(
                        f"{SETTING_NAME}[{alias!r}]['VERIFY_SSL'] is False outside DEBUG: "
                        "TLS certificates are not checked.",
                        id="api_orm.W001",
                    )
                )
    return messages


@register("api_orm")
def check_models(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """api_orm.E002 for a model whose ``_service`` is not configured."""
    raw = getattr(django_settings, SETTING_NAME, None)
    configured = set(raw) if isinstance(raw, dict) else set()  # invalid ones are E001's job
    messages: list[CheckMessage] = []
    for model in all_models():
        meta = model._meta
        if meta.bound_service is None and meta.service_alias not in configured:
            messages.append(
                Error(
                    f"{meta.label} uses service {meta.service_alias!r}, which is not in "
                    f"{SETTING_NAME}.",
                    obj=model,
                    id="api_orm.E002",
                    hint=f"Add {meta.service_alias!r} to {SETTING_NAME} or set _service.",
                )
            )
    return messages
