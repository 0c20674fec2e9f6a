"""In-memory server state: config knobs, request log, fault queue, idempotency store.

Everything here lives in one uvicorn worker process; with ``--workers > 1`` each worker has
its own copy (fine for benchmarks, useless for the control API).
"""

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CONFIG: dict[str, int] = {
    "page_size": 10,  # PageNumberPagination default page size (/api/books/, private)
    "max_page_size": 1000,  # PageNumberPagination cap for ?page_size=
    "default_limit": 10,  # LimitOffsetPagination (/api/lo-books/)
    "cursor_page_size": 10,  # CursorPagination (/api/cursor-books/)
    "per_page": 10,  # Link-header pagination (/api/header-books/)
    "delay_ms": int(os.environ.get("UPSTREAM_DELAY_MS") or 0),  # sleep per non-control request
}

CONFIG: dict[str, int] = dict(DEFAULT_CONFIG)

FAULT_KEYS = frozenset(
    {
        "method",
        "path_prefix",
        "status",
        "headers",
        "body",
        "content_type",
        "times",
        "delay",
        "action",
    }
)


@dataclass
class Fault:
    """One queued fault; ``times=None`` means it never runs out."""

    method: str | None = None
    path_prefix: str = "/"
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    content_type: str | None = None
    times: int | None = 1
    delay: float = 0.0
    action: str = "respond"

    @classmethod
    def from_json(cls, data: Any) -> "Fault":
        """Validate and build a fault from its JSON form (raises ValueError)."""
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        unknown = set(data) - FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        fault = cls(**{k: v for k, v in data.items() if v is not None or k == "times"})
        if fault.action not in ("respond", "close"):
            raise ValueError("action must be 'respond' or 'close'")
        if fault.method is not None:
            fault.method = fault.method.upper()
        if fault.status is not None:
            fault.status = int(fault.status)
            if not 100 <= fault.status <= 599:
                raise ValueError("status must be 100..599")
        if fault.times is not None:
            fault.times = int(fault.times)
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be >= 1 or null (unlimited)")
        fault.delay = float(fault.delay)
        fault.headers = {str(k): str(v) for k, v in (fault.headers or {}).items()}
        return fault

    def to_json(self) -> dict[str, Any]:
        """JSON form, as shown by ``GET /__control__/faults``."""
        return dict(self.__dict__)

    def matches(self, method: str, path: str) -> bool:
        """Does this fault apply to a request?"""
        return (self.method is None or self.method == method) and path.startswith(self.path_prefix)


@dataclass
class State:
    """Mutable per-process state touched by the ASGI wrapper (event loop thread only)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    idempotency: dict[str, "asyncio.Future[tuple[int, list[Any], bytes] | None]"] = field(
        default_factory=dict
    )

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request, if any."""
        for index, fault in enumerate(self.faults):
            if fault.matches(method, path):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self.faults[index]
                return fault
        return None

    def clear(self) -> None:
        """Forget requests, faults, idempotency keys and config changes."""
        self.requests.clear()
        self.faults.clear()
        self.idempotency.clear()
        CONFIG.clear()
        CONFIG.update(DEFAULT_CONFIG)


STATE = State()
