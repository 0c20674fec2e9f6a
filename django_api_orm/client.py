"""``ServiceClient``: the seeds' explicit sync client, on the same transport as the models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from ._async_safety import ensure_sync_allowed
from ._core.messages import Plan, Request
from ._core.plans import ServiceContext
from ._core.responses import parse_json
from ._settings import SETTING_NAME, ServiceSettings, describe_errors
from ._transport import Service

__all__ = ["APIResponse", "BaseServiceClient", "ServiceClient"]


@dataclass(frozen=True, slots=True)
class APIResponse:
    """A response of the explicit clients: ``status_code``, decoded JSON ``data``, ``headers``."""

    status_code: int
    data: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """True for 2xx and 3xx (error statuses raise before an APIResponse exists)."""
        return self.status_code < 400


def _params(params: Mapping[str, Any] | None, ctx: ServiceContext) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(key, ctx.dialect.format_scalar(v)) for v in values if v is not None]
    return pairs


def request_plan(
    ctx: ServiceContext, method: str, endpoint: str, *, params: Any = None, data: Any = None
) -> Plan[APIResponse]:
    """One request with the service's retries and error mapping, as an :class:`APIResponse`."""
    request = Request(method, endpoint, params=_params(params, ctx), json=data)
    response = yield from ctx.send(request)
    body = parse_json(response, service=ctx.alias)
    return APIResponse(response.status_code, body, response.headers)


class BaseServiceClient:
    """The seeds' constructor, shared by :class:`ServiceClient` and ``AsyncServiceClient``.

    Defaults (as in the seed docs): timeout 30 s, follow redirects (auth is dropped on a
    cross-origin redirect), 3 retries from 1 s with jitter, 100 connections, 20 kept alive.
    """

    def __init__(
        self,
        base_url: str,
        auth_token: str | None = None,
        timeout: float = 30.0,
        verify_ssl: bool = True,
        follow_redirects: bool = True,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        http2: bool = False,
        max_connections: int = 100,
        max_keepalive_connections: int = 20,
        headers: dict[str, str] | None = None,
    ) -> None:
        problems: list[str] = []
        try:
            settings = ServiceSettings(
                BASE_URL=base_url,
                AUTH_TOKEN=auth_token,  # pydantic makes it a SecretStr
                TIMEOUT=timeout,
                VERIFY_SSL=verify_ssl,
                FOLLOW_REDIRECTS=follow_redirects,
                MAX_RETRIES=max_retries,
                RETRY_DELAY=retry_delay,
                HTTP2=http2,
                MAX_CONNECTIONS=max_connections,
                MAX_KEEPALIVE_CONNECTIONS=max_keepalive_connections,
                HEADERS=headers or {},
            )
        except PydanticValidationError as error:
            # The settings path's messages: they name the key, never echo the value (a token).
            name = type(self).__name__
            prefix = f"{SETTING_NAME}[{name!r}]"
            problems = [p.replace(prefix, f"{name}()", 1) for p in describe_errors(name, error)]
        if problems:  # raised outside the except block: no context holding the bad value
            raise ValueError("\n".join(problems))
        self.base_url = settings.BASE_URL
        self._service = Service(f"{type(self).__name__}({base_url})", settings, explicit=True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._service.alias}>"


class ServiceClient(BaseServiceClient):
    """A sync client for one API: ``get/post/put/patch/delete`` returning APIResponse."""

    def _call(self, method: str, endpoint: str, **kwargs: Any) -> APIResponse:
        ensure_sync_allowed(f"ServiceClient.{method.lower()}", method.lower())
        return self._service.run(request_plan(self._service.context, method, endpoint, **kwargs))

    def get(self, endpoint: str, params: dict[str, Any] | None = None) -> APIResponse:
        """GET ``endpoint`` with query ``params``."""
        return self._call("GET", endpoint, params=params)

    def post(self, endpoint: str, data: dict[str, Any] | None = None) -> APIResponse:
        """POST ``data`` as JSON."""
        return self._call("POST", endpoint, data=data)

    def put(self, endpoint: str, data: dict[str, Any] | None = None) -> APIResponse:
        """PUT ``data`` as JSON."""
        return self._call("PUT", endpoint, data=data)

    def patch(self, endpoint: str, data: dict[str, Any] | None = None) -> APIResponse:
        """PATCH ``data`` as JSON."""
        return self._call("PATCH", endpoint, data=data)

    def delete(self, endpoint: str) -> APIResponse:
        """DELETE ``endpoint``."""
        return self._call("DELETE", endpoint)

    def close(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        self._service.close(final=True)

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
