"""One resource per running event loop, closed when that loop shuts down.

``httpx.AsyncClient`` connections belong to the loop that opened them. ASGI servers run one
loop for the process, ``async_to_sync`` starts a new loop per call and pytest-asyncio one per
test, so each loop gets its own client. To close a client with its loop, a tiny async
generator is parked on the loop: ``asyncio.run`` (and so ``async_to_sync``), asyncio.Runner
and uvicorn all call ``loop.shutdown_asyncgens()`` before closing the loop, which runs the
generator's ``finally`` — and there the client is closed, inside its own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["PerLoop"]

T = TypeVar("T")

# The loop holds its async generators weakly; these strong references keep the guards alive
# until their loop shuts them down.
_GUARDS: set[AsyncGenerator[None, None]] = set()


class PerLoop(Generic[T]):
    """Lazily make one ``T`` per running loop with ``factory``; ``closer`` runs at loop end."""

    def __init__(self, factory: Callable[[], T], closer: Callable[[T], Awaitable[None]]) -> None:
        self._factory = factory
        self._closer = closer
        self._items: dict[asyncio.AbstractEventLoop, T] = {}
        self._lock = threading.Lock()

    def get(self) -> T:
        """The resource of the running loop, made on first use."""
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is None:
            with self._lock:
                item = self._items.get(loop)
                if item is None:
                    self._forget_closed_loops()
                    item = self._factory()
                    self._items[loop] = item
                    self._park_guard(loop, item)
        return item

    def pop_current(self) -> T | None:
        """Detach and return the running loop's resource, if any (the caller closes it)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        with self._lock:
            return self._items.pop(loop, None)

    def _forget_closed_loops(self) -> None:
        # A loop closed without shutdown_asyncgens() (a hand-driven loop) never ran its guard.
        for loop in [loop for loop in self._items if loop.is_closed()]:
            del self._items[loop]

    def __len__(self) -> int:
        return len(self._items)

    def _park_guard(self, loop: asyncio.AbstractEventLoop, item: T) -> None:
        async def guard() -> AsyncGenerator[None, None]:
            try:
                yield
            finally:
                _GUARDS.discard(agen)
                with self._lock:
                    current = self._items.get(loop)
                    if current is item:
                        del self._items[loop]
                await self._closer(item)

        agen = guard()
        _GUARDS.add(agen)
        # Start the generator right here: the first step registers it with the running
        # loop's async-generator hooks and stops at the bare `yield` without awaiting.
        step = agen.__anext__()
        with contextlib.suppress(StopIteration):
            step.send(None)
