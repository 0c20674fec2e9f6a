"""Drivers on the connection pools of httpx: ``httpx2`` (httpcore2) and ``httpx`` 0.28
(httpcore 1.x), sync and async.

They talk to the pool (httpcore) directly: the httpx client layer above it (cookies, auth
flows, redirects, event hooks, its INFO log of every URL) is what this library does itself,
once for every driver, so it is left out.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
import zlib
from types import ModuleType
from typing import Any

from .base import (
    BodyTooLarge,
    Headers,
    Prepared,
    Received,
    TransportFailure,
    Wire,
    host_header,
)

__all__ = ["AsyncPoolDriver", "SyncPoolDriver", "core_module"]


def core_module(stack: str) -> ModuleType:
    """The pool package of a stack: ``httpcore2`` for ``"httpx2"``, ``httpcore`` for
    ``"httpx"``."""
    if stack == "httpx2":
        import httpcore2

        return httpcore2
    import httpcore

    return httpcore


def _pool_options(wire: Wire, tls: ssl.SSLContext | None) -> dict[str, Any]:
    return {
        "ssl_context": tls,
        "max_connections": wire.max_connections,
        "max_keepalive_connections": wire.max_keepalive,
        "http1": True,
        "http2": wire.http2,
        "retries": 0,  # a failed connect is the retry policy's business, not the pool's
    }


def failure(core: ModuleType, error: Exception) -> TransportFailure:
    """The :class:`TransportFailure` of an httpcore exception."""
    name = type(error).__name__
    if isinstance(error, core.ConnectTimeout):
        return TransportFailure("connect-timeout", "connect timeout")
    if isinstance(error, core.TimeoutException):  # read, write, pool
        return TransportFailure("timeout", name)
    if isinstance(error, core.ConnectError | core.ProxyError):
        return _connect_failure(error)
    if isinstance(error, core.RemoteProtocolError):
        text = str(error).lower()
        if "complete message body" in text or "incomplete" in text:
            return TransportFailure("dropped", "the body was cut short")
        if "disconnect" in text or "peer closed" in text:
            return TransportFailure("dropped", "the server closed the connection")
        return TransportFailure("protocol", f"malformed response: {_short(error)}")
    if isinstance(error, core.NetworkError):  # ReadError, WriteError
        return TransportFailure("dropped", f"{name}: {_short(error)}")
    return TransportFailure("other", f"{name}: {_short(error)}")


def _connect_failure(error: BaseException) -> TransportFailure:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return TransportFailure("tls", f"TLS failed: {_short(cause)}")
        if isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED
        ):
            return TransportFailure("refused", "connection refused")
        cause = cause.__cause__ or cause.__context__
    text = str(error)
    if "refused" in text.lower():
        return TransportFailure("refused", "connection refused")
    return TransportFailure("connect", _short(error) or type(error).__name__)


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else ""


def _received(response: Any, content: bytes) -> Received:
    version = response.extensions.get("http_version", b"HTTP/1.1")
    return Received(
        response.status,
        Headers.of((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers),
        content,
        version.decode("ascii", "replace") if isinstance(version, bytes) else str(version),
        tuple(v.decode("latin-1") for k, v in response.headers if k.lower() == b"set-cookie"),
    )


class SyncPoolDriver:
    """Sync driver on ``httpcore.ConnectionPool`` (thread-safe: one per service)."""

    def __init__(self, stack: str, wire: Wire, tls: ssl.SSLContext | None) -> None:
        self.name = stack
        self._core = core = core_module(stack)
        self._wire = wire
        self._pool = core.ConnectionPool(**_pool_options(wire, tls))
        self.closed = False

    def send(self, prepared: Prepared, deadline: float) -> Received:
        """Send once; the body is read under the cap and the deadline."""
        core, wire = self._core, self._wire
        phases = wire.phases
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportFailure("timeout", "the call's deadline passed")
        # httpcore reads these per socket operation: lowering "read" between chunks holds
        # a trickled body to the deadline.
        timeouts = {
            "connect": min(phases.connect, left),
            "read": min(phases.read, left),
            "write": min(phases.write, left),
            "pool": min(phases.pool, left),
        }
        request = core.Request(
            prepared.method,
            prepared.url,
            headers=[*prepared.headers, ("Host", host_header(prepared.url))],
            content=prepared.body,
            extensions={"timeout": timeouts},
        )
        try:
            response = self._pool.handle_request(request)
            try:
                received = _received(response, b"")
                body = wire.open_body(received.headers)
                for chunk in response.stream:
                    body.feed(chunk)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TransportFailure("timeout", "the call's deadline passed")
                    timeouts["read"] = min(phases.read, left)
                received.content = body.body()
            finally:
                response.close()
        except (TransportFailure, BodyTooLarge, zlib.error):
            raise
        except Exception as error:
            raise failure(core, error) from None
        return received

    def connections(self) -> int:
        """Open connections (idle and in use)."""
        return len(self._pool.connections)

    @property
    def http2(self) -> bool:
        """Whether the pool offers HTTP/2."""
        return bool(self._pool._http2)

    def close(self) -> None:
        """Close every connection."""
        self.closed = True
        self._pool.close()


class AsyncPoolDriver:
    """Async driver on ``httpcore.AsyncConnectionPool`` (one per service and event loop)."""

    def __init__(self, stack: str, wire: Wire, tls: ssl.SSLContext | None) -> None:
        self.name = stack
        self._core = core = core_module(stack)
        self._wire = wire
        self._pool = core.AsyncConnectionPool(**_pool_options(wire, tls))
        self.closed = False

    async def send(self, prepared: Prepared, deadline: float) -> Received:
        """Send once; everything (pool, connect, body) ends by ``deadline``."""
        core, wire = self._core, self._wire
        phases = wire.phases
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportFailure("timeout", "the call's deadline passed")
        timeouts = {
            "connect": min(phases.connect, left),
            "read": min(phases.read, left),
            "write": min(phases.write, left),
            "pool": min(phases.pool, left),
        }
        request = core.Request(
            prepared.method,
            prepared.url,
            headers=[*prepared.headers, ("Host", host_header(prepared.url))],
            content=prepared.body,
            extensions={"timeout": timeouts},
        )
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                response = await self._pool.handle_async_request(request)
                try:
                    received = _received(response, b"")
                    body = wire.open_body(received.headers)
                    async for chunk in response.stream:
                        body.feed(chunk)
                    received.content = body.body()
                finally:
                    await response.aclose()
        except TimeoutError:
            raise TransportFailure("timeout", "the call's deadline passed") from None
        except (TransportFailure, BodyTooLarge, zlib.error):
            raise
        except Exception as error:
            raise failure(core, error) from None
        return received

    def connections(self) -> int:
        """Open connections (idle and in use)."""
        return len(self._pool.connections)

    @property
    def http2(self) -> bool:
        """Whether the pool offers HTTP/2."""
        return bool(self._pool._http2)

    async def aclose(self) -> None:
        """Close every connection."""
        self.closed = True
        await self._pool.aclose()


def _loop_time(deadline: float) -> float:
    """``deadline`` (a ``time.monotonic()`` value) on the running loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())
