"""``AsyncServiceClient``: the seeds' explicit async client, on the same transport as models."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .client import APIResponse, BaseServiceClient, request_plan

__all__ = ["APIResponse", "AsyncServiceClient"]


class AsyncServiceClient(BaseServiceClient):
    """An async client for one API: ``await client.get(...)`` returning APIResponse.

    Same constructor and defaults as :class:`~django_api_orm.ServiceClient`. Use it as an
    async context manager, or call ``await client.close()``.
    """

    async def _call(self, method: str, endpoint: str, **kwargs: Any) -> APIResponse:
        return await self._service.arun(
            request_plan(self._service.context, method, endpoint, **kwargs)
        )

    async def get(self, endpoint: str, params: dict[str, Any] | None = None) -> APIResponse:
        """GET ``endpoint`` with query ``params``."""
        return await self._call("GET", endpoint, params=params)

    async def post(self, endpoint: str, data: dict[str, Any] | None = None) -> APIResponse:
        """POST ``data`` as JSON."""
        return await self._call("POST", endpoint, data=data)

    async def put(self, endpoint: str, data: dict[str, Any] | None = None) -> APIResponse:
        """PUT ``data`` as JSON."""
        return await self._call("PUT", endpoint, data=data)

    async def patch(self, endpoint: str, data: dict[str, Any] | None = None) -> APIResponse:
        """PATCH ``data`` as JSON."""
        return await self._call("PATCH", endpoint, data=data)

    async def delete(self, endpoint: str) -> APIResponse:
        """DELETE ``endpoint``."""
        return await self._call("DELETE", endpoint)

    async def close(self) -> None:
        """Close this event loop's connection pool; the client cannot be used afterwards."""
        await self._service.aclose(final=True)

    async def __aenter__(self) -> AsyncServiceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
