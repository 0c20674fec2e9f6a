"""Plain Django views (sync and async) on remote models, for tests/test_middleware.py."""

from __future__ import annotations

import asyncio

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from django_api_orm.shortcuts import aget_object_or_404, get_object_or_404
from tests.models import Book


def sync_book(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse(get_object_or_404(Book, pk=pk).to_dict())


async def async_book(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse((await aget_object_or_404(Book, pk=pk)).to_dict())


def sync_unsupported(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(Book.objects.exclude(title__contains="x").count()))


async def async_bug(request: HttpRequest) -> HttpResponse:
    await Book.objects.acount()
    raise KeyError("a bug of the view, not the upstream")


async def async_gather(request: HttpRequest) -> HttpResponse:
    async with asyncio.TaskGroup() as group:  # failures arrive as an ExceptionGroup
        first = group.create_task(Book.objects.acount())
        second = group.create_task(Book.objects.filter(author="Ada").acount())
    return HttpResponse(f"{first.result()} {second.result()}")


urlpatterns = [
    path("sync/books/<int:pk>/", sync_book),
    path("async/books/<int:pk>/", async_book),
    path("sync/unsupported/", sync_unsupported),
    path("async/bug/", async_bug),
    path("async/gather/", async_gather),
]
