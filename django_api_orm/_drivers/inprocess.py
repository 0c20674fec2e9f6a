"""In-process drivers: a handler function answers instead of the network (the test kit)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .base import Headers, Prepared, Received, Wire

__all__ = ["AsyncInProcessDriver", "InProcessDriver"]

Handler = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]


class InProcessDriver:
    """Sync: ``handler(method, url, headers, body) -> (status, headers, body)``."""

    name = "inprocess"

    def __init__(self, handler: Handler, wire: Wire) -> None:
        self._handler = handler
        self._wire = wire
        self.closed = False

    def send(self, prepared: Prepared, deadline: float) -> Received:
        """Answer with the handler; the body passes the cap (it is not inflated)."""
        status, headers, content = self._handler(
            prepared.method, prepared.url, dict(prepared.headers), prepared.body or b""
        )
        received = Headers.of(headers.items())
        body = self._wire.open_body({"content-length": received.get("content-length", "")})
        body.feed(content)
        return Received(status, received, body.body())

    def connections(self) -> int:
        """None: nothing is connected."""
        return 0

    def close(self) -> None:
        """Nothing to close."""
        self.closed = True


class AsyncInProcessDriver(InProcessDriver):
    """Async twin of :class:`InProcessDriver`."""

    async def send(self, prepared: Prepared, deadline: float) -> Received:  # type: ignore[override]
        """Answer with the handler."""
        return InProcessDriver.send(self, prepared, deadline)

    async def aclose(self) -> None:
        """Nothing to close."""
        self.closed = True
