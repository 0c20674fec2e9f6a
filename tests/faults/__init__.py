"""Fault, load and hostile-input tests: each module asserts a figure of docs/reliability.md.

Helpers shared by the modules:

* :class:`RawServer`, a tiny threaded HTTP/1.1 server whose every byte a test scripts: it can
  refuse connections until told to listen, close a socket mid-body, redirect, or stream a
  body larger than memory should hold (the upstream of ``tests/upstream_fixture.py`` answers
  through Django and cannot).
* ``ASYNC_TRANSPORTS``, the parametrisation of async tests over aiohttp and httpx;
  :func:`aclosing_services`, ``override_settings`` that also closes the loop's async clients;
  :func:`recorded_attempts`, every ``api_request`` signal (one per HTTP attempt).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import signals
from django_api_orm._registry import services

__all__ = [
    "ASYNC_TRANSPORTS",
    "SYNC_TRANSPORTS",
    "RawServer",
    "Seen",
    "aclosing_services",
    "book_json",
    "recorded_attempts",
    "reply",
    "settings_for",
    "stream_reply",
    "syn_blackhole",
]

# Every async driver: aiohttp (the default, ``"auto"``), httpx2's pool and httpx 0.28's.
ASYNC_TRANSPORTS = [pytest.param(name, id=name) for name in ("aiohttp", "httpx2", "httpx")]
# Every sync driver.
SYNC_TRANSPORTS = [pytest.param(name, id=name) for name in ("pycurl", "httpx2", "httpx")]


def settings_for(url: str, **extra: object) -> dict[str, object]:
    """A service dict for a server at ``url`` (``/api/`` appended); ``extra`` overrides.
    The drivers are those the suite runs on (``API_ORM_TEST_*_TRANSPORT``)."""
    from tests.conftest import ASYNC_TRANSPORT, SYNC_TRANSPORT

    return {
        "BASE_URL": f"{url}/api/",
        "RETRY_DELAY": 0,
        "SYNC_TRANSPORT": SYNC_TRANSPORT,
        "ASYNC_TRANSPORT": ASYNC_TRANSPORT,
        **extra,
    }


def book_json(pk: int | str, **fields: object) -> bytes:
    """A detail body that ``tests.models.Book`` accepts."""
    row = {"id": int(pk), "title": f"Book {pk}", "year": 2000, **fields}
    return json.dumps(row).encode()


@contextlib.contextmanager
def syn_blackhole() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` where connecting times out: the port listens with a full
    accept queue (never accepted), so Linux drops every new SYN."""
    server = socket.socket()
    held: list[socket.socket] = []
    try:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        for _ in range(4):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", port))
            held.append(sock)
        time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        for sock in held:
            sock.close()
        server.close()


@contextlib.contextmanager
def recorded_attempts() -> Iterator[list[dict[str, Any]]]:
    """The kwargs of every ``api_request`` signal (one per HTTP attempt) sent meanwhile."""
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        calls.append(kwargs)

    signals.api_request.connect(receiver, weak=False, dispatch_uid="faults.attempts")
    try:
        yield calls
    finally:
        signals.api_request.disconnect(dispatch_uid="faults.attempts")


@contextlib.asynccontextmanager
async def aclosing_services(**configured: dict[str, object]) -> AsyncIterator[None]:
    """``override_settings(API_ORM_SERVICES=configured)`` for async tests: the services'
    async clients of the running loop are closed before the settings are restored."""
    with override_settings(API_ORM_SERVICES=configured):
        try:
            yield
        finally:
            for alias in configured:
                await services[alias].aclose()


@dataclass
class Seen:
    """One request as :class:`RawServer` received it."""

    method: str
    path: str  # the request target, as sent (query included)
    headers: dict[str, str]  # lower-case names
    body: bytes
    connection: int  # which accepted connection carried it (0, 1, ...)


Answer = Callable[[Seen, "_Handler"], None]


def reply(
    handler: _Handler,
    status: int,
    body: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    *,
    content_type: str | None = "application/json",
) -> None:
    """Write one complete response with a Content-Length."""
    lines = [f"HTTP/1.1 {status} X"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    handler.wfile.write(head + body)


def stream_reply(
    handler: _Handler,
    chunks: Iterable[bytes],
    headers: Iterable[tuple[str, str]] = (),
    *,
    length: int | None = None,
) -> int:
    """Stream ``chunks`` as a 200 (chunked unless ``length`` is given); stop quietly when the
    client hangs up. Returns the bytes written before that."""
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers]
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    lines.append(framing)
    handler.close_connection = True
    written = 0
    try:
        handler.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        for chunk in chunks:
            if length is None:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                handler.wfile.write(chunk)
            written += len(chunk)
        if length is None:
            handler.wfile.write(b"0\r\n\r\n")
    except OSError:  # the client stopped reading and closed the socket
        pass
    return written


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection frees its thread after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.owner.lock:
            self.connection_number = self.server.owner.connections
            self.server.owner.connections += 1

    def _handle(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        seen = Seen(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            connection=self.connection_number,
        )
        owner = self.server.owner
        with owner.lock:
            owner.seen.append(seen)
        try:
            owner.answer(seen, self)
        except OSError:
            self.close_connection = True

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if not size:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: RawServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-exchange is what these tests are about


class RawServer:
    """A threaded HTTP/1.1 server on ``127.0.0.1`` answering with ``answer(seen, handler)``.

    The port is bound at once but only listened on by :meth:`start` (optionally ``after`` a
    delay): until then, connecting is refused. ``seen`` logs every request.
    """

    def __init__(self, answer: Answer, *, start: bool = True) -> None:
        self.answer = answer
        self.seen: list[Seen] = []
        self.connections = 0
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        self._server.owner = self
        self._server.server_bind()
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._serving = threading.Event()
        self._cancel = threading.Event()
        self._state = threading.Lock()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self, after: float = 0.0) -> None:
        """Listen and serve from a thread, ``after`` seconds from now."""

        def activate() -> bool:
            with self._state:
                if self._cancel.is_set():
                    return False
                self._server.server_activate()
                self._serving.set()
                return True

        def serve() -> None:
            if after and (self._cancel.wait(after) or not activate()):
                return
            self._server.serve_forever(poll_interval=0.02)

        if not after:
            activate()  # listening before start() returns: a client may connect at once

        self._thread = threading.Thread(target=serve, name=f"RawServer:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (or cancel a delayed start) and close the listening socket."""
        with self._state:
            self._cancel.set()
            serving = self._serving.is_set()
        if serving:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
