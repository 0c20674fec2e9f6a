"""What a plan exchanges with a driver: requests, responses and the effects it yields."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from .. import exceptions

__all__ = [
    "Await",
    "Cancel",
    "Emit",
    "Plan",
    "Request",
    "Response",
    "Rows",
    "Send",
    "Sleep",
    "Start",
]

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, relative to the service's base URL unless ``url`` is absolute."""

    method: str
    url: str
    params: Sequence[tuple[str, str]] = ()
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, value in self.headers.items():
            if any(ch in name or ch in value for ch in "\r\n\x00"):
                raise exceptions.UnsafeRequestError(
                    f"Refusing to send header {name!r}: CR, LF or NUL in a header would let "
                    "input inject headers."
                )

    @property
    def idempotent(self) -> bool:
        """Safe to send twice: an idempotent method, or a POST carrying an Idempotency-Key."""
        if self.method in IDEMPOTENT_METHODS:
            return True
        return any(name.lower() == "idempotency-key" for name in self.headers)


@dataclass(frozen=True, slots=True)
class Response:
    """A response as the core sees it: status, lower-case headers and the raw body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    method: str
    url: str
    http_version: str = "HTTP/1.1"
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class Send:
    """Effect: send ``request`` once; the driver answers a Response or a RequestError.

    ``timeout`` is what is left of the call's deadline, in seconds (None: the driver uses
    the service's whole ``TIMEOUT``): connecting, sending, redirects and reading the body of
    this attempt all end within it.
    """

    request: Request
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Effect: wait ``seconds`` (``time.sleep`` or ``asyncio.sleep``); the driver answers None."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Start:
    """Effect: begin running a sub-plan; the driver answers a handle for :class:`Await`.

    The async driver starts a task at once (so sub-plans run concurrently); the sync driver
    runs the sub-plan when it is awaited. A sub-plan still unawaited when the plan that
    started it ends is cancelled. Plans bound how many they start (see ``flow.Window``).

    ``ahead`` is the GET the sub-plan sends first, when the plan knows it (the next page):
    the sync driver may put it on the wire before the sub-plan runs, so the server works
    while the caller does (see ``Service.run``). Its answer is read when the sub-plan sends
    that very request, and the call's deadline and retries count from there.
    """

    plan: Plan[Any]
    ahead: Request | None = None


@dataclass(frozen=True, slots=True)
class Await:
    """Effect: the result of a started sub-plan; its exception is raised inside the plan."""

    handle: Any


@dataclass(frozen=True, slots=True)
class Cancel:
    """Effect: abandon a started sub-plan whose result is no longer wanted."""

    handle: Any


@dataclass(frozen=True, slots=True)
class Rows:
    """Effect: hand a batch of rows to the caller streaming the plan (``iterator()``,
    ``async for``); a plan run for its result never yields it. The driver answers None."""

    items: list[Any]


@dataclass(frozen=True, slots=True)
class Emit:
    """Effect: send a signal of :mod:`django_api_orm.signals` by name (``"pre_save"``); the
    sync driver calls ``signal.send``, the async driver ``await signal.asend`` (async
    receivers run natively). The driver answers None."""

    signal: str
    sender: Any
    kwargs: Mapping[str, Any] = field(default_factory=dict)


Effect: TypeAlias = Send | Sleep | Emit | Start | Await | Cancel | Rows
# A response, or why none is usable: a transport failure (maybe retried) or a body refused
# by the driver (too large, undecodable: never retried).
SendResult: TypeAlias = Response | exceptions.RequestError | exceptions.ResponseError
Plan: TypeAlias = Generator[Effect, Any, T]
