"""Writes that lose nothing: changed fields only, If-Match with ETags, exact decimals, and a
DELETE whose answer was lost."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from django.test import override_settings

from django_api_orm import APIModel, exceptions
from tests.conftest import service_settings
from tests.models import Book
from tests.upstream_fixture import Upstream

EXACT = "0.123456789012345678"


class PricedSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    year: int
    price: Decimal = Decimal("0")


class PricedBook(APIModel):
    _schema_class = PricedSchema
    _endpoint = "books/"


def sent(upstream: Upstream) -> list[tuple[str, str, Any, dict[str, str]]]:
    return [
        (r["method"], r["path"], json.loads(r["body"]) if r["body"] else None, r["headers"])
        for r in upstream.requests()
    ]


def raw_row(pk: int, **extra: str) -> str:
    fields = "".join(f', "{k}": {v}' for k, v in extra.items())
    return f'{{"id": {pk}, "title": "Book", "year": 1990{fields}}}'


# -- ETags: If-Match and ConflictError -----------------------------------------------------------


def test_writes_send_if_match_and_a_412_is_a_conflict(upstream: Upstream) -> None:
    row = {"id": 3, "title": "Book 03", "year": 1983}
    upstream.fault(path_prefix="/api/books/3/", status=200, body=row, headers={"ETag": '"v1"'})
    book = Book.objects.get(pk=3)
    upstream.fault(method="PATCH", path_prefix="/api/books/3/", status=412, body={"detail": "x"})
    book.title = "Mine"
    with pytest.raises(exceptions.ConflictError) as info:
        book.save()
    assert info.value.status_code == 412 and info.value.method == "PATCH"
    patch = next(r for r in sent(upstream) if r[0] == "PATCH")
    assert patch[3]["if-match"] == '"v1"'


async def test_adelete_sends_if_match(upstream: Upstream) -> None:
    row = {"id": 4, "title": "Book 04", "year": 1984}
    upstream.fault(path_prefix="/api/books/4/", status=200, body=row, headers={"ETag": 'W/"7"'})
    book = await Book.objects.aget(pk=4)
    assert await book.adelete() == (1, {"tests.Book": 1})
    delete = next(r for r in sent(upstream) if r[0] == "DELETE")
    assert delete[3]["if-match"] == 'W/"7"'


def test_without_an_etag_no_if_match_is_sent(upstream: Upstream) -> None:
    book = Book.objects.get(pk=3)
    book.save()
    assert "if-match" not in sent(upstream)[-1][3]


# -- decimals and datetimes round-trip exactly ----------------------------------------------------


def test_a_json_number_for_a_decimal_keeps_every_digit(upstream: Upstream) -> None:
    body = raw_row(5, price=EXACT)
    upstream.fault(
        method="GET",
        path_prefix="/api/books/5/",
        body=body,
        content_type="application/json",
        status=200,
    )
    book = PricedBook.objects.get(pk=5)
    assert book.price == Decimal(EXACT)
    book.title = "Renamed"
    book.save()
    assert sent(upstream)[-1][2] == {"title": "Renamed"}  # the price is not written back


def test_a_put_writes_the_decimal_back_exactly(upstream: Upstream) -> None:
    page = f'{{"count": 1, "next": null, "results": [{raw_row(5, price=EXACT)}]}}'
    upstream.fault(
        method="GET",
        path_prefix="/api/books/",
        body=page,
        content_type="application/json",
        status=200,
    )
    settings = service_settings(upstream, SAVE_METHOD="PUT")
    with override_settings(API_ORM_SERVICES={"default": settings}):
        [book] = PricedBook.objects.filter(title="Book")
        assert book.price == Decimal(EXACT)
        book.save()
    put = sent(upstream)[-1]
    assert put[0] == "PUT" and put[2]["price"] == EXACT  # as a string, as DRF writes decimals


async def test_a_decimal_listed_async_keeps_every_digit(upstream: Upstream) -> None:
    page = f'{{"count": 1, "next": null, "results": [{raw_row(5, price=EXACT)}]}}'
    upstream.fault(
        method="GET",
        path_prefix="/api/books/",
        body=page,
        content_type="application/json",
        status=200,
    )
    [book] = await PricedBook.objects.filter(title="Book").aall()
    assert str(book.price) == EXACT


# -- a DELETE whose first answer was lost ---------------------------------------------------------


def test_a_retried_delete_that_meets_404_counts_as_done(upstream: Upstream) -> None:
    upstream.fault(method="DELETE", path_prefix="/api/books/6/", action="close")
    upstream.fault(method="DELETE", path_prefix="/api/books/6/", status=404, body={"detail": "x"})
    book = Book.objects.get(pk=6)
    assert book.delete() == (1, {"tests.Book": 1})
    assert [r[0] for r in sent(upstream)].count("DELETE") == 2


def test_a_first_delete_that_meets_404_is_still_not_found(upstream: Upstream) -> None:
    book = Book.objects.get(pk=6)
    Book.objects.filter(pk=6).delete()
    with pytest.raises(exceptions.NotFound):
        book.delete()
