"""The explicit clients of the seeds: ``ServiceClient`` and ``AsyncServiceClient``."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pydantic
import pytest

from django_api_orm import (
    APIModel,
    APIResponse,
    AsyncAPIModel,
    AsyncServiceClient,
    ServiceClient,
    exceptions,
    register_async_models,
    register_models,
)
from django_api_orm.async_client import AsyncServiceClient as SeedPathAsyncServiceClient
from tests.models import Book
from tests.upstream_fixture import Upstream

SIGNATURE = [
    ("base_url", inspect.Parameter.empty),
    ("auth_token", None),
    ("timeout", 30.0),
    ("verify_ssl", True),
    ("follow_redirects", True),
    ("max_retries", 3),
    ("retry_delay", 1.0),
    ("http2", False),
    ("max_connections", 100),
    ("max_keepalive_connections", 20),
    ("headers", None),
]

NEW_BOOK = {"title": "Client", "year": 2011}


class ClientBookSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    year: int


class ClientBook(APIModel):
    _schema_class = ClientBookSchema
    _endpoint = "books/"


class AsyncClientBook(AsyncAPIModel):
    _schema_class = ClientBookSchema
    _endpoint = "books/"


@pytest.fixture
def client(upstream: Upstream) -> Iterator[ServiceClient]:
    with ServiceClient(base_url=f"{upstream.url}/api/", retry_delay=0) as client:
        yield client


@pytest.fixture
async def aclient(upstream: Upstream) -> AsyncIterator[AsyncServiceClient]:
    async with AsyncServiceClient(base_url=f"{upstream.url}/api/", retry_delay=0) as client:
        yield client


def only_request(upstream: Upstream) -> dict[str, Any]:
    [entry] = upstream.requests()
    return entry


# -- constructor -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ServiceClient, AsyncServiceClient])
def test_constructor_signature_matches_the_seed(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    assert [(p.name, p.default) for p in params] == SIGNATURE
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)


def test_seed_module_path() -> None:
    assert SeedPathAsyncServiceClient is AsyncServiceClient


def test_constructor_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match=r"ServiceClient\(\)\['BASE_URL'\]: must be an absolute"):
        ServiceClient(base_url="not a url")
    with pytest.raises(ValueError, match="MAX_KEEPALIVE_CONNECTIONS must not exceed"):
        ServiceClient(base_url="http://x/", max_connections=5, max_keepalive_connections=10)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        AsyncServiceClient(base_url="http://x/", headers={"X-Bad": "a\r\nInjected: 1"})


def test_constructor_sends_nothing(upstream: Upstream) -> None:
    client = ServiceClient(base_url=f"{upstream.url}/api/")
    client.close()
    assert upstream.requests() == []


# -- sync requests -----------------------------------------------------------------------------


def test_get_with_params(client: ServiceClient, upstream: Upstream) -> None:
    response = client.get("books/", params={"year__gte": 2000, "ordering": "-id", "x": None})
    assert isinstance(response, APIResponse)
    assert response.status_code == 200
    assert response.ok
    assert response.data["count"] == 6
    assert [row["id"] for row in response.data["results"]] == [25, 24, 23, 22, 21, 20]
    assert response.headers["content-type"] == "application/json"
    entry = only_request(upstream)
    assert (entry["method"], entry["path"]) == ("GET", "/api/books/")
    assert entry["query"] == "year__gte=2000&ordering=-id"


def test_get_params_with_lists_and_booleans(client: ServiceClient, upstream: Upstream) -> None:
    response = client.get("books/", params={"in_stock": True, "page_size": 2})
    assert [row["id"] for row in response.data["results"]] == [2, 4]
    assert only_request(upstream)["query"] == "in_stock=true&page_size=2"


def test_get_detail_without_params(client: ServiceClient, upstream: Upstream) -> None:
    response = client.get("books/7/")
    assert response.data["title"] == "Book 07"
    assert only_request(upstream)["query"] == ""


def test_post_put_patch_delete(client: ServiceClient, upstream: Upstream) -> None:
    created = client.post("books/", data=NEW_BOOK)
    assert created.status_code == 201
    assert created.data["id"] == 26
    assert created.data["title"] == "Client"

    put = client.put("books/26/", data={"title": "Put", "year": 1999, "isbn": None})
    assert put.status_code == 200
    assert (put.data["title"], put.data["isbn"]) == ("Put", None)

    patched = client.patch("books/26/", data={"year": 2001})
    assert patched.status_code == 200
    assert (patched.data["title"], patched.data["year"]) == ("Put", 2001)

    deleted = client.delete("books/26/")
    assert deleted == APIResponse(204, None, deleted.headers)
    assert deleted.ok

    log = upstream.requests()
    assert [(r["method"], r["path"]) for r in log] == [
        ("POST", "/api/books/"),
        ("PUT", "/api/books/26/"),
        ("PATCH", "/api/books/26/"),
        ("DELETE", "/api/books/26/"),
    ]
    assert [json.loads(r["body"]) if r["body"] else None for r in log] == [
        NEW_BOOK,
        {"title": "Put", "year": 1999, "isbn": None},
        {"year": 2001},
        None,
    ]
    assert all(r["headers"]["content-type"] == "application/json" for r in log[:3])
    with pytest.raises(exceptions.NotFound):
        client.get("books/26/")


def test_response_is_a_frozen_value(client: ServiceClient, upstream: Upstream) -> None:
    response = client.get("books/1/")
    with pytest.raises(AttributeError):
        response.status_code = 500  # type: ignore[misc]


def test_absolute_endpoint_stays_on_the_base_url(upstream: Upstream) -> None:
    with ServiceClient(base_url=upstream.url) as client:
        assert client.get("/api/books/3/").data["id"] == 3
    assert only_request(upstream)["path"] == "/api/books/3/"


# -- headers and auth -------------------------------------------------------------------------


def test_auth_token_is_sent_as_bearer(upstream: Upstream) -> None:
    with ServiceClient(base_url=f"{upstream.url}/api/", auth_token="test-token") as client:
        assert client.get("private/books/").data["count"] == 25
    headers = only_request(upstream)["headers"]
    assert headers["authorization"] == "Bearer test-token"


def test_no_token_no_authorization_header(client: ServiceClient, upstream: Upstream) -> None:
    with pytest.raises(exceptions.AuthenticationError) as info:
        client.get("private/books/")
    assert info.value.status_code == 401
    assert "authorization" not in only_request(upstream)["headers"]


def test_wrong_token_raises_authentication_error(upstream: Upstream) -> None:
    with (
        ServiceClient(base_url=f"{upstream.url}/api/", auth_token="wrong") as client,
        pytest.raises(exceptions.AuthenticationError, match="Invalid token"),
    ):
        client.get("books/")
    assert len(upstream.requests()) == 1  # 401 is not retried


def test_custom_headers_are_sent(upstream: Upstream) -> None:
    with ServiceClient(
        base_url=f"{upstream.url}/api/",
        auth_token="test-token",
        headers={"X-Trace": "abc-123", "Accept-Language": "fr"},
    ) as client:
        client.get("books/1/")
        client.post("books/", NEW_BOOK)
    for entry in upstream.requests():
        assert entry["headers"]["x-trace"] == "abc-123"
        assert entry["headers"]["accept-language"] == "fr"
        assert entry["headers"]["authorization"] == "Bearer test-token"


def test_token_is_not_in_repr_or_errors(upstream: Upstream) -> None:
    with ServiceClient(base_url=f"{upstream.url}/api/", auth_token="s3cret-token") as client:
        assert "s3cret" not in repr(client)
        with pytest.raises(exceptions.AuthenticationError) as info:
            client.get("books/")
        assert "s3cret" not in str(info.value)
        assert "s3cret" not in repr(info.value)


# -- typed errors ---------------------------------------------------------------------------------


def test_404_raises_not_found(client: ServiceClient, upstream: Upstream) -> None:
    with pytest.raises(exceptions.NotFound) as info:
        client.get("books/999/")
    error = info.value
    assert error.status_code == 404
    assert error.detail == "No Book matches the given query."
    assert error.method == "GET"
    assert error.url.endswith("/api/books/999/")
    assert isinstance(error, exceptions.ClientError)
    assert isinstance(error, exceptions.HTTPStatusError)
    assert "404" in str(error)
    assert len(upstream.requests()) == 1


def test_400_raises_validation_error_with_field_errors(
    client: ServiceClient, upstream: Upstream
) -> None:
    with pytest.raises(exceptions.ValidationError) as info:
        client.post("books/", data={"year": "abc"})
    error = info.value
    assert error.status_code == 400
    assert error.field_errors == {
        "title": ["This field is required."],
        "year": ["A valid integer is required."],
    }
    assert error.body == error.field_errors
    assert error.method == "POST"
    assert "title: This field is required." in str(error)
    assert len(upstream.requests()) == 1  # a POST without idempotency key is never retried


def test_400_on_a_bad_filter_value(client: ServiceClient, upstream: Upstream) -> None:
    with pytest.raises(exceptions.ValidationError) as info:
        client.get("books/", params={"year": "abc"})
    assert info.value.field_errors == {"year": ["Enter a number."]}


def test_5xx_is_retried_then_raised(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", status=503, times=None, body={"detail": "down"})
    with (
        ServiceClient(base_url=f"{upstream.url}/api/", max_retries=2, retry_delay=0) as client,
        pytest.raises(exceptions.ServerError) as info,
    ):
        client.get("books/1/")
    assert info.value.status_code == 503
    assert info.value.detail == "down"
    assert len(upstream.requests()) == 3


def test_a_transient_503_is_retried_transparently(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", status=503)
    with ServiceClient(base_url=f"{upstream.url}/api/", retry_delay=0) as client:
        assert client.get("books/1/").data["id"] == 1
    assert len(upstream.requests()) == 2


def test_non_json_body_raises_response_error(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", status=200, body="<html>oops</html>")
    with (
        ServiceClient(base_url=f"{upstream.url}/api/", retry_delay=0) as client,
        pytest.raises(exceptions.ResponseError, match="Expected a JSON body"),
    ):
        client.get("books/1/")


# -- closing ---------------------------------------------------------------------------------------


def test_use_after_close_raises(upstream: Upstream) -> None:
    client = ServiceClient(base_url=f"{upstream.url}/api/")
    assert client.get("books/1/").status_code == 200
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.get("books/1/")
    with pytest.raises(RuntimeError, match="closed"):
        client.post("books/", NEW_BOOK)
    client.close()  # closing twice is harmless
    assert len(upstream.requests()) == 1


def test_context_manager_closes_the_pool(upstream: Upstream) -> None:
    with ServiceClient(base_url=f"{upstream.url}/api/") as client:
        client.get("books/1/")
        pool = client._service._sync_driver
        assert pool is not None
        assert not pool.closed
    assert pool.closed
    with pytest.raises(RuntimeError):
        client.get("books/1/")


def test_context_manager_closes_on_error(upstream: Upstream) -> None:
    client = ServiceClient(base_url=f"{upstream.url}/api/")
    with pytest.raises(exceptions.NotFound), client:
        client.get("books/999/")
    with pytest.raises(RuntimeError):
        client.get("books/1/")


def test_models_registered_on_a_closed_client_refuse_to_run(upstream: Upstream) -> None:
    with ServiceClient(base_url=f"{upstream.url}/api/") as client:
        register_models(client, ClientBook)
        assert ClientBook.objects.get(pk=1).title == "Book 01"
    with pytest.raises(RuntimeError, match="closed"):
        ClientBook.objects.count()
    assert len(upstream.requests()) == 1


def test_registration_type_checks(upstream: Upstream) -> None:
    with ServiceClient(base_url=f"{upstream.url}/api/") as client:
        with pytest.raises(TypeError):
            register_async_models(client, AsyncClientBook)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            register_models(client, dict)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            register_models(client, APIModel)


def test_registered_client_sends_the_models_requests(upstream: Upstream) -> None:
    with ServiceClient(base_url=f"{upstream.url}/api/", headers={"X-Client": "explicit"}) as client:
        register_models(client, ClientBook)
        assert ClientBook.objects.filter(year__gte=2000).count() == 6
        Book.objects.count()  # settings-based model: not through the client
    explicit, settings_based = upstream.requests()
    assert explicit["headers"].get("x-client") == "explicit"
    assert "x-client" not in settings_based["headers"]


# -- async client ----------------------------------------------------------------------------------


async def test_async_get_with_params(aclient: AsyncServiceClient, upstream: Upstream) -> None:
    response = await aclient.get("books/", params={"author": "Cy", "ordering": "-year"})
    assert isinstance(response, APIResponse)
    assert response.status_code == 200
    assert [row["id"] for row in response.data["results"]] == [22, 17, 12, 7, 2]
    assert only_request(upstream)["query"] == "author=Cy&ordering=-year"


async def test_async_post_put_patch_delete(aclient: AsyncServiceClient, upstream: Upstream) -> None:
    created = await aclient.post("books/", data=NEW_BOOK)
    assert (created.status_code, created.data["id"]) == (201, 26)
    put = await aclient.put("books/26/", data={"title": "P", "year": 1})
    assert put.data["title"] == "P"
    patched = await aclient.patch("books/26/", data={"year": 2})
    assert (patched.data["title"], patched.data["year"]) == ("P", 2)
    deleted = await aclient.delete("books/26/")
    assert (deleted.status_code, deleted.data) == (204, None)
    assert [r["method"] for r in upstream.requests()] == ["POST", "PUT", "PATCH", "DELETE"]
    with pytest.raises(exceptions.NotFound):
        await aclient.get("books/26/")


async def test_async_typed_errors(aclient: AsyncServiceClient, upstream: Upstream) -> None:
    with pytest.raises(exceptions.NotFound) as not_found:
        await aclient.delete("books/999/")
    assert not_found.value.status_code == 404
    with pytest.raises(exceptions.ValidationError) as invalid:
        await aclient.patch("books/1/", data={"year": "abc"})
    assert invalid.value.field_errors == {"year": ["A valid integer is required."]}
    with pytest.raises(exceptions.AuthenticationError):
        await aclient.get("private/books/")


async def test_async_auth_and_headers(upstream: Upstream) -> None:
    async with AsyncServiceClient(
        base_url=f"{upstream.url}/api/", auth_token="test-token", headers={"X-Trace": "t1"}
    ) as client:
        assert (await client.get("private/books/1/")).data["id"] == 1
    headers = only_request(upstream)["headers"]
    assert headers["authorization"] == "Bearer test-token"
    assert headers["x-trace"] == "t1"


async def test_async_use_after_close_raises(upstream: Upstream) -> None:
    client = AsyncServiceClient(base_url=f"{upstream.url}/api/")
    assert (await client.get("books/1/")).status_code == 200
    await client.close()
    with pytest.raises(RuntimeError, match="closed"):
        await client.get("books/1/")
    with pytest.raises(RuntimeError, match="closed"):
        await client.delete("books/1/")
    assert len(upstream.requests()) == 1


async def test_async_context_manager_closes_the_pool(upstream: Upstream) -> None:
    async with AsyncServiceClient(base_url=f"{upstream.url}/api/") as client:
        await client.get("books/1/")
        pool = client._service.async_driver()
        assert not pool.closed
        assert len(client._service._async_drivers) == 1
    assert pool.closed
    assert len(client._service._async_drivers) == 0
    with pytest.raises(RuntimeError):
        await client.get("books/1/")


async def test_async_client_with_registered_async_model(upstream: Upstream) -> None:
    async with AsyncServiceClient(base_url=f"{upstream.url}/api/") as client:
        register_async_models(client, AsyncClientBook)
        book = await AsyncClientBook.objects.get(pk=4)
        assert book.to_dict() == {"id": 4, "title": "Book 04", "year": 1984}
    with pytest.raises(RuntimeError, match="closed"):
        await AsyncClientBook.objects.get(pk=4)


def test_async_client_across_asyncio_run(upstream: Upstream) -> None:
    import asyncio

    client = AsyncServiceClient(base_url=f"{upstream.url}/api/")

    async def one(pk: int) -> int:
        return int((await client.get(f"books/{pk}/")).data["id"])

    assert asyncio.run(one(1)) == 1
    assert asyncio.run(one(2)) == 2  # a new loop gets its own pool
    assert len(client._service._async_drivers) == 0  # each closed with its loop

    async def close() -> None:
        await client.close()

    asyncio.run(close())
    with pytest.raises(RuntimeError):
        asyncio.run(one(3))
