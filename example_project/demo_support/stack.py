"""The whole example running: the upstream API, then the bookshop pointed at it.

::

    with running_stack(StackConfig(upstream_port=8001, bookshop_port=8000)) as stack:
        print(stack.bookshop.url)

The bookshop's database is migrated before it starts; on leaving the block (also on an
exception or Ctrl-C) both servers are stopped.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .servers import Server, ServerError, child_env, stop_all, wait_all_ready

__all__ = ["BOOKSHOP_DIR", "EXAMPLE_DIR", "Stack", "StackConfig", "manage", "running_stack"]

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
BOOKSHOP_DIR = EXAMPLE_DIR / "bookshop"
READY_TIMEOUT = 20.0
HEALTH_PATH = "/api/openapi.json"  # both servers serve their django-ninja schema there


@dataclass(frozen=True)
class StackConfig:
    """Ports, databases (None: each project's default file) and the shared API token."""

    upstream_port: int
    bookshop_port: int
    upstream_db: Path | None = None
    bookshop_db: Path | None = None
    token: str | None = None
    log_dir: Path | None = None  # None: server output goes to this terminal
    debug: bool = False


@dataclass(frozen=True)
class Stack:
    """The running servers and the environment the bookshop runs with."""

    upstream: Server
    bookshop: Server
    bookshop_env: dict[str, str]
    ready_seconds: float

    @property
    def api_url(self) -> str:
        """The upstream's API root, as the bookshop's ``BOOKS_API_URL``."""
        return f"{self.upstream.url}/api/"

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py <args>`` of the bookshop against the running upstream."""
        return manage(self.bookshop_env, *args)


def manage(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the bookshop's ``manage.py <args>`` with ``env``, capturing its output."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BOOKSHOP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _upstream(config: StackConfig) -> Server:
    env = child_env(
        DJANGO_SETTINGS_MODULE="upstream.settings",
        UPSTREAM_DB=str(config.upstream_db) if config.upstream_db else None,
        UPSTREAM_TOKEN=config.token,
    )
    return Server(
        "upstream",
        "upstream.asgi:application",
        cwd=EXAMPLE_DIR,
        port=config.upstream_port,
        env=env,
        access_log=config.log_dir is None,
        health_path=HEALTH_PATH,
    )


def _bookshop_env(config: StackConfig) -> dict[str, str]:
    return child_env(
        DJANGO_SETTINGS_MODULE="bookshop.settings",
        BOOKS_API_URL=f"http://127.0.0.1:{config.upstream_port}/api/",
        BOOKS_API_TOKEN=config.token,
        BOOKSHOP_DB=str(config.bookshop_db) if config.bookshop_db else None,
        DJANGO_DEBUG="1" if config.debug else None,
    )


def _log(config: StackConfig, name: str) -> Path | None:
    return config.log_dir / f"{name}.log" if config.log_dir else None


@contextmanager
def running_stack(config: StackConfig) -> Iterator[Stack]:
    """Start the upstream, migrate and start the bookshop, wait for both; stop both after."""
    upstream = _upstream(config)
    env = _bookshop_env(config)
    bookshop = Server(
        "bookshop",
        "bookshop.asgi:application",
        cwd=BOOKSHOP_DIR,
        port=config.bookshop_port,
        env=env,
        access_log=config.log_dir is None,
        lifespan="off",  # Django's ASGI handler does not speak lifespan
        health_path=HEALTH_PATH,
    )
    try:
        upstream.start(_log(config, "upstream"))
        migrate = manage(env, "migrate", "--noinput", "-v", "0")
        if migrate.returncode != 0:
            raise ServerError(f"bookshop migrate failed:\n{migrate.stdout}{migrate.stderr}")
        bookshop.start(_log(config, "bookshop"))
        ready = wait_all_ready([upstream, bookshop], READY_TIMEOUT)
        yield Stack(upstream=upstream, bookshop=bookshop, bookshop_env=env, ready_seconds=ready)
    finally:
        stop_all([bookshop, upstream])
