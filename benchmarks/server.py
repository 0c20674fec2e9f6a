"""A minimal, fast upstream for the benchmarks: a pure ASGI app served by uvicorn.

It answers DRF-shaped JSON from memory (rows are generated from their id, never stored):

* ``GET /api/books/{id}/`` → ``{"id", "title", "year", "in_stock", "author", "isbn"}``
* ``GET /api/books/?page=N&page_size=P`` → ``{"count", "next", "previous", "results"}`` with
  absolute ``next``/``previous`` URLs; a page past the end answers 404, as DRF does.
* ``GET /api/books/?id=N`` → that one row in the same envelope (the seed package's
  ``get(id=N)``).
* ``GET /health`` → ``{"ok": true, ...}`` without delay (readiness probe).

Every other request first sleeps ``--delay-ms`` milliseconds (``asyncio.sleep``), so a slow
API can be simulated without using CPU. The server runs in its own process (its own GIL)::

    with BenchServer(delay_ms=100, rows=10_000) as server:
        print(server.url)  # http://127.0.0.1:54321

or by hand: ``python -m benchmarks.server --port 8001 --delay-ms 20 --rows 100000``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import parse_qsl

import httpx

__all__ = ["BenchServer", "BooksApp", "book"]

REPO_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def book(pk: int) -> dict[str, Any]:
    """The row with primary key ``pk``, derived from ``pk`` alone."""
    return {
        "id": pk,
        "title": f"Benchmark Book {pk}",
        "year": 1900 + pk % 125,
        "in_stock": pk % 3 != 0,
        "author": f"Author {pk % 997}",
        "isbn": f"978-{pk:010d}",
    }


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


@functools.lru_cache(maxsize=4096)
def _detail_body(pk: int) -> bytes:
    return _dumps(book(pk))


@functools.lru_cache(maxsize=4096)
def _one_row_page(pk: int) -> bytes:
    return _dumps({"count": 1, "next": None, "previous": None, "results": [book(pk)]})


@functools.lru_cache(maxsize=512)
def _page_body(rows: int, page: int, size: int, base: str) -> bytes:
    """One page; ``base`` is ``http://host:port/api/books/`` for the absolute links."""
    start = (page - 1) * size
    stop = min(start + size, rows)
    last_page = max(1, -(-rows // size))
    next_url = f"{base}?page={page + 1}&page_size={size}" if page < last_page else None
    previous = f"{base}?page={page - 1}&page_size={size}" if page > 1 else None
    results = [book(pk) for pk in range(start + 1, stop + 1)]
    return _dumps({"count": rows, "next": next_url, "previous": previous, "results": results})


class BooksApp:
    """The ASGI application: ``rows`` books, ``delay_ms`` of sleep before each answer."""

    def __init__(self, *, rows: int, delay_ms: float, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.rows = rows
        self.delay = delay_ms / 1000
        self.page_size = page_size
        self.info = {"ok": True, "rows": rows, "delay_ms": delay_ms}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/health":
            await _respond(send, 200, _dumps(self.info))
            return
        if self.delay:
            await asyncio.sleep(self.delay)
        status, body = self._route(scope, path)
        await _respond(send, status, body)

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _route(self, scope: Scope, path: str) -> tuple[int, bytes]:
        if scope["method"] != "GET":
            return 405, b'{"detail":"Method not allowed."}'
        if path == "/api/books/":
            return self._list(scope)
        if path.startswith("/api/books/") and path.endswith("/"):
            return self._detail(path[len("/api/books/") : -1])
        return 404, b'{"detail":"Not found."}'

    def _detail(self, segment: str) -> tuple[int, bytes]:
        if not segment.isdigit() or not 1 <= int(segment) <= self.rows:
            return 404, b'{"detail":"No Book matches the given query."}'
        return 200, _detail_body(int(segment))

    def _list(self, scope: Scope) -> tuple[int, bytes]:
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        if "id" in params:  # ?id=N: that one row in an envelope (the seed's get(id=N))
            pk = params["id"]
            if not pk.isdigit() or not 1 <= int(pk) <= self.rows:
                return 200, b'{"count":0,"next":null,"previous":null,"results":[]}'
            return 200, _one_row_page(int(pk))
        try:
            page = int(params.get("page", "1"))
            size = min(int(params.get("page_size", self.page_size)), MAX_PAGE_SIZE)
        except ValueError:
            return 404, b'{"detail":"Invalid page."}'
        if page < 1 or size < 1 or (page - 1) * size >= max(self.rows, 1):
            return 404, b'{"detail":"Invalid page."}'
        return 200, _page_body(self.rows, page, size, _base_url(scope))


def _base_url(scope: Scope) -> str:
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    if host is None:
        server_host, port = scope["server"]
        return f"http://{server_host}:{port}/api/books/"
    return f"{scope['scheme']}://{host.decode('latin-1')}/api/books/"


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- process control ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_stack() -> str:
    """Which uvicorn HTTP parser and event loop the server process will use."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn {_version('uvicorn')} ({http}, {loop})"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


class BenchServer:
    """One server process: ``start()``/``stop()``, or use it as a context manager."""

    def __init__(
        self,
        *,
        delay_ms: float = 0,
        rows: int = 10_000,
        page_size: int = DEFAULT_PAGE_SIZE,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.delay_ms = delay_ms
        self.rows = rows
        self.page_size = page_size
        self.startup_timeout = min(startup_timeout, STARTUP_TIMEOUT)
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        if self.port is None:
            raise RuntimeError("the benchmark server is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The ``BASE_URL`` to configure: ``http://127.0.0.1:PORT/api/``."""
        return f"{self.url}/api/"

    def launch(self) -> None:
        """Start the process without waiting for it (see :meth:`wait_ready`)."""
        if self._proc is not None:
            raise RuntimeError("the benchmark server is already started")
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.server",
            f"--port={self.port}",
            f"--delay-ms={self.delay_ms}",
            f"--rows={self.rows}",
            f"--page-size={self.page_size}",
        ]
        # A file, not a pipe: nobody drains a pipe, and a full pipe would block the server.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        """Poll ``/health`` until it answers, for at most ``startup_timeout`` seconds."""
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(base_url=self.url, timeout=1.0, trust_env=False) as client:
            while True:
                self._check_alive()
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"benchmark server not ready after {self.startup_timeout}s")
                time.sleep(0.05)

    def _check_alive(self) -> None:
        if self._proc is None or self._proc.poll() is None:
            return
        output = self.output()
        code = self._proc.returncode
        self.stop()
        raise RuntimeError(f"benchmark server exited with {code}:\n{output}")

    def start(self) -> None:
        """Start the process and wait until it serves."""
        self.launch()
        self.wait_ready()

    def output(self) -> str:
        """What the server printed so far."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        """Terminate the process (kill it after 5 s) and release its log file."""
        proc, self._proc, self.port = self._proc, None, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> BenchServer:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until terminated."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)
    args = parser.parse_args(argv)
    app = BooksApp(rows=args.rows, delay_ms=args.delay_ms, page_size=args.page_size)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
