"""Drivers: one small module per HTTP stack, behind one interface.

A driver sends one prepared request and returns what came back
(:class:`~django_api_orm._drivers.base.Received`), or raises
:class:`~django_api_orm._drivers.base.TransportFailure`; it follows no redirect, keeps no
cookie and retries nothing. The service around it does all of that once, for every driver
(:mod:`django_api_orm._transport`).

======================  =========  ==========================================================
name                    colours    stack
======================  =========  ==========================================================
``"pycurl"``            sync       libcurl through pycurl (``pip install pycurl``)
``"httpx2"``            both       httpx2's pool, httpcore2 (HTTP/1.1 and HTTP/2)
``"httpx"``             both       httpx 0.28's pool, httpcore 1.x (for projects that pin it)
``"aiohttp"``           async      aiohttp's ``ClientSession`` (one per event loop)
``"inprocess"``         both       a handler function (the test kit's fake service)
======================  =========  ==========================================================
"""

from __future__ import annotations

import importlib
import ssl
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

from .base import Prepared, Received, Wire

__all__ = [
    "AsyncDriver",
    "SendsAhead",
    "SyncDriver",
    "load",
    "new_async_driver",
    "new_sync_driver",
]

_MODULES = {
    "pycurl": "django_api_orm._drivers.curl",
    "httpx2": "django_api_orm._drivers.httpx",
    "httpx": "django_api_orm._drivers.httpx",
    "aiohttp": "django_api_orm._drivers.aiohttp",
    "inprocess": "django_api_orm._drivers.inprocess",
}

TLS = Callable[[], ssl.SSLContext | None]


class SyncDriver(Protocol):
    """What the sync side of a service needs from a driver (thread-safe)."""

    name: str
    closed: bool

    def send(self, prepared: Prepared, deadline: float) -> Received: ...

    def connections(self) -> int: ...

    def close(self) -> None: ...


class SendsAhead(Protocol):
    """A sync driver that can put a request on the wire now and read its answer later (the
    service sends a page walk's next page ahead with it; see ``Service._send_ahead``)."""

    def begin(self, prepared: Prepared) -> Any:
        """Send now; a token for :meth:`finish`, or None when no connection is free."""

    def finish(self, token: Any, deadline: float) -> Received:
        """The answer, read by ``deadline`` (raises ``TransportFailure`` as ``send`` does)."""

    def abort(self, token: Any) -> None:
        """Drop the request and its connection, unread."""


class AsyncDriver(Protocol):
    """What the async side needs (one driver per event loop)."""

    name: str

    @property
    def closed(self) -> bool: ...

    async def send(self, prepared: Prepared, deadline: float) -> Received: ...

    def connections(self) -> int: ...

    async def aclose(self) -> None: ...


def load(name: str) -> ModuleType:
    """Import the driver module ``name`` (and its HTTP stack)."""
    module = importlib.import_module(_MODULES[name])
    if name in ("httpx", "httpx2"):
        module.core_module(name)
    return module


def new_sync_driver(name: str, wire: Wire, tls: TLS, handler: Any = None) -> SyncDriver:
    """A sync driver of kind ``name`` for ``wire``."""
    module = load(name)
    if name == "inprocess":
        return module.InProcessDriver(handler, wire)  # type: ignore[no-any-return]
    if name == "pycurl":
        return module.CurlDriver(wire, tls())  # type: ignore[no-any-return]
    return module.SyncPoolDriver(name, wire, tls())  # type: ignore[no-any-return]


def new_async_driver(name: str, wire: Wire, tls: TLS, handler: Any = None) -> AsyncDriver:
    """An async driver of kind ``name`` for ``wire``, bound to the running loop."""
    module = load(name)
    if name == "inprocess":
        return module.AsyncInProcessDriver(handler, wire)  # type: ignore[no-any-return]
    if name == "aiohttp":
        return module.AiohttpDriver(wire, tls())  # type: ignore[no-any-return]
    return module.AsyncPoolDriver(name, wire, tls())  # type: ignore[no-any-return]
