"""What instrumentation sees: calls and HTTP attempts (the debug-toolbar panel, OpenTelemetry).

Two sources feed the subscribed :class:`Observer` objects:

- :func:`call` wraps each queryset or model method that runs a plan (``Book.objects.get``,
  ``book.asave``...): the *call*. Its :class:`Call` is the current one (a context variable)
  while it runs, in its thread or task and in the tasks it gathers. :func:`pages` does the
  same for a stream of pages (``iterator()``, ``aiterator()``, ``async for``), whose call is
  current only while a page is being fetched, never while the caller handles the rows;
- the :data:`~django_api_orm.signals.api_request` signal, sent once per HTTP attempt by both
  drivers, becomes an :class:`Attempt` of the current call (retries of one request are
  numbered: the call remembers, per method and URL, whether the last attempt was retryable).

With no observer, :func:`call` returns a shared no-op context manager and no signal receiver
is connected: instrumentation costs one truth test per call. Observers must not raise; an
error of theirs is logged and never reaches the caller.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, Generator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from . import signals
from ._core.retry import RETRY_STATUSES
from ._core.urls import redact_url

if TYPE_CHECKING:
    from ._transport import Service

__all__ = [
    "Attempt",
    "Call",
    "Observer",
    "apages",
    "call",
    "current_call",
    "pages",
    "subscribe",
    "unsubscribe",
]

logger = logging.getLogger("django_api_orm")
T = TypeVar("T")

_RECEIVER_UID = "django_api_orm._observe"


@dataclass(eq=False)
class Call:
    """One call of a queryset or model method, e.g. ``Book.objects.get`` (``name``)."""

    model: str
    method: str
    service: str
    is_async: bool
    # A stream of pages: current only while a page is fetched (see pages()).
    streaming: bool = False
    started_ns: int = field(default_factory=time.time_ns)
    # Observer -> its own state (an OpenTelemetry span...).
    state: dict[Any, Any] = field(default_factory=dict)
    # (service, method, url) -> (attempt number, retryable) of the last attempt seen.
    _last: dict[tuple[str, str, str], tuple[int, bool]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.model}.{self.method}"

    def number(self, service: str, method: str, url: str, retryable: bool) -> int:
        """The attempt's number (1 for a first try): a retry follows a retryable attempt
        of the same method and URL within the call."""
        key = (service, method, url)
        last = self._last.get(key)
        number = last[0] + 1 if last is not None and last[1] else 1
        self._last[key] = (number, retryable)
        return number


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt, as the ``api_request`` signal reported it; ``url`` is redacted."""

    call: Call | None
    service: str
    method: str
    url: str
    status_code: int | None
    duration: float
    error: BaseException | None
    number: int
    ended_ns: int

    @property
    def started_ns(self) -> int:
        return self.ended_ns - int(self.duration * 1e9)

    @property
    def retryable(self) -> bool:
        """Whether the policy may send it again: what makes the next one a retry."""
        return _retryable(self.status_code, self.error)


def _retryable(status_code: int | None, error: BaseException | None) -> bool:
    if status_code is not None:
        return status_code in RETRY_STATUSES
    return bool(getattr(error, "retryable", False))


class Observer:
    """Base class: override what you need. Called in the thread or task of the call; the
    async driver's ``api_request`` receivers run in a worker thread (a sync receiver under
    ``Signal.asend``), with the call's context."""

    def call_started(self, call: Call) -> None:
        """``call`` is about to run (and is already :func:`current_call`, unless it is a
        stream: ``call.streaming``, whose context must not be changed for its caller)."""

    def call_ended(self, call: Call, error: BaseException | None) -> None:
        """``call`` returned (``error`` None) or raised ``error``."""

    def attempt(self, attempt: Attempt) -> None:
        """One HTTP attempt ended (a response, or none and an error)."""


current_call: ContextVar[Call | None] = ContextVar("django_api_orm_call", default=None)

_observers: tuple[Observer, ...] = ()
_counts: Counter[Observer] = Counter()
_lock = threading.Lock()
_NOOP: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


def subscribe(observer: Observer) -> None:
    """Start feeding ``observer``; counted, so each subscribe needs one unsubscribe."""
    global _observers
    with _lock:
        _counts[observer] += 1
        _observers = tuple(_counts)
        signals.api_request.connect(_on_api_request, weak=False, dispatch_uid=_RECEIVER_UID)


def unsubscribe(observer: Observer) -> None:
    """Undo one :func:`subscribe`; the last one stops feeding ``observer``."""
    global _observers
    with _lock:
        if _counts[observer] <= 1:
            _counts.pop(observer, None)
        else:
            _counts[observer] -= 1
        _observers = tuple(_counts)
        if not _observers:
            signals.api_request.disconnect(dispatch_uid=_RECEIVER_UID)


def call(
    model: type, twin: str | None, service: Service, *, instance: bool = False
) -> contextlib.AbstractContextManager[Any]:
    """The scope of one call: ``with call(Book, "aget", service): service.run(plan)``.

    ``twin`` is the async twin's name that sync methods already pass for their error
    messages (``"aget"`` → ``get``); async methods pass None and are named after their
    caller (``aget``), looked up only when someone observes.
    """
    if not _observers:
        return _NOOP
    if twin is not None:
        method = twin[1:]
    else:  # _arun's caller: aget, asave, _afetch_all (the rows of aall/__await__)
        method = sys._getframe(2).f_code.co_name
        method = "aall" if method == "_afetch_all" else method
    if not instance:
        method = f"objects.{method}"
    return _scope(Call(model.__name__, method, service.alias, is_async=twin is None))


def pages(model: type, method: str, service: Service, stream: Iterator[T]) -> Iterator[T]:
    """``stream`` (``service.pages(...)``) as one call named ``method`` (``"iterator"``)."""
    if not _observers:
        return stream
    return _observed_pages(
        Call(model.__name__, f"objects.{method}", service.alias, False, True), stream
    )


def apages(
    model: type, method: str, service: Service, stream: AsyncGenerator[T, None]
) -> AsyncGenerator[T, None]:
    """Async twin of :func:`pages` (``service.apages(...)``, read-ahead tasks included)."""
    if not _observers:
        return stream
    return _observed_apages(
        Call(model.__name__, f"objects.{method}", service.alias, True, True), stream
    )


def _observed_pages(observed: Call, stream: Iterator[T]) -> Iterator[T]:
    observers = _observers
    for observer in observers:
        _quietly(observer.call_started, observed)
    error: BaseException | None = None
    try:
        while True:
            token = current_call.set(observed)
            try:
                page = next(stream)
            except StopIteration:
                return
            finally:
                current_call.reset(token)
            yield page
    except GeneratorExit:  # the caller stopped early: not a failure
        raise
    except BaseException as raised:
        error = raised
        raise
    finally:
        try:
            if isinstance(stream, Generator):
                stream.close()  # now, not when collected: the caller closed us
        finally:
            for observer in reversed(observers):
                _quietly(observer.call_ended, observed, error)


async def _observed_apages(
    observed: Call, stream: AsyncGenerator[T, None]
) -> AsyncGenerator[T, None]:
    observers = _observers
    for observer in observers:
        _quietly(observer.call_started, observed)
    error: BaseException | None = None
    try:
        while True:
            # Set only around the fetch: the read-ahead tasks it starts inherit the call.
            token = current_call.set(observed)
            try:
                page = await anext(stream)
            except StopAsyncIteration:
                return
            finally:
                current_call.reset(token)
            yield page
    except GeneratorExit:
        raise
    except BaseException as raised:
        error = raised
        raise
    finally:
        try:
            await stream.aclose()  # as aclosing() on the stream itself would
        finally:
            for observer in reversed(observers):
                _quietly(observer.call_ended, observed, error)


@contextlib.contextmanager
def _scope(observed: Call) -> Iterator[Call]:
    token = current_call.set(observed)
    observers = _observers
    try:
        for observer in observers:
            _quietly(observer.call_started, observed)
        error: BaseException | None = None
        try:
            yield observed
        except BaseException as raised:
            error = raised
            raise
        finally:
            for observer in reversed(observers):
                _quietly(observer.call_ended, observed, error)
    finally:
        current_call.reset(token)


def _on_api_request(
    sender: Any,
    *,
    service: str,
    method: str,
    url: str,
    status_code: int | None,
    duration: float,
    error: BaseException | None = None,
    **kwargs: Any,
) -> None:
    observers = _observers
    if not observers:
        return
    ended_ns = time.time_ns()
    observed = current_call.get()
    url = redact_url(url)
    number = 1
    if observed is not None:
        number = observed.number(service, method, url, _retryable(status_code, error))
    attempt = Attempt(
        observed, service, method, url, status_code, duration, error, number, ended_ns
    )
    for observer in observers:
        _quietly(observer.attempt, attempt)


def _quietly(method: Any, *args: Any) -> None:
    try:
        method(*args)
    except Exception:  # an observer's bug must not break the request
        name = getattr(method, "__qualname__", repr(method))
        logger.exception("django_api_orm: instrumentation %s failed", name)
