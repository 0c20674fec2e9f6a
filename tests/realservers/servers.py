"""Run the third-party node servers of ``tests/node_servers`` (json-server, a Feathers app).

Each server is a real node process on a free 127.0.0.1 port, in its own process group, with
its output in a log file that startup errors quote. ``reset()`` puts back :data:`SEED_BOOKS`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx

NODE_DIR = Path(__file__).resolve().parent.parent / "node_servers"
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
CLIENT_OPTIONS: dict[str, Any] = {"verify": False, "trust_env": False, "timeout": 5.0}

# 25 books, ids 1..25; author "Z" for 15 of them (ids ≡ 1, 3, 4 mod 5: on every page of 10),
# "A" for the other 10. feathers_app.js builds the same rows when run by hand.
Z_IDS = frozenset(i for i in range(1, 26) if i % 5 in (1, 3, 4))
SEED_BOOKS: list[dict[str, Any]] = [
    {
        "id": i,
        "title": f"Book {i:02d}",
        "author": "Z" if i in Z_IDS else "A",
        "year": 1990 + i,
        "price": 10 + i / 2,
    }
    for i in range(1, 26)
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("tests/realservers needs node (20+) on PATH")
    if not (NODE_DIR / "node_modules").is_dir():
        raise RuntimeError(
            f"{NODE_DIR / 'node_modules'} is missing: run `make node-servers` "
            "(npm ci in tests/node_servers)"
        )
    return node


class NodeServer:
    """One node server process: start on a free port, wait until it answers, stop."""

    name = "node server"
    health_path = "/"

    def __init__(self) -> None:
        self.port = 0
        self.tmpdir = ""
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def command(self, node: str) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            # json-server watches its own file outside production, and that watch races with
            # its own writes: a burst of DELETEs could bring a deleted row back.
            "NODE_ENV": "production",
            "NO_COLOR": "1",
            "EXIT_WITH_PARENT": str(os.getpid()),  # see exit_with_parent.cjs
        }

    def prepare(self) -> None:
        """Write the files the server needs into :attr:`tmpdir` before it starts."""

    def start(self) -> None:
        """Launch the server on a free port and wait until it answers."""
        node_binary()
        began = time.perf_counter()
        self.tmpdir = tempfile.mkdtemp(prefix=f"django-api-orm-{self.name}-")
        self.port = free_port()
        # A file, not a pipe: nobody drains a pipe, and a full pipe would block the server.
        self._log = open(Path(self.tmpdir) / "server.log", "w+b")  # noqa: SIM115
        try:
            self._spawn()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began

    def restart(self) -> None:
        """A fresh process on the same port (its data back to the seed)."""
        self._terminate()
        try:
            self._spawn()
        except BaseException:
            self.stop()
            raise

    def _spawn(self) -> None:
        self.prepare()
        self._proc = subprocess.Popen(
            self.command(node_binary()),
            cwd=self.tmpdir,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole in stop()
        )
        self._wait_answering()

    def _wait_answering(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(base_url=self.url, **{**CLIENT_OPTIONS, "timeout": 1.0}) as client:
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self._proc.returncode} before answering:\n"
                        + self.output()
                    )
                try:
                    if client.get(self.health_path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} did not answer GET {self.health_path} within "
                        f"{STARTUP_TIMEOUT}s:\n" + self.output()
                    )
                time.sleep(0.02)

    def output(self) -> str:
        """What the server wrote to stdout and stderr so far."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        return Path(self._log.name).read_bytes().decode("utf-8", "replace")

    def _terminate(self) -> None:
        """SIGTERM the process group, SIGKILL it after 5 s."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Stop the process (group) and remove the temp dir."""
        try:
            self._terminate()
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = ""

    def reset(self) -> None:
        raise NotImplementedError

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A plain httpx request, bypassing the library (for server-side checks)."""
        with httpx.Client(base_url=self.url, **CLIENT_OPTIONS) as client:
            return client.request(method, path, **kwargs)

    def get_json(self, path: str, **params: Any) -> Any:
        """The JSON body of a plain GET that must succeed."""
        response = self.request("GET", path, params=params)
        response.raise_for_status()
        return response.json()


class JsonServer(NodeServer):
    """``json-server`` 1.0.0-beta.15 (its own CLI) serving a ``db.json`` in a temp dir.

    The CLI keeps the data in memory and writes every change back to the file. Outside
    production it also re-reads the file when it changes, and that watch races with its own
    writes (a row deleted in a burst of DELETEs came back), so it runs in production mode and
    :meth:`reset` restarts the process on the same port, with a fresh file, when the data
    differ from the seed (about 0.2 s; tests that only read cost one GET).
    """

    name = "json-server"
    health_path = "/books"

    @property
    def db_path(self) -> Path:
        return Path(self.tmpdir) / "db.json"

    def command(self, node: str) -> list[str]:
        return [
            node,
            "--require",
            str(NODE_DIR / "exit_with_parent.cjs"),
            "--require",
            str(NODE_DIR / "listen_on_host.cjs"),  # make --host bind (see README.md)
            str(NODE_DIR / "node_modules" / "json-server" / "lib" / "bin.js"),
            "--port",
            str(self.port),
            "--host",
            "127.0.0.1",
            str(self.db_path),
        ]

    def prepare(self) -> None:
        self.db_path.write_text(json.dumps({"books": SEED_BOOKS}, indent=2))
        (self.db_path.parent / "public").mkdir(exist_ok=True)  # served statically in production

    def reset(self) -> None:
        # The server turns numeric ids into strings when it reads the file.
        seed = [{**book, "id": str(book["id"])} for book in SEED_BOOKS]
        if self.get_json("/books") != seed:
            self.restart()


class FeathersServer(NodeServer):
    """``tests/node_servers/feathers_app.js``: Feathers 5, koa, REST, a memory ``books``
    service paginated ``{default: 10, max: 50}``; ``POST /reset`` restores the seed."""

    name = "feathers"
    health_path = "/books?$limit=0"

    def command(self, node: str) -> list[str]:
        return [
            node,
            "--require",
            str(NODE_DIR / "exit_with_parent.cjs"),
            str(NODE_DIR / "feathers_app.js"),
            str(self.port),
        ]

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "SEED_BOOKS": json.dumps(SEED_BOOKS)}

    def reset(self) -> None:
        response = self.request("POST", "/reset", json={})
        if response.status_code != 201:
            raise RuntimeError(f"POST /reset: {response.status_code} {response.text}")
