"""The admin's "delete selected" action over a remote queryset.

Django's action is used as it is; it names the objects with ``model_ngettext(queryset)``,
which knows Django's QuerySet only, so the remote queryset is handed over with the
model's names attached.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from django.contrib.admin.actions import delete_selected as django_delete_selected

__all__ = ["delete_selected"]


class _Named:
    """A remote queryset that also answers ``verbose_name``/``verbose_name_plural``."""

    def __init__(self, queryset: Any) -> None:
        self._queryset = queryset
        self.verbose_name = queryset.model._meta.verbose_name
        self.verbose_name_plural = queryset.model._meta.verbose_name_plural

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queryset, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._queryset)

    def __len__(self) -> int:
        return len(self._queryset)


@functools.wraps(django_delete_selected)  # its name, permissions and description
def delete_selected(modeladmin: Any, request: Any, queryset: Any) -> Any:
    """Django's delete-selected action (confirm page, then one DELETE per object)."""
    named: Any = _Named(queryset)
    return django_delete_selected(modeladmin, request, named)
