"""Refuse blocking calls inside a running event loop, as Django's ORM does."""

from __future__ import annotations

import asyncio
import os

from django.core.exceptions import SynchronousOnlyOperation

__all__ = ["ensure_sync_allowed", "sync_blocked"]


def sync_blocked() -> bool:
    """Whether an event loop runs in this thread, so blocking I/O is refused.

    ``DJANGO_ALLOW_ASYNC_UNSAFE`` lifts the check, as it does for Django's ORM (notebooks).
    """
    # _get_running_loop(): get_running_loop() without raising (and catching) an exception
    # on every sync call.
    if asyncio._get_running_loop() is None:
        return False
    return not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")


def ensure_sync_allowed(what: str, twin: str) -> None:
    """Raise SynchronousOnlyOperation naming ``twin`` if an event loop runs in this thread."""
    if not sync_blocked():
        return
    raise SynchronousOnlyOperation(
        f"{what}() blocks on network I/O and was called from a running event loop. "
        f"Use `await ...{twin}()` in async code, or wrap the sync call in "
        "asgiref.sync.sync_to_async."
    )
