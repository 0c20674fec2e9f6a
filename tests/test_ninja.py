"""django-ninja: async routes on remote models, @paginate, response schemas and the exception
handlers of django_api_orm.ninja (routes in tests/ninja_api.py)."""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.core.exceptions import SynchronousOnlyOperation
from django.test import AsyncClient, Client, override_settings
from ninja.testing import TestAsyncClient, TestClient

from django_api_orm.ninja import register_exception_handlers
from tests.conftest import service_settings
from tests.models import Book
from tests.ninja_api import BookOut, api
from tests.upstream_fixture import Upstream

SEED_4 = {"title": "Book 04", "year": 1984, "in_stock": True, "author": "Eve", "isbn": "isbn-4"}
SEED_7 = {
    "id": 7,
    "title": "Book 07",
    "year": 1987,
    "in_stock": False,
    "author": "Cy",
    "isbn": "isbn-7",
}


@pytest.fixture
def client() -> TestAsyncClient:
    return TestAsyncClient(api)


@pytest.fixture
def sync_client() -> TestClient:
    return TestClient(api)


def queries(upstream: Upstream) -> list[dict[str, str]]:
    """The query parameters of each request the upstream received, in order."""
    return [dict(parse_qsl(r["query"])) for r in upstream.requests()]


# -- routes and response schemas ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/books/7", "/attr-books/7", "/dict-books/7", "/own-schema/7", "/sync/books/7"],
    ids=["ninja-schema", "from-attributes", "to-dict", "model-own-schema", "sync-route"],
)
async def test_model_instances_validate_against_response_schemas(
    path: str, client: TestAsyncClient, sync_client: TestClient, upstream: Upstream
) -> None:
    if path.startswith("/sync/"):
        response = await _sync(sync_client.get, path)
    else:
        response = await client.get(path)
    assert response.status_code == 200
    assert response.json() == SEED_7
    [request] = upstream.requests()
    assert request["path"] == "/api/books/7/"


# -- the model's own plain pydantic schema (no from_attributes) ---------------------------------


@pytest.mark.parametrize("path", ["/plain/books/7", "/sync/plain/books/7"], ids=["async", "sync"])
async def test_plain_schema_takes_the_model(
    path: str, client: TestAsyncClient, sync_client: TestClient, upstream: Upstream
) -> None:
    if path.startswith("/sync/"):
        response = await _sync(sync_client.get, path)
    else:
        response = await client.get(path)
    assert (response.status_code, response.json()) == (200, SEED_7)
    assert len(upstream.requests()) == 1


async def test_plain_schema_list_from_a_list(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.get("/plain/books?author=Eve")
    assert response.status_code == 200
    assert [book["id"] for book in response.json()] == [4, 9, 14, 19, 24]
    assert response.json()[0] == {**SEED_4, "id": 4}


def test_plain_schema_list_from_a_queryset_in_sync_routes(
    sync_client: TestClient, upstream: Upstream
) -> None:
    response = sync_client.get("/sync/plain/books?author=Eve")
    assert response.status_code == 200
    assert [book["id"] for book in response.json()] == [4, 9, 14, 19, 24]
    assert len(upstream.requests()) == 1


async def test_plain_schema_with_status(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.post("/plain/books", json={"title": "New", "year": 2024})
    assert response.status_code == 201
    assert response.json() == {
        "id": 26,
        "title": "New",
        "year": 2024,
        "in_stock": True,
        "author": "",
        "isbn": None,
    }


async def test_from_attributes_schema_still_reads_properties(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    # pydantic reads a Mapping rather than attributes: `pk` (a property) must still come.
    response = await client.get("/pk-title/7")
    assert response.json() == {"pk": 7, "title": "Book 07"}


async def test_schema_with_aliases(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.get("/wire/books/7")
    assert response.json() == {"id": 7, "title": "Book 07", "year": 1987}


async def test_model_nested_in_a_returned_dict(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.get("/noted/books/7")
    assert response.json() == {"book": SEED_7, "note": "nested"}


async def test_plain_schema_paginated_async(client: TestAsyncClient, upstream: Upstream) -> None:
    body = (await client.get("/paged/plain/async?page=1")).json()
    assert body["count"] == 5
    assert [book["id"] for book in body["items"]] == [5, 10, 15, 20, 25]
    assert body["items"][0]["title"] == "Book 05"
    assert len(upstream.requests()) == 2


def test_plain_schema_paginated_sync_with_ninjas_class(
    sync_client: TestClient, upstream: Upstream
) -> None:
    body = sync_client.get("/paged/plain/sync?limit=2&offset=1").json()
    assert body["count"] == 5
    assert [book["id"] for book in body["items"]] == [10, 15]
    assert len(upstream.requests()) == 2


async def test_async_route_returning_an_unevaluated_queryset_is_refused(
    upstream: Upstream,
) -> None:
    # As with Django querysets: ninja validates synchronously, so an async route evaluates
    # the queryset itself (`await queryset.aall()`). pydantic reports the refused iteration
    # as "not a valid list"; nothing is sent.
    import pydantic
    from ninja import Router

    from tests.models import BookSchema

    router = Router()

    @router.get("/books", response=list[BookSchema])
    async def books(request: Any) -> Any:
        return Book.objects.all()

    with pytest.raises(pydantic.ValidationError, match="valid list"):
        await TestAsyncClient(router).get("/books")
    assert upstream.requests() == []


async def _sync(call: Any, *args: Any) -> Any:
    from asgiref.sync import sync_to_async

    return await sync_to_async(call)(*args)


async def test_list_response_from_async_for(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.get("/books?since=2003&limit=5")
    assert response.status_code == 200
    assert [book["id"] for book in response.json()] == [25, 24, 23]
    assert queries(upstream) == [
        {"year__gte": "2003", "ordering": "-year", "page": "1", "page_size": "5"}
    ]


def test_sync_route_may_return_the_queryset(sync_client: TestClient, upstream: Upstream) -> None:
    response = sync_client.get("/sync/books?author=Eve")
    assert response.status_code == 200
    assert [book["id"] for book in response.json()] == [4, 9, 14, 19, 24]
    assert len(upstream.requests()) == 1


async def test_create_with_acreate(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.post("/books", json={"title": "New", "year": 2024})
    assert response.status_code == 201
    assert response.json() == {
        "id": 26,
        "title": "New",
        "year": 2024,
        "in_stock": True,
        "author": "",
        "isbn": None,
    }
    [request] = upstream.requests()
    assert request["method"] == "POST" and request["path"] == "/api/books/"


def test_through_django_test_client_and_urls(upstream: Upstream) -> None:
    response = Client().get("/ninja/books/7")
    assert response.status_code == 200
    assert response.json() == SEED_7
    assert Client().get("/ninja/books/99").json() == {"detail": "Not found."}


async def test_through_django_async_client(upstream: Upstream) -> None:
    response = await AsyncClient().get("/ninja/paged/async/page-number", {"page": 3})
    assert response.status_code == 200
    assert response.json()["count"] == 25
    assert [book["id"] for book in response.json()["items"]] == [21, 22, 23, 24, 25]
    assert len(upstream.requests()) == 2


# -- @paginate: one count request and one page request ------------------------------------------


def test_sync_limit_offset_with_ninjas_own_class(
    sync_client: TestClient, upstream: Upstream
) -> None:
    response = sync_client.get("/paged/sync/limit-offset?offset=10&limit=5")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 25
    assert [book["id"] for book in body["items"]] == [11, 12, 13, 14, 15]
    assert sorted(queries(upstream), key=len) == [
        {"page": "1", "page_size": "1"},
        {"page": "3", "page_size": "5"},
    ]


def test_sync_limit_offset_default_limit(sync_client: TestClient, upstream: Upstream) -> None:
    body = sync_client.get("/paged/sync/limit-offset").json()
    assert (body["count"], len(body["items"])) == (25, 25)
    assert len(upstream.requests()) == 2


def test_sync_page_number_with_ninjas_own_class(
    sync_client: TestClient, upstream: Upstream
) -> None:
    body = sync_client.get("/paged/sync/page-number?page=2&in_stock=true").json()
    assert body["count"] == 12
    assert [book["id"] for book in body["items"]] == [22, 24]
    assert sorted(queries(upstream), key=lambda q: q["page_size"]) == [
        {"in_stock": "true", "page": "1", "page_size": "1"},
        {"in_stock": "true", "page": "2", "page_size": "10"},
    ]


async def test_async_limit_offset(client: TestAsyncClient, upstream: Upstream) -> None:
    body = (await client.get("/paged/async/limit-offset?offset=20&limit=10")).json()
    assert body["count"] == 25
    assert [book["id"] for book in body["items"]] == [5, 4, 3, 2, 1]
    assert sorted(queries(upstream), key=lambda q: q["page_size"]) == [
        {"page": "1", "page_size": "1"},  # the count ignores the ordering
        {"ordering": "-year", "page": "3", "page_size": "10"},
    ]


async def test_async_page_number(client: TestAsyncClient, upstream: Upstream) -> None:
    body = (await client.get("/paged/async/page-number?page=2&in_stock=false")).json()
    assert body["count"] == 13
    assert [book["id"] for book in body["items"]] == [21, 23, 25]
    assert len(upstream.requests()) == 2


async def test_async_page_number_page_size(client: TestAsyncClient, upstream: Upstream) -> None:
    body = (await client.get("/paged/async/page-number?page=5&page_size=5")).json()
    assert [book["id"] for book in body["items"]] == [21, 22, 23, 24, 25]
    assert len(upstream.requests()) == 2


async def test_async_page_past_the_end(client: TestAsyncClient, upstream: Upstream) -> None:
    body = (await client.get("/paged/async/page-number?page=9")).json()
    assert body == {"items": [], "count": 25}
    assert len(upstream.requests()) == 2


async def test_async_pagination_still_takes_lists(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    body = (await client.get("/paged/async/list")).json()
    assert (body["count"], [book["id"] for book in body["items"]]) == (5, [5, 10, 15, 20, 25])


async def test_ninjas_own_async_paginator_cannot_iterate_a_remote_queryset(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    # Why django_api_orm.ninja has its own classes: ninja iterates non-Django querysets
    # synchronously inside the event loop, which a remote queryset refuses.
    with pytest.raises(SynchronousOnlyOperation, match="aall"):
        await client.get("/paged/async/ninja-class")


async def test_bare_paginate_uses_them_through_ninja_settings(upstream: Upstream) -> None:
    from ninja import Router
    from ninja.pagination import paginate

    router = Router()
    with override_settings(NINJA_PAGINATION_CLASS="django_api_orm.ninja.LimitOffsetPagination"):

        @router.get("/books", response=list[BookOut])
        @paginate
        async def books(request: Any) -> Any:
            return Book.objects.all()

    body = (await TestAsyncClient(router).get("/books?limit=5&offset=5")).json()
    assert (body["count"], [book["id"] for book in body["items"]]) == (25, [6, 7, 8, 9, 10])
    assert len(upstream.requests()) == 2


# -- exception handlers -------------------------------------------------------------------------


async def test_does_not_exist_is_404(
    client: TestAsyncClient, sync_client: TestClient, upstream: Upstream
) -> None:
    response = await client.get("/books/99")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    response = await _sync(sync_client.get, "/sync/books/99")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


async def test_upstream_404_on_write_is_404(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.patch("/errors/gone/3")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


async def test_upstream_validation_error_is_422(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    response = await client.post("/errors/too-long")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "upstream_invalid",
                "loc": ["upstream", "title"],
                "msg": "Ensure this field has no more than 200 characters.",
            }
        ]
    }


async def test_both_kinds_of_422_share_ninjas_shape(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    ours = (await client.post("/errors/too-long")).json()
    ninjas = (await client.post("/books", json={"title": "No year"})).json()
    assert set(ours) == set(ninjas) == {"detail"}
    assert {"type", "loc", "msg"} <= set(ours["detail"][0]) & set(ninjas["detail"][0])
    assert ninjas["detail"][0]["loc"][0] == "body"


async def test_a_custom_validation_handler_shapes_upstream_errors_too(upstream: Upstream) -> None:
    from ninja import NinjaAPI
    from ninja.errors import ValidationError as NinjaValidationError

    custom = NinjaAPI(urls_namespace="custom-422")
    register_exception_handlers(custom)

    @custom.exception_handler(NinjaValidationError)
    def flat(request: Any, exc: NinjaValidationError) -> Any:
        fields = [".".join(map(str, error["loc"][1:])) for error in exc.errors]
        return custom.create_response(request, {"invalid": fields}, status=400)

    @custom.post("/books")
    async def create(request: Any) -> Any:
        return (await Book.objects.acreate(title="x" * 300, year=2000)).to_dict()

    response = await TestAsyncClient(custom).post("/books")
    assert (response.status_code, response.json()) == (400, {"invalid": ["title"]})


@pytest.mark.parametrize(
    ("field_errors", "detail", "expected"),
    [
        ({"author.name": ["bad"]}, "", [(["upstream", "author", "name"], "bad")]),
        ({"non_field_errors": ["clash"]}, "", [(["upstream"], "clash")]),
        ({}, "Nope.", [(["upstream"], "Nope.")]),
        ({}, "", [(["upstream"], "The data was rejected by the upstream service.")]),
        ({"a": ["one", "two"]}, "", [(["upstream", "a"], "one"), (["upstream", "a"], "two")]),
    ],
)
def test_upstream_errors_as_ninja_items(
    field_errors: dict[str, list[str]], detail: str, expected: list[tuple[list[str], str]]
) -> None:
    from django_api_orm import exceptions
    from django_api_orm.ninja import upstream_errors

    exc = exceptions.ValidationError(
        "HTTP 400", status_code=400, detail=detail, field_errors=field_errors
    )
    items = upstream_errors(exc)
    assert [(item["loc"], item["msg"]) for item in items] == expected
    assert {item["type"] for item in items} == {"upstream_invalid"}


async def test_not_supported_is_400(client: TestAsyncClient, upstream: Upstream) -> None:
    response = await client.get("/errors/either")
    assert response.status_code == 400
    assert "OR between conditions" in response.json()["detail"]
    assert upstream.requests() == []


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials_are_502_without_secrets(
    status: int,
    client: TestAsyncClient,
    upstream: Upstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream.fault(path_prefix="/api/private/", status=status, body={"detail": "bad token"})
    with caplog.at_level(logging.WARNING, logger="django_api_orm"):
        response = await client.get("/errors/private-count")
    assert response.status_code == 502
    assert response.json() == {
        "detail": "The upstream service refused this application's credentials."
    }
    assert not response.has_header("Retry-After")
    assert "test-token" not in response.content.decode()
    assert "test-token" not in caplog.text and f"HTTP {status}" in caplog.text


async def test_server_error_is_503_with_retry_after(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    upstream.fault(path_prefix="/api/books/", status=500, headers={"Retry-After": "7"})
    response = await client.get("/errors/count")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    body = response.json()
    assert body == {"detail": "The upstream service is unavailable; try again later."}


@pytest.fixture
def no_retries(upstream: Upstream) -> Any:
    raw = service_settings(upstream, MAX_RETRIES=0, TIMEOUT=0.5)
    with override_settings(API_ORM_SERVICES={"default": raw}):
        yield


@pytest.mark.usefixtures("no_retries")
async def test_rate_limited_is_503_with_rounded_retry_after(
    client: TestAsyncClient, upstream: Upstream
) -> None:
    upstream.fault(path_prefix="/api/books/", status=429, headers={"Retry-After": "2.5"})
    response = await client.get("/errors/count")
    assert (response.status_code, response["Retry-After"]) == (503, "3")


@pytest.mark.usefixtures("no_retries")
async def test_retries_exhausted_is_503(client: TestAsyncClient, upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", status=503)
    response = await client.get("/errors/count")
    assert response.status_code == 503
    assert not response.has_header("Retry-After")


@pytest.mark.usefixtures("no_retries")
async def test_timeout_is_504(client: TestAsyncClient, upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", delay=1.5)
    response = await client.get("/errors/count")
    assert response.status_code == 504
    assert response.json() == {"detail": "The upstream service timed out."}


async def test_connection_failure_is_503(client: TestAsyncClient, upstream: Upstream) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = service_settings(upstream, MAX_RETRIES=0)
    dead["BASE_URL"] = f"http://127.0.0.1:{port}/api/"
    with override_settings(API_ORM_SERVICES={"default": dead}):
        response = await client.get("/errors/count")
    assert response.status_code == 503
    assert not response.has_header("Retry-After")


async def test_garbage_from_upstream_is_502(client: TestAsyncClient, upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", status=200, body="<html>oops</html>")
    response = await client.get("/errors/count")
    assert response.status_code == 502
    assert response.json() == {"detail": "The upstream service sent an invalid response."}
