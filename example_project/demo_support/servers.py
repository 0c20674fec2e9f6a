"""One uvicorn server in a subprocess: start it, wait until it answers, stop it.

Stopping is terminate, then kill after :data:`STOP_TIMEOUT` seconds. Output goes to a log
file (the demo) or, line by line with a ``[name]`` prefix, to this terminal (``serve.py``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NoReturn

import httpx

__all__ = [
    "STOP_TIMEOUT",
    "Server",
    "ServerError",
    "child_env",
    "free_port",
    "install_signal_handlers",
    "port_in_use",
    "stop_all",
    "wait_all_ready",
]

STOP_TIMEOUT = 5.0


class ServerError(RuntimeError):
    """A server could not be started, or died."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """Whether something already listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _raise_system_exit(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, and SIGINT into KeyboardInterrupt (even when
    started with SIGINT ignored), so that ``finally`` blocks stop the children."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_system_exit)
    signal.signal(signal.SIGHUP, _raise_system_exit)


class Server:
    """``uvicorn <app>`` on 127.0.0.1:``port``, run from ``cwd`` with ``env``."""

    def __init__(
        self,
        name: str,
        app: str,
        *,
        cwd: Path,
        port: int,
        env: dict[str, str],
        access_log: bool = False,
        lifespan: str = "on",
        health_path: str = "/",
    ) -> None:
        self.name = name
        self.app = app
        self.cwd = cwd
        self.port = port
        self.env = env
        self.access_log = access_log
        self.lifespan = lifespan
        self.health_path = health_path
        self.log_path: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The uvicorn command line."""
        cmd = [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--lifespan", self.lifespan]
        cmd += ["--timeout-graceful-shutdown", "2"]
        if self.access_log:
            return [*cmd, "--log-level", "info"]
        return [*cmd, "--log-level", "warning", "--no-access-log"]

    def start(self, log_path: Path | None = None) -> None:
        """Launch the process; its output goes to ``log_path``, or else to this terminal."""
        if log_path is not None:
            self.log_path = log_path
            self._log = log_path.open("wb")
        self._proc = subprocess.Popen(
            self.command(),
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if self._log is None:
            threading.Thread(target=self._echo, daemon=True, name=f"{self.name}-output").start()

    def _echo(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            print(f"[{self.name}] {raw.decode('utf-8', 'replace').rstrip()}", flush=True)

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def answers(self, client: httpx.Client) -> bool:
        """Whether the server responds to HTTP (any status) yet; ServerError if it has died."""
        if self._proc is None:
            raise ServerError(f"{self.name} was never started")
        if self._proc.poll() is not None:
            raise ServerError(
                f"{self.name} exited with code {self._proc.returncode}\n{self.output()}"
            )
        try:
            client.get(f"{self.url}{self.health_path}")
        except httpx.TransportError:
            return False
        return True

    def output(self, last: int = 40) -> str:
        """The last ``last`` lines the server wrote (when it writes to a log file)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text("utf-8", "replace").splitlines()
        return "\n".join(lines[-last:])

    def terminate(self) -> None:
        """Ask the process to stop (SIGTERM)."""
        if self.running:
            assert self._proc is not None
            self._proc.terminate()

    def wait_stopped(self, timeout: float = STOP_TIMEOUT) -> None:
        """Wait for the process to end; kill it after ``timeout`` seconds."""
        proc = self._proc
        if proc is not None:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


def wait_all_ready(servers: Sequence[Server], timeout: float = 20.0) -> float:
    """Poll every server until all answer HTTP; returns the seconds waited."""
    began = time.monotonic()
    waiting = list(servers)
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while waiting:
            waiting = [server for server in waiting if not server.answers(client)]
            if not waiting:
                break
            if time.monotonic() - began > timeout:
                names = ", ".join(server.name for server in waiting)
                details = "\n".join(server.output() for server in waiting)
                raise ServerError(f"not answering after {timeout:.0f} s: {names}\n{details}")
            time.sleep(0.05)
    return time.monotonic() - began


def stop_all(servers: Sequence[Server]) -> None:
    """Terminate every server, then wait for each (killing any still up after 5 s)."""
    for server in servers:
        server.terminate()
    for server in servers:
        server.wait_stopped()


def child_env(**values: str | None) -> dict[str, str]:
    """This process's environment for a child, with ``values`` set (None removes a name)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONUNBUFFERED"] = "1"
    for name, value in values.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
