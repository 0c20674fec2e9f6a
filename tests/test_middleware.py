"""django_api_orm.middleware.UpstreamErrorMiddleware: upstream failures in plain Django views
(sync and async, through Django's WSGI and ASGI test clients) become 503s and 502s."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings

from django_api_orm import exceptions
from django_api_orm.middleware import BAD_GATEWAY, UNAVAILABLE, UpstreamErrorMiddleware
from tests.conftest import service_settings
from tests.upstream_fixture import Upstream

MIDDLEWARE = ["django_api_orm.middleware.UpstreamErrorMiddleware"]
SECRET = "s3cret-token-never-shown"
VIEWS = ["sync", "async"]
CLIENTS = ["wsgi", "asgi"]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connections to it are refused


@pytest.fixture(autouse=True)
def plain_views() -> Iterator[None]:
    with override_settings(ROOT_URLCONF="tests.middleware_views", MIDDLEWARE=MIDDLEWARE):
        yield


def services(**default: Any) -> override_settings:
    return override_settings(API_ORM_SERVICES={"default": default})


def down(**extra: Any) -> override_settings:
    """The default service on a port where nothing listens."""
    return services(
        BASE_URL=f"http://127.0.0.1:{_unused_port()}/api/",
        AUTH_TOKEN=SECRET,
        MAX_RETRIES=0,
        **extra,
    )


async def get(which: str, path: str, **headers: str) -> HttpResponse:
    """GET ``path`` through the WSGI (sync middleware) or the ASGI (async) handler."""
    if which == "asgi":
        response: HttpResponse = await AsyncClient().get(path, headers=headers)
        return response
    return await sync_to_async(Client().get)(path, headers=headers)  # type: ignore[no-any-return]


def assert_no_secrets(response: HttpResponse, *secrets: str) -> None:
    body = response.content.decode()
    for secret in (SECRET, "127.0.0.1", "/api/", *secrets):
        assert secret not in body
        assert all(secret not in value for value in response.headers.values())


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("view", VIEWS)
async def test_upstream_down_is_503_with_retry_after(
    view: str, client: str, caplog: pytest.LogCaptureFixture
) -> None:
    with down(), caplog.at_level(logging.WARNING, logger="django_api_orm"):
        response = await get(client, f"/{view}/books/7/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"  # no hint from anywhere: the class default
    assert response.content.decode() == UNAVAILABLE
    assert response["Content-Type"].startswith("text/plain")
    assert_no_secrets(response)
    assert "APIConnectionError" in caplog.text  # the operator sees what happened


@pytest.mark.parametrize("client", CLIENTS)
async def test_json_clients_get_json(client: str) -> None:
    with down():
        response = await get(client, "/async/books/7/", accept="application/json")
    assert response.status_code == 503
    assert json.loads(response.content) == {"detail": UNAVAILABLE}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("view", VIEWS)
async def test_open_breaker_gives_its_retry_time(view: str, client: str) -> None:
    with down(CIRCUIT_BREAKER_THRESHOLD=1, CIRCUIT_BREAKER_COOLDOWN=42.5):
        first = await get(client, f"/{view}/books/7/")
        second = await get(client, f"/{view}/books/7/")  # fails fast: the breaker is open
    assert (first.status_code, first["Retry-After"]) == (503, "5")
    assert second.status_code == 503
    assert 42 <= int(second["Retry-After"]) <= 43
    assert_no_secrets(second)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("view", VIEWS)
async def test_timeout_is_503(view: str, client: str, upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/", delay=1)
    with services(**service_settings(upstream, TIMEOUT=0.2, MAX_RETRIES=0)):
        response = await get(client, f"/{view}/books/7/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("status", [500, 503])
async def test_upstream_5xx_is_502(view: str, client: str, status: int, upstream: Upstream) -> None:
    leak = "password=hunter2 at db.internal"
    upstream.fault(path_prefix="/api/books/", status=status, body={"detail": leak}, times=None)
    settings = service_settings(upstream, AUTH_TOKEN=SECRET, MAX_RETRIES=0)
    with services(**settings):
        response = await get(client, f"/{view}/books/7/")
    assert response.status_code == 502
    assert response.content.decode() == BAD_GATEWAY
    assert "Retry-After" not in response
    assert_no_secrets(response, leak, "hunter2")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("view", VIEWS)
async def test_unexpected_response_is_502(view: str, client: str, upstream: Upstream) -> None:
    upstream.fault(
        path_prefix="/api/books/", status=200, body="<html>login</html>", content_type="text/html"
    )
    with services(**service_settings(upstream)):
        response = await get(client, f"/{view}/books/7/")
    assert response.status_code == 502


@pytest.mark.parametrize("client", CLIENTS)
async def test_rejected_credentials_are_502(client: str, upstream: Upstream) -> None:
    settings = service_settings(upstream, AUTH_TOKEN=SECRET)
    upstream.fault(path_prefix="/api/books/", status=401, body={"detail": f"bad {SECRET}"})
    with services(**settings):
        response = await get(client, "/async/books/7/")
    assert response.status_code == 502
    assert_no_secrets(response)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("view", VIEWS)
async def test_does_not_exist_stays_404(view: str, client: str, upstream: Upstream) -> None:
    with services(**service_settings(upstream)):
        found = await get(client, f"/{view}/books/7/")
        missing = await get(client, f"/{view}/books/999/")
    assert found.status_code == 200 and json.loads(found.content)["title"] == "Book 07"
    assert missing.status_code == 404


@pytest.mark.parametrize("client", CLIENTS)
async def test_other_errors_pass_through(client: str, upstream: Upstream) -> None:
    with services(**service_settings(upstream)), pytest.raises(exceptions.NotSupportedError):
        await get(client, "/sync/unsupported/")
    with services(**service_settings(upstream)), pytest.raises(KeyError):
        await get(client, "/async/bug/")


@pytest.mark.parametrize("client", CLIENTS)
async def test_exception_groups_of_upstream_failures(client: str) -> None:
    with down():
        response = await get(client, "/async/gather/")
    assert response.status_code == 503


def test_a_group_with_other_errors_is_not_answered() -> None:
    middleware = UpstreamErrorMiddleware(lambda request: HttpResponse())
    request = HttpRequest()
    outage = exceptions.APIConnectionError("refused")
    mixed = ExceptionGroup("x", [outage, ExceptionGroup("y", [KeyError("bug")])])
    assert middleware.process_exception(request, mixed) is None
    nested = ExceptionGroup(
        "x", [exceptions.ServerError("boom", status_code=500), ExceptionGroup("y", [outage])]
    )
    response = middleware.process_exception(request, nested)
    assert response is not None and response.status_code == 503  # the gravest


def test_subclass_changes_retry_after_and_rendering() -> None:
    class Custom(UpstreamErrorMiddleware):
        retry_after = 30

        def render(self, request: HttpRequest, status: int, message: str) -> HttpResponse:
            return HttpResponse(f"<h1>{status}</h1>", status=status)

    response = Custom(lambda request: HttpResponse()).process_exception(
        HttpRequest(), exceptions.APITimeoutError("slow")
    )
    assert response is not None
    assert (response.status_code, response["Retry-After"], response.content) == (
        503,
        "30",
        b"<h1>503</h1>",
    )
    limited = exceptions.RateLimited("slow down", status_code=429, retry_after=0.2)
    response = Custom(lambda request: HttpResponse()).process_exception(HttpRequest(), limited)
    assert response is not None and response["Retry-After"] == "1"  # rounded up, at least 1


def test_the_middleware_is_sync_and_async_capable() -> None:
    assert UpstreamErrorMiddleware.sync_capable and UpstreamErrorMiddleware.async_capable
