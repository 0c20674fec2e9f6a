"""Django's 404 shortcuts for remote models: a model class, its manager or a queryset.

::

    book = get_object_or_404(Book, pk=pk)                  # Http404 on Book.DoesNotExist
    book = await aget_object_or_404(Book.objects, pk=pk)
    books = get_list_or_404(Book.objects.filter(author="Ada"))

(Django's own ``django.shortcuts`` versions work with remote models too; these are typed.)
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Q
from django.http import Http404

from .models import APIModel
from .queryset import AsyncQuerySet, QuerySet

__all__ = ["aget_list_or_404", "aget_object_or_404", "get_list_or_404", "get_object_or_404"]

M = TypeVar("M", bound=APIModel)


def _queryset(klass: type[M] | QuerySet[M], caller: str) -> QuerySet[M]:
    if isinstance(klass, type) and issubclass(klass, APIModel):
        return klass.objects.all()
    if isinstance(klass, QuerySet):
        return klass
    name = klass.__name__ if isinstance(klass, type) else type(klass).__name__
    raise ValueError(
        f"First argument to {caller}() must be a remote model, manager or queryset, not {name!r}."
    )


def _sync_only(queryset: QuerySet[Any], caller: str) -> None:
    if isinstance(queryset, AsyncQuerySet):
        raise TypeError(
            f"{queryset.model.__name__} is an AsyncAPIModel: use `await a{caller}(...)`."
        )


def _not_found(queryset: QuerySet[Any]) -> Http404:
    return Http404(f"No {queryset.model._meta.object_name} matches the given query.")


def get_object_or_404(klass: type[M] | QuerySet[M], *args: Q, **kwargs: Any) -> M:
    """``queryset.get(*args, **kwargs)``, raising Http404 instead of DoesNotExist.

    MultipleObjectsReturned propagates, as in Django.
    """
    queryset = _queryset(klass, "get_object_or_404")
    _sync_only(queryset, "get_object_or_404")
    try:
        return queryset.get(*args, **kwargs)
    except queryset.model.DoesNotExist:
        raise _not_found(queryset) from None


async def aget_object_or_404(klass: type[M] | QuerySet[M], *args: Q, **kwargs: Any) -> M:
    """Async twin of :func:`get_object_or_404`."""
    queryset = _queryset(klass, "aget_object_or_404")
    try:
        return await queryset.aget(*args, **kwargs)
    except queryset.model.DoesNotExist:
        raise _not_found(queryset) from None


def get_list_or_404(klass: type[M] | QuerySet[M], *args: Q, **kwargs: Any) -> list[M]:
    """``list(queryset.filter(*args, **kwargs))``, raising Http404 when it is empty."""
    queryset = _queryset(klass, "get_list_or_404")
    _sync_only(queryset, "get_list_or_404")
    objects = list(queryset.filter(*args, **kwargs))
    if not objects:
        raise _not_found(queryset)
    return objects


async def aget_list_or_404(klass: type[M] | QuerySet[M], *args: Q, **kwargs: Any) -> list[M]:
    """Async twin of :func:`get_list_or_404`."""
    queryset = _queryset(klass, "aget_list_or_404")
    objects = [obj async for obj in queryset.filter(*args, **kwargs)]
    if not objects:
        raise _not_found(queryset)
    return objects
