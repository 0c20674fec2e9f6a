"""Django 6's AsyncPaginator over remote querysets: one count and one page request."""

from __future__ import annotations

import django
import pytest

from django_api_orm.testing import capture_requests
from tests.models import Book
from tests.upstream_fixture import Upstream

pytestmark = pytest.mark.skipif(django.VERSION < (6, 0), reason="AsyncPaginator is Django 6")


async def test_async_paginator_reads_one_count_and_one_page(upstream: Upstream) -> None:
    from django.core.paginator import AsyncPaginator  # type: ignore[attr-defined]

    paginator = AsyncPaginator(Book.objects.order_by("id"), per_page=10)
    with capture_requests() as captured:
        page = await paginator.apage(2)
        books = await page.aget_object_list()
    assert [b.pk for b in books] == list(range(11, 21))
    assert await paginator.anum_pages() == 3
    assert len(captured.requests) == 2  # ?page_size=1 for the total, then rows 10-19
