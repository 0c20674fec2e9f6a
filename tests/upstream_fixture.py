"""Run the upstream test API (``tests/upstream``) in a uvicorn subprocess and control it.

pytest::

    from tests.upstream_fixture import upstream_server, upstream  # noqa: F401

    def test_x(upstream: Upstream) -> None:  # seed data restored, log and faults cleared
        upstream.fault(path_prefix="/api/books/", status=503, headers={"Retry-After": "1"})

Scripts::

    with Upstream(delay_ms=2) as up:
        print(up.url)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTROL = "/__control__"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
# Plain http to 127.0.0.1 only: ``verify=False`` skips loading certifi, which costs ~25 ms
# per httpx.Client; ``trust_env=False`` keeps proxy variables out of the way.
CLIENT_OPTIONS: dict[str, Any] = {"verify": False, "trust_env": False}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Upstream:
    """Handle on one upstream server process (start/stop plus the ``/__control__/`` API)."""

    def __init__(
        self, *, delay_ms: int = 0, workers: int = 1, startup_timeout: float = STARTUP_TIMEOUT
    ) -> None:
        self.delay_ms = delay_ms
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        self._url: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: str | None = None
        self._log: IO[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("upstream server is not running; call start() first")
        return self._url

    @property
    def running(self) -> bool:
        """True while the subprocess is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, delay_ms: int | None = None, workers: int | None = None) -> None:
        """Launch uvicorn on a free port and wait (at most ``startup_timeout``) for health.

        ``delay_ms`` (env ``UPSTREAM_DELAY_MS``) sleeps before every non-control request;
        ``workers > 1`` gives each worker its own log/faults/idempotency store, so only use it
        for load benchmarks.
        """
        if self._proc is not None:
            raise RuntimeError("upstream server already started")
        if delay_ms is not None:
            self.delay_ms = delay_ms
        if workers is not None:
            self.workers = workers
        began = time.perf_counter()
        port = _free_port()
        self._tmpdir = tempfile.mkdtemp(prefix="django-api-orm-upstream-")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.upstream.settings",
            "UPSTREAM_DB": str(Path(self._tmpdir) / "upstream.sqlite3"),
            "UPSTREAM_DELAY_MS": str(self.delay_ms),
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.upstream.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "1",
        ]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        # A file, not a pipe: nobody drains a pipe, and a full pipe would block the server.
        self._log = open(Path(self._tmpdir) / "server.log", "w+b")  # noqa: SIM115
        self._proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._url = f"http://127.0.0.1:{port}"
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began

    def _wait_healthy(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(base_url=self.url, timeout=1.0, **CLIENT_OPTIONS) as client:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"upstream server exited with {self._proc.returncode}:\n"
                        + self.server_output()
                    )
                try:
                    if client.get(f"{CONTROL}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"upstream server not healthy after {self.startup_timeout}s:\n"
                        + self.server_output()
                    )
                time.sleep(0.05)

    def server_output(self) -> str:
        """Everything the server wrote to stdout/stderr so far."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        return (Path(self._log.name)).read_bytes().decode("utf-8", "replace")

    def stop(self) -> None:
        """Terminate (then kill after 5 s) the server and remove its temp dir."""
        proc, self._proc, self._url = self._proc, None, None
        try:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def __enter__(self) -> Upstream:
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

    # -- control API -------------------------------------------------------------------

    def _control(self, method: str, name: str, payload: Any = None) -> Any:
        with httpx.Client(base_url=self.url, timeout=10.0, **CLIENT_OPTIONS) as client:
            response = client.request(method, f"{CONTROL}/{name}", json=payload)
        if response.status_code != 200:
            raise RuntimeError(f"{method} {CONTROL}/{name}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        """Restore the 25 seed books (next id 26); clear log, faults, idempotency, config."""
        self._control("POST", "reset")

    def requests(self, path_prefix: str | None = None) -> list[dict[str, Any]]:
        """Logged non-control requests since the last reset/clear, oldest first.

        Each entry: ``method``, ``path`` (decoded), ``raw_path`` (as sent), ``query`` (raw),
        ``headers`` (lower-case names), ``body`` (str). ``path_prefix`` filters on ``path``.
        """
        entries: list[dict[str, Any]] = self._control("GET", "requests")
        if path_prefix is not None:
            entries = [e for e in entries if e["path"].startswith(path_prefix)]
        return entries

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._control("DELETE", "requests")

    def fault(self, **fault: Any) -> None:
        """Queue one fault.

        Keys: ``method`` (None = any), ``path_prefix`` ("/"), ``status`` (None = serve the
        real view after ``delay``), ``headers``, ``body`` (dict/list as JSON, str as text),
        ``content_type``, ``times`` (1; None = forever), ``delay`` (seconds),
        ``action`` ("respond" or "close" = drop the connection without a response).
        """
        self._control("POST", "faults", [fault])

    def pending_faults(self) -> list[dict[str, Any]]:
        """Faults still queued (with their remaining ``times``)."""
        faults: list[dict[str, Any]] = self._control("GET", "faults")
        return faults

    def clear_faults(self) -> None:
        """Drop all queued faults."""
        self._control("DELETE", "faults")

    def config(self, **knobs: int) -> dict[str, int]:
        """Set knobs until the next reset; returns the full config.

        Knobs: ``page_size`` (/api/books/, 10), ``max_page_size`` (1000), ``default_limit``
        (/api/lo-books/, 10), ``cursor_page_size`` (10), ``per_page`` (/api/header-books/, 10),
        ``delay_ms`` (per-request sleep).
        """
        config: dict[str, int] = self._control("POST", "config", knobs)
        return config


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[Upstream]:
    """One upstream server process for the whole test session."""
    server = Upstream()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def upstream(upstream_server: Upstream) -> Upstream:
    """The session's upstream server, reset to seed data before the test."""
    upstream_server.reset()
    return upstream_server
