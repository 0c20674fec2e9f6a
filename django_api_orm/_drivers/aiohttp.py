"""The async driver on native aiohttp: one ``ClientSession`` per service and event loop.

Set up so that aiohttp does nothing on its own: no redirects, no cookies, no decompression
(the body cap inflates step by step), no environment proxies or ``.netrc``, and no second
send of an idempotent request whose pooled connection turned out dead (aiohttp does that by
itself, so the server would see more than ``MAX_RETRIES + 1`` sends).
"""

from __future__ import annotations

import asyncio
import errno
import ssl
import time
import zlib
from typing import Any

import aiohttp
from yarl import URL

from .base import BodyTooLarge, Headers, Prepared, Received, TransportFailure, Wire

__all__ = ["AiohttpDriver"]


class AiohttpDriver:
    """Async driver on an ``aiohttp.ClientSession`` (made in, and bound to, its loop)."""

    name = "aiohttp"

    def __init__(self, wire: Wire, tls: ssl.SSLContext | None) -> None:
        self._wire = wire
        phases = wire.phases
        connector = aiohttp.TCPConnector(
            limit=wire.max_connections,
            limit_per_host=0,
            ssl=tls if tls is not None else True,
            keepalive_timeout=5.0,
        )
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=None if phases.connect >= phases.total else phases.connect,
            sock_read=None if phases.read >= phases.total else phases.read,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            requote_redirect_url=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            timeout=self._timeout,
        )
        # aiohttp resends an idempotent request once when its pooled connection was closed
        # under it (RFC 9112 9.3.1); the retry policy decides about resending here.
        self._session._retry_connection = False

    async def send(self, prepared: Prepared, deadline: float) -> Received:
        """Send once; everything (pool, connect, body) ends by ``deadline``."""
        wire = self._wire
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                async with self._session.request(
                    prepared.method,
                    URL(prepared.url, encoded=True),
                    headers=prepared.headers,
                    data=prepared.body,
                    allow_redirects=False,
                    timeout=self._timeout,
                ) as response:
                    headers = Headers.of(
                        [
                            (k.decode("latin-1"), v.decode("latin-1"))
                            for k, v in response.raw_headers
                        ]
                    )
                    body = wire.open_body(headers)
                    if body.plain and headers.get("content-length", "").isdigit():
                        # A declared length (open_body held it to the cap) and nothing to
                        # inflate: aiohttp reads exactly that many bytes, in one call.
                        content = await response.content.read()
                    else:
                        async for chunk in response.content.iter_any():
                            body.feed(chunk)
                        content = body.body()
                    version = response.version
                    return Received(
                        response.status,
                        headers,
                        content,
                        "HTTP/1.1"
                        if version is None or version == (1, 1)
                        else f"HTTP/{version[0]}.{version[1]}",
                        tuple(response.headers.getall("set-cookie"))
                        if "set-cookie" in headers
                        else (),
                    )
        except (BodyTooLarge, zlib.error):
            raise
        except aiohttp.ClientError as error:
            raise failure(error) from None
        except TimeoutError:
            raise TransportFailure("timeout", "the call's deadline passed") from None
        except Exception as error:
            raise TransportFailure("other", f"{type(error).__name__}: {_short(error)}") from None

    @property
    def closed(self) -> bool:
        """Whether the session is closed."""
        return bool(self._session.closed)

    def connections(self) -> int:
        """Open connections (idle and in use)."""
        connector: Any = self._session.connector
        idle = sum(len(conns) for conns in connector._conns.values())
        return idle + len(connector._acquired)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        await self._session.close()


def failure(error: aiohttp.ClientError) -> TransportFailure:
    """The :class:`TransportFailure` of an aiohttp exception (never its text with the URL:
    aiohttp's messages name it, query string included)."""
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return TransportFailure("connect-timeout", "connect timeout")
    if isinstance(error, aiohttp.ServerTimeoutError):
        return TransportFailure("timeout", "read timeout")
    if isinstance(error, aiohttp.ClientSSLError | aiohttp.ClientConnectorCertificateError):
        return TransportFailure("tls", "TLS failed")
    if isinstance(error, aiohttp.ClientConnectorError):
        if error.os_error.errno == errno.ECONNREFUSED or isinstance(
            error.os_error, ConnectionRefusedError
        ):
            return TransportFailure("refused", "connection refused")
        return TransportFailure("connect", error.os_error.strerror or "cannot connect")
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return TransportFailure("dropped", "the server closed the connection")
    if isinstance(error, aiohttp.ClientPayloadError):
        return TransportFailure("dropped", "the body was cut short")
    if isinstance(error, aiohttp.ClientResponseError):
        # Raised by the parser for what is not HTTP: bad status line, headers, framing.
        return TransportFailure("protocol", f"malformed response: {error.message[:200]}")
    if isinstance(error, aiohttp.ClientOSError):
        return TransportFailure("dropped", error.strerror or "connection error")
    return TransportFailure("other", type(error).__name__)


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else ""


def _loop_time(deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())
