"""Which fake answers which service alias; survives ``override_settings`` of the services.

Fakes of one alias stack: the innermost answers, and leaving it brings back the one before
(or the network). When ``API_ORM_SERVICES`` changes, the registry builds new services; the
active fakes are installed on those again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .._registry import services
from .._settings import SETTING_NAME

if TYPE_CHECKING:
    from .fake import FakeService

__all__ = ["pop", "push"]

_stacks: dict[str, list[FakeService]] = {}
_lock = threading.RLock()


def push(fake: FakeService) -> None:
    """Make ``fake`` answer its alias's requests until :func:`pop`."""
    with _lock:
        try:
            services[fake.alias]
        except ImproperlyConfigured as error:
            raise ImproperlyConfigured(
                f"Cannot fake the service {fake.alias!r}: {error} Add it to {SETTING_NAME} "
                "(any BASE_URL will do: the fake answers in-process)."
            ) from None
        _stacks.setdefault(fake.alias, []).append(fake)
        setting_changed.connect(_reinstall, dispatch_uid="django_api_orm.testing.reinstall")
        _apply(fake.alias)


def pop(fake: FakeService) -> None:
    """Stop ``fake``; the fake installed before it (or the network) answers again."""
    with _lock:
        stack = _stacks.get(fake.alias, [])
        if fake in stack:
            stack.remove(fake)
        _apply(fake.alias)
        if not stack:
            _stacks.pop(fake.alias, None)


def _apply(alias: str) -> None:
    stack = _stacks.get(alias) or []
    try:
        service = services[alias]
    except ImproperlyConfigured:
        return  # the alias is gone from the (overridden) settings
    top = stack[-1] if stack else None
    service.use_handler(top.handle if top is not None else None)
    if top is not None:
        top.bind(service)


def _reinstall(*, setting: str, **kwargs: Any) -> None:
    if setting != SETTING_NAME:
        return
    with _lock:
        for alias in list(_stacks):
            _apply(alias)
