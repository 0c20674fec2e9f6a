"""Running sub-plans ahead, a bounded number at a time, in both colours.

A :class:`Window` starts sub-plans (``Start``) only as slots free, so a thousand planned
requests never become a thousand tasks at once, and hands their results back in order
(``Await``). The async driver runs started sub-plans concurrently; the sync driver runs each
when it is awaited (sending the next one's first GET ahead when the plan names it): both
send the same requests, in the same order of results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from .messages import Await, Cancel, Plan, Start

__all__ = ["DONE", "Window", "gather"]

T = TypeVar("T")


class _Done:
    def __repr__(self) -> str:
        return "<done>"


DONE: Any = _Done()


class Window(Generic[T]):
    """At most ``limit`` sub-plans of ``plans`` in flight; :meth:`take` returns the next
    result in order, or :data:`DONE` when every sub-plan has been taken. A sub-plan may come
    as a :class:`Start` already, to name the request it sends first (``ahead``)."""

    def __init__(self, plans: Iterable[Plan[T] | Start], limit: int) -> None:
        self._plans: Iterator[Plan[T] | Start] = iter(plans)
        self._limit = max(1, limit)
        self._handles: deque[Any] = deque()

    def fill(self) -> Plan[None]:
        """Start sub-plans until ``limit`` are in flight (or none is left)."""
        while len(self._handles) < self._limit:
            sub = next(self._plans, None)
            if sub is None:
                return
            self._handles.append((yield sub if isinstance(sub, Start) else Start(sub)))

    def take(self) -> Plan[T]:
        """The next sub-plan's result (its error is raised here); the window is topped up
        again before returning, so the caller's work overlaps the requests in flight."""
        yield from self.fill()
        if not self._handles:
            return DONE  # type: ignore[no-any-return]
        result: T = yield Await(self._handles.popleft())
        yield from self.fill()
        return result

    def cancel(self) -> Plan[None]:
        """Abandon the sub-plans still in flight, and those not started."""
        while self._handles:
            yield Cancel(self._handles.popleft())
        self._plans = iter(())


def gather(plans: Iterable[Plan[T]], limit: int) -> Plan[list[T]]:
    """Every sub-plan's result, in order, with at most ``limit`` in flight."""
    window = Window(plans, limit)
    results: list[T] = []
    # On an error the others are cancelled by the driver when the failing plan ends.
    while (result := (yield from window.take())) is not DONE:
        results.append(result)
    return results
