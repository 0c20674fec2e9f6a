"""Services: the drivers that run plans, and the connection pools under them.

A :class:`Service` owns one sync driver (thread-safe, shared by every thread) and one async
driver per running event loop, chosen by ``SYNC_TRANSPORT`` / ``ASYNC_TRANSPORT`` (see
:mod:`django_api_orm._drivers`). :meth:`Service.run` and :meth:`Service.arun` carry out the
effects a plan yields — the only difference between a sync method and its ``a``-twin.

Everything around one send is done here, once for every driver: the URL and headers, the
call's deadline, redirects (configured headers never go to another origin), cookies (none
kept unless ``COOKIES``), the body cap, secrets masked in errors and logs, and the mapping
of every transport failure to a typed error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import threading
import time
import zlib
from collections import deque
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping
from typing import Any, TypeVar, cast
from urllib.parse import urljoin

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import exceptions, signals
from ._core.breaker import CircuitBreaker
from ._core.dialect import BUILTIN_DIALECTS, Dialect
from ._core.messages import (
    Await,
    Cancel,
    Effect,
    Emit,
    Plan,
    Request,
    Response,
    Rows,
    Send,
    SendResult,
    Sleep,
    Start,
)
from ._core.plans import ServiceContext
from ._core.retry import RetryPolicy
from ._core.urls import redact_url
from ._drivers import AsyncDriver, SendsAhead, SyncDriver, new_async_driver, new_sync_driver
from ._drivers import logs as library_logs
from ._drivers.base import (
    BodyTooLarge,
    Masked,
    Phases,
    Prepared,
    Received,
    TransportFailure,
    Wire,
    absolute_url,
    encode_json,
    origin_of,
    split_userinfo,
    tls_context,
    wire_headers,
)
from ._loops import PerLoop
from ._settings import SETTING_NAME, ServiceSettings

__all__ = ["Service"]

T = TypeVar("T")
logger = logging.getLogger("django_api_orm")

MAX_REDIRECTS = 20
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BODY_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding"})


def build_wire(settings: ServiceSettings) -> Wire:
    """The drivers' view of a service's settings."""
    base_url, userinfo = split_userinfo(settings.BASE_URL)

    def auth() -> str | None:
        # AUTH_TOKEN, else credentials in BASE_URL as Basic auth (as httpx sends them).
        return settings.auth_header() or userinfo

    headers, secrets, private = wire_headers(settings.HEADERS, auth)
    library_logs.install()
    library_logs.remember(secrets)
    return Wire(
        base_url=base_url,
        headers=headers,
        secrets=secrets,
        private_names=private,
        phases=Phases(*settings.phases()),
        max_body=settings.MAX_RESPONSE_BYTES,
        follow_redirects=settings.FOLLOW_REDIRECTS,
        max_redirects=MAX_REDIRECTS,
        http2=settings.HTTP2,
        verify=settings.VERIFY_SSL,
        max_connections=settings.MAX_CONNECTIONS,
        max_keepalive=settings.MAX_KEEPALIVE_CONNECTIONS,
        cookies=settings.COOKIES,
    )


def dialect_class(settings: ServiceSettings, alias: str) -> type[Dialect]:
    """The dialect class named by ``DIALECT``: a built-in name or a dotted path."""
    name = settings.DIALECT
    if name in BUILTIN_DIALECTS:
        return BUILTIN_DIALECTS[name]
    try:
        cls = import_string(name)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{alias!r}]['DIALECT']: cannot import {name!r}: {error}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, Dialect)):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{alias!r}]['DIALECT']: {name!r} is not a Dialect subclass."
        )
    return cls


def build_context(alias: str, settings: ServiceSettings) -> ServiceContext:
    """The sans-IO view of a service: dialect and retry policy from its settings."""
    try:
        dialect = dialect_class(settings, alias)(**settings.dialect_options())
    except TypeError as error:
        raise ImproperlyConfigured(f"{SETTING_NAME}[{alias!r}]: {error}") from None
    retry = RetryPolicy(
        max_retries=settings.MAX_RETRIES,
        delay=settings.RETRY_DELAY,
        max_wait=settings.RETRY_MAX_WAIT,
        max_elapsed=settings.RETRY_MAX_ELAPSED,
        timeout=settings.phases()[4],
    )
    return ServiceContext(
        alias=alias,
        base_url=settings.BASE_URL,
        dialect=dialect,
        retry=retry,
        breaker=CircuitBreaker(
            settings.CIRCUIT_BREAKER_THRESHOLD, settings.CIRCUIT_BREAKER_COOLDOWN, service=alias
        ),
        **settings.context_options(),
    )


class Service:
    """A configured remote service: its drivers, and the loops that run plans through them."""

    def __init__(self, alias: str, settings: ServiceSettings, *, explicit: bool = False) -> None:
        self.alias = alias
        self.explicit = explicit
        self.settings = settings
        self.context = build_context(alias, settings)
        self.wire = build_wire(settings)
        self.sync_transport = settings.sync_transport()
        self.async_transport = settings.async_transport()
        self._sync_driver: SyncDriver | None = None
        self._forks = _forks_seen
        self._lock = threading.Lock()
        self._async_drivers: PerLoop[AsyncDriver] = PerLoop(self._new_async_driver, _aclose_quietly)
        self._closed = False
        self._tls: ssl.SSLContext | None = None
        self._handler: Handler | None = None
        self._cookies = _cookie_jar() if settings.COOKIES else None

    @property
    def breaker(self) -> CircuitBreaker:
        """The service's circuit breaker (its ``state`` shows in ``api_orm_check``)."""
        assert self.context.breaker is not None
        return self.context.breaker

    def ssl_context(self) -> ssl.SSLContext | None:
        """One TLS context for all of the service's drivers, made only for an ``https://``
        service (building one reads the CA store: ~25 ms that a plain-http service and a new
        event loop must not pay)."""
        if self._tls is None and self.settings.BASE_URL.startswith("https:"):
            self._tls = tls_context(self.settings.VERIFY_SSL)
        return self._tls

    def warm(self) -> None:
        """Import the drivers and build the TLS context now (``AppConfig.ready()`` calls it,
        off any event loop), so that the first call pays for neither."""
        from . import _drivers

        _drivers.load(self.sync_transport)
        _drivers.load(self.async_transport)
        self.ssl_context()

    def __repr__(self) -> str:
        return f"<Service {self.alias!r} {redact_url(self.settings.BASE_URL)}>"

    # -- drivers ---------------------------------------------------------------------------

    def sync_driver(self) -> SyncDriver:
        """The service's sync driver, made on first use (and anew in a forked child)."""
        driver = self._sync_driver
        if driver is None or self._forks != _forks_seen:
            self._check_open()
            with self._lock:
                if self._forks != _forks_seen:
                    self._forget_parent_drivers()
                if self._sync_driver is None:
                    self._sync_driver = new_sync_driver(
                        "inprocess" if self._handler is not None else self.sync_transport,
                        self.wire,
                        self.ssl_context,
                        self._handler,
                    )
                driver = self._sync_driver
        return driver

    def async_driver(self) -> AsyncDriver:
        """The async driver of the running event loop, made on first use."""
        self._check_open()
        if self._forks != _forks_seen:
            with self._lock:
                self._forget_parent_drivers()
        return self._async_drivers.get()

    def _new_async_driver(self) -> AsyncDriver:
        return new_async_driver(
            "inprocess" if self._handler is not None else self.async_transport,
            self.wire,
            self.ssl_context,
            self._handler,
        )

    def use_handler(self, handler: Handler | None) -> None:
        """Answer this service's requests in-process with ``handler`` (None: the network).

        ``handler(method, url, headers, body)`` returns ``(status, headers, body)``; the test
        kit's fake service is one. Open drivers are closed so the next call uses it.
        """
        self.close()
        self._async_drivers = PerLoop(self._new_async_driver, _aclose_quietly)
        self._handler = handler

    def _forget_parent_drivers(self) -> None:
        # After fork() the pools' sockets are shared with the parent: the child must neither
        # use nor close them, so it drops them and opens its own.
        _ABANDONED.append((self._sync_driver, self._async_drivers))
        self._sync_driver = None
        self._async_drivers = PerLoop(self._new_async_driver, _aclose_quietly)
        self._forks = _forks_seen

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self.alias} has been closed; create a new client.")

    def close(self, *, final: bool = False) -> None:
        """Close the sync driver (async drivers close with their loops, or via aclose()).

        A settings-based service reopens on next use; ``final=True`` (explicit clients)
        makes any later use an error.
        """
        self._closed = self._closed or final
        with self._lock:
            driver, self._sync_driver = self._sync_driver, None
        if driver is not None:
            driver.close()

    async def aclose(self, *, final: bool = False) -> None:
        """Close the running loop's async driver and the sync driver."""
        driver = self._async_drivers.pop_current()
        if driver is not None:
            await driver.aclose()
        self.close(final=final)

    # -- running plans ---------------------------------------------------------------------
    #
    # One stepping function per colour (perform / aperform) carries out one effect; run,
    # stream, arun and astream loop a plan through it. `observe` sees every send outcome
    # (api_orm_check uses it to read status, latency and HTTP version).

    def run(
        self, plan: Plan[T], *, observe: Observer | None = None, early: _Early | None = None
    ) -> T:
        """Carry out ``plan`` with the sync driver and return its result (``early``: a
        request of the plan already on the wire, see :meth:`_send_ahead`)."""
        driving = self._drive(plan, observe, early)
        try:
            next(driving)
        except StopIteration as stop:
            result: T = stop.value
            return result
        driving.close()
        raise RuntimeError("This plan streams rows: use Service.stream().")

    def stream(self, plan: Plan[Any]) -> Iterator[list[Any]]:
        """Carry out a streaming plan, yielding each batch of rows it hands out."""
        yield from self._drive(plan, None)

    def _drive(
        self, plan: Plan[T], observe: Observer | None, early: _Early | None = None
    ) -> Generator[list[Any], None, T]:
        driver = self.sync_driver()
        value: Any = None
        error: BaseException | None = None
        trail = _Trail()
        later: deque[_Later] = deque()  # started sub-plans not awaited yet, in order
        try:
            while True:
                try:
                    effect = plan.send(value) if error is None else plan.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                except exceptions.APIError as failed:
                    self._complete(failed, trail)
                    raise
                value = error = None
                if isinstance(effect, Rows):
                    yield effect.items
                    continue
                trail.note(effect)
                try:
                    if (
                        early is not None
                        and type(effect) is Send
                        and effect.request is early.request
                    ):
                        early, value = None, self._send(driver, effect, early)
                        if observe is not None:
                            observe(value)
                        continue
                    value = self.perform(effect, driver, observe, later)
                except Exception as caught:  # raised inside the plan, as `await` would
                    error = caught
                finally:
                    trail.saw(value)
        finally:
            plan.close()
            if early is not None:
                early.abandon()
            for handle in later:
                if handle.early is not None:
                    handle.early.abandon()

    def perform(
        self,
        effect: Effect,
        driver: SyncDriver,
        observe: Observer | None,
        later: deque[_Later] | None = None,
    ) -> Any:
        """Carry out one effect in sync code. A started sub-plan runs when it is awaited;
        ``later`` holds those not awaited yet, and the next of them to be awaited may have
        its first GET sent ahead (:meth:`_send_ahead`)."""
        if isinstance(effect, Send):
            outcome = self._send(driver, effect)
            if observe is not None:
                observe(outcome)
            return outcome
        if isinstance(effect, Sleep):
            time.sleep(effect.seconds)
        elif isinstance(effect, Emit):
            _signal(effect).send(sender=effect.sender, **effect.kwargs)
        elif isinstance(effect, Start):
            handle = _Later(effect.plan, effect.ahead)
            if later is not None:
                later.append(handle)
                if len(later) == 1:
                    self._send_ahead(driver, handle)
            return handle
        elif isinstance(effect, Await):
            handle = effect.handle
            if later and handle in later:
                later.remove(handle)
            early, handle.early = handle.early, None
            if later:  # the next one goes out while this one is read and parsed
                self._send_ahead(driver, later[0])
            return self.run(handle.plan, observe=observe, early=early)
        elif isinstance(effect, Cancel):
            handle = effect.handle
            if later and handle in later:
                later.remove(handle)
            if handle.early is not None:
                handle.early.abandon()
                handle.early = None
            handle.plan.close()
        else:
            raise TypeError(f"Unknown effect {effect!r}")
        return None

    def _send_ahead(self, driver: SyncDriver, handle: _Later) -> None:
        """Put the first GET of the next sub-plan to be awaited on the wire now, so the
        server answers while the caller works on what it has (a page walk's next page).

        Only a GET the plan named (``Start.ahead``), one at a time, on a driver that can
        (pycurl), with a free connection, the circuit closed and no cookie jar to consult.
        Its answer is read when the sub-plan sends that very request: the call's deadline,
        retries and the ``api_request`` signal all count from there, in the caller's thread.
        """
        request = handle.ahead
        if (
            request is None
            or handle.early is not None
            or not hasattr(driver, "begin")
            or request.method != "GET"
            or self._cookies is not None
            or (self.context.breaker is not None and self.context.breaker.state != "closed")
        ):
            return
        sender = cast(SendsAhead, driver)
        prepared = self._prepare(request)
        try:
            token = sender.begin(prepared)
        except (TransportFailure, BodyTooLarge, zlib.error):
            return  # the send proper will meet the failure and report it
        if token is not None:
            handle.early = _Early(request, prepared, sender, token)

    async def arun(self, plan: Plan[T], *, observe: Observer | None = None) -> T:
        """Carry out ``plan`` with the running loop's async driver; started sub-plans run
        concurrently."""
        outcome: list[T] = []
        driving = self._adrive(plan, observe, outcome)
        try:  # as run(): one step, without aclosing()'s and async for's own awaits
            await driving.__anext__()
        except StopAsyncIteration:
            return outcome[0]
        await driving.aclose()
        raise RuntimeError("This plan streams rows: use Service.astream().")

    def astream(self, plan: Plan[Any]) -> AsyncGenerator[list[Any], None]:
        """Async twin of :meth:`stream`: pages started ahead keep coming while the caller
        works on a batch."""
        return self._adrive(plan, None, [])

    async def _adrive(
        self, plan: Plan[T], observe: Observer | None, outcome: list[T]
    ) -> AsyncGenerator[list[Any], None]:
        driver = self.async_driver()
        started: set[asyncio.Future[Any]] = set()
        value: Any = None
        error: BaseException | None = None
        trail = _Trail()
        try:
            while True:
                try:
                    effect = plan.send(value) if error is None else plan.throw(error)
                except StopIteration as stop:
                    outcome.append(stop.value)
                    return
                except exceptions.APIError as failed:
                    self._complete(failed, trail)
                    raise
                value = error = None
                if isinstance(effect, Rows):
                    yield effect.items
                    continue
                trail.note(effect)
                try:
                    value = await self.aperform(effect, driver, observe, started)
                except Exception as caught:
                    error = caught
                trail.saw(value)
        finally:
            plan.close()
            if started:
                for task in started:
                    task.cancel()
                await asyncio.gather(*started, return_exceptions=True)

    async def aperform(
        self,
        effect: Effect,
        driver: AsyncDriver,
        observe: Observer | None,
        started: set[asyncio.Future[Any]],
    ) -> Any:
        """Carry out one effect in async code; ``started`` tracks the sub-plans in flight."""
        if isinstance(effect, Send):
            outcome = await self._asend(driver, effect)
            if observe is not None:
                observe(outcome)
            return outcome
        if isinstance(effect, Sleep):
            await asyncio.sleep(effect.seconds)
        elif isinstance(effect, Emit):
            await _signal(effect).asend(sender=effect.sender, **effect.kwargs)
        elif isinstance(effect, Start):
            task = asyncio.ensure_future(self.arun(effect.plan, observe=observe))
            started.add(task)
            return task
        elif isinstance(effect, Await):
            started.discard(effect.handle)
            return await effect.handle
        elif isinstance(effect, Cancel):
            started.discard(effect.handle)
            effect.handle.cancel()
            await asyncio.gather(effect.handle, return_exceptions=True)
        else:
            raise TypeError(f"Unknown effect {effect!r}")
        return None

    def _complete(self, error: exceptions.APIError, trail: _Trail) -> None:
        """Before an error leaves a plan: mask configured secrets in it, and name the request
        of an error raised about a response's data (a schema mismatch) when the plan sent
        exactly one."""
        if self.wire.secrets:
            _scrub_error(error, self.wire)
        if (
            isinstance(error, exceptions.ResponseError)
            and not error.method
            and trail.sends == 1
            and not trail.started
            and trail.response is not None
        ):
            error.method = trail.response.method
            error.url = redact_url(trail.response.url)
            error.service = error.service or self.alias

    # -- one send --------------------------------------------------------------------------

    def _send(self, driver: SyncDriver, send: Send, early: _Early | None = None) -> SendResult:
        request = send.request
        started = time.perf_counter()
        deadline = time.monotonic() + (
            send.timeout if send.timeout is not None else self.wire.phases.total
        )
        prepared = self._prepare(request) if early is None else early.prepared
        try:
            if early is None:
                received = driver.send(prepared, deadline)
            else:
                received = early.driver.finish(early.token, deadline)
            for _ in range(self.wire.max_redirects + 1):
                hop = self._next_hop(prepared, received)
                if hop is None:
                    break
                prepared = hop
                received = driver.send(prepared, deadline)
            else:
                raise TransportFailure("redirects", f"more than {self.wire.max_redirects}")
        except (TransportFailure, BodyTooLarge, zlib.error) as error:
            result: SendResult = self._failed(request, prepared, error, started)
        else:
            result = self._received(request, prepared, received, started)
        if signals.api_request.receivers:
            signals.api_request.send(sender=Service, **self._report(request, result, started))
        return result

    async def _asend(self, driver: AsyncDriver, send: Send) -> SendResult:
        request = send.request
        started = time.perf_counter()
        deadline = time.monotonic() + (
            send.timeout if send.timeout is not None else self.wire.phases.total
        )
        prepared = self._prepare(request)
        try:
            received = await driver.send(prepared, deadline)
            for _ in range(self.wire.max_redirects + 1):
                hop = self._next_hop(prepared, received)
                if hop is None:
                    break
                prepared = hop
                received = await driver.send(prepared, deadline)
            else:
                raise TransportFailure("redirects", f"more than {self.wire.max_redirects}")
        except (TransportFailure, BodyTooLarge, zlib.error) as error:
            result: SendResult = self._failed(request, prepared, error, started)
        else:
            result = self._received(request, prepared, received, started)
        if signals.api_request.receivers:
            await signals.api_request.asend(
                sender=Service, **self._report(request, result, started)
            )
        return result

    def _prepare(self, request: Request) -> Prepared:
        """The request as it goes on the wire: absolute URL, every header, the body.

        A request with no headers, body or cookies of its own shares the service's header
        list (drivers may cache what they make of it); it is never changed in place.
        """
        wire = self.wire
        url = absolute_url(wire.base_url, request.url, request.params)
        if (
            not request.headers
            and request.json is None
            and self._cookies is None
            and request.method not in ("POST", "PUT", "PATCH")
        ):
            return Prepared(request.method, url, wire.headers, None)
        headers = Masked(wire.headers)
        if request.headers:
            names = {name.lower() for name in request.headers}
            if names & {pair[0].lower() for pair in headers}:
                headers[:] = [pair for pair in headers if pair[0].lower() not in names]
            headers.extend(request.headers.items())
        body = None
        if request.json is not None:
            body = encode_json(request.json)
            headers.append(("Content-Type", "application/json"))
            headers.append(("Content-Length", str(len(body))))
        elif request.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", "0"))
        if self._cookies is not None:
            cookie = self._cookies.header_for(url)
            if cookie:
                headers.append(("Cookie", cookie))
        return Prepared(request.method, url, headers, body)

    def _next_hop(self, prepared: Prepared, received: Received) -> Prepared | None:
        """The redirect to follow, or None. A hop to another origin carries none of the
        configured headers (auth, ``HEADERS``, cookies); a 303, or a 301/302 after a POST,
        becomes a GET without a body."""
        if self._cookies is not None and received.set_cookies:
            self._cookies.store(prepared.url, received.set_cookies)
        if not (self.wire.follow_redirects and received.status in _REDIRECTS):
            return None
        location = received.headers.get("location")
        if not location:
            return None
        url = absolute_url("", urljoin(prepared.url, location))
        target = origin_of(url)
        if target[0] not in ("http", "https"):
            raise TransportFailure("other", f"a redirect to a {target[0]!r} URL")
        method = prepared.method
        body = prepared.body
        headers = Masked(prepared.headers)
        if (received.status == 303 and method != "HEAD") or (
            received.status in (301, 302) and method == "POST"
        ):
            method, body = "GET", None
            headers[:] = [pair for pair in headers if pair[0].lower() not in _BODY_HEADERS]
        if target != origin_of(prepared.url):
            private = self.wire.private_names
            headers[:] = [pair for pair in headers if pair[0].lower() not in private]
        headers[:] = [pair for pair in headers if pair[0].lower() != "cookie"]
        if self._cookies is not None:
            cookie = self._cookies.header_for(url)
            if cookie:
                headers.append(("Cookie", cookie))
        return Prepared(method, url, headers, body)

    def _report(self, request: Request, result: SendResult, started: float) -> dict[str, Any]:
        response = result if isinstance(result, Response) else None
        return {
            "service": self.alias,
            "method": request.method,
            "url": redact_url(response.url) if response else getattr(result, "url", request.url),
            "status_code": response.status_code if response else None,
            "duration": time.perf_counter() - started,
            "error": None if response else result,
        }

    def _received(
        self, request: Request, prepared: Prepared, received: Received, started: float
    ) -> Response:
        elapsed = time.perf_counter() - started
        if self._cookies is not None and received.set_cookies:
            self._cookies.store(prepared.url, received.set_cookies)
        status = received.status
        content = received.content
        headers: Mapping[str, str] = received.headers
        if status >= 300 and self.wire.secrets:
            # An error page, or a Location, that echoes a secret: it feeds error messages.
            content = self.wire.scrub_bytes(content)
            headers = type(received.headers)(
                (k, self.wire.scrub(v)) for k, v in received.headers.items()
            )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> %s in %.1f ms",
                self.alias,
                request.method,
                redact_url(prepared.url),
                status,
                elapsed * 1000,
            )
        return Response(
            status_code=status,
            headers=headers,
            content=content,
            method=request.method,
            url=prepared.url,
            http_version=received.http_version,
            elapsed=elapsed,
        )

    def _failed(
        self,
        request: Request,
        prepared: Prepared,
        error: TransportFailure | BodyTooLarge | zlib.error,
        started: float,
    ) -> SendResult:
        url = redact_url(prepared.url)
        elapsed_ms = (time.perf_counter() - started) * 1000
        kind = error.kind if isinstance(error, TransportFailure) else type(error).__name__
        logger.debug(
            "%s %s %s failed after %.1f ms: %s", self.alias, request.method, url, elapsed_ms, kind
        )
        options: dict[str, Any] = {"method": request.method, "url": url, "service": self.alias}
        if isinstance(error, BodyTooLarge):
            return exceptions.ResponseTooLarge(
                f"The response body is larger than MAX_RESPONSE_BYTES "
                f"({self.settings.MAX_RESPONSE_BYTES} bytes, counted after decompression)",
                **options,
            )
        if isinstance(error, zlib.error):
            return exceptions.ResponseError(
                f"Could not decode the response body ({error})", **options
            )
        detail = self.wire.scrub(library_logs.mask(error.detail))
        text = f" ({detail})" if detail else ""
        where = prepared.url.split("/", 3)[2] if "://" in prepared.url else "?"
        where = where.rsplit("@", 1)[-1]
        if error.kind == "refused":
            return exceptions.APIConnectionError(
                f"Connection refused by {where}", retryable=True, **options
            )
        if error.kind == "connect":
            return exceptions.APIConnectionError(
                f"Could not connect to {where}{text}", retryable=True, **options
            )
        if error.kind == "tls":
            return exceptions.APIConnectionError(f"TLS failed with {where}{text}", **options)
        if error.kind == "connect-timeout":
            return exceptions.APITimeoutError(
                f"Connect timeout ({where})", retryable=True, **options
            )
        if error.kind == "timeout":
            return exceptions.APITimeoutError(f"Timed out{text}", **options)
        if error.kind == "dropped":
            return exceptions.APIConnectionError(
                f"Connection failed{text}", retryable=True, **options
            )
        if error.kind == "protocol":
            return exceptions.APIConnectionError(
                f"Not a valid HTTP response{text}", retryable=True, **options
            )
        if error.kind == "redirects":
            return exceptions.RequestError(f"Too many redirects{text}", **options)
        return exceptions.RequestError(f"Request failed{text}", **options)


class _Early:
    """A request of a sub-plan put on the wire ahead of time: the driver that sent it, and
    its token for ``finish()``/``abort()``."""

    __slots__ = ("driver", "prepared", "request", "token")

    def __init__(self, request: Request, prepared: Prepared, driver: SendsAhead, token: Any):
        self.request = request
        self.prepared = prepared
        self.driver = driver
        self.token = token

    def abandon(self) -> None:
        """Drop the request unread (its answer is not wanted)."""
        self.driver.abort(self.token)


class _Later:
    """A sub-plan a sync plan started: run when awaited (``early``: its first GET, sent)."""

    __slots__ = ("ahead", "early", "plan")

    def __init__(self, plan: Plan[Any], ahead: Request | None) -> None:
        self.plan = plan
        self.ahead = ahead
        self.early: _Early | None = None


class _Trail:
    """What a plan's driver loop has carried out so far (to name a request in an error)."""

    __slots__ = ("response", "sends", "started")

    def __init__(self) -> None:
        self.sends = 0
        self.started = False
        self.response: Response | None = None

    def note(self, effect: Effect) -> None:
        if isinstance(effect, Send):
            self.sends += 1
        elif isinstance(effect, Start):
            self.started = True

    def saw(self, value: Any) -> None:
        if isinstance(value, Response):
            self.response = value


def _scrub_error(error: exceptions.APIError, wire: Wire) -> None:
    """Mask the service's secrets wherever an error shows text."""
    for name in ("message", "detail"):
        if isinstance(getattr(error, name, None), str):
            setattr(error, name, wire.scrub(getattr(error, name)))
    error.args = tuple(map(wire.scrub_any, error.args))


def _signal(effect: Emit) -> Any:
    """The signal an Emit names (plans name the library's signals, so _core needs no Django)."""
    return getattr(signals, effect.signal)


Observer = Callable[[SendResult], None]
Handler = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]


def _cookie_jar() -> Any:
    from ._drivers.cookies import CookieJar  # http.cookiejar: only for COOKIES services

    return CookieJar()


async def _aclose_quietly(driver: AsyncDriver) -> None:
    with contextlib.suppress(RuntimeError):  # the loop may already be going away
        await driver.aclose()


# Drivers inherited over fork(): kept referenced so their sockets are never closed by the
# child's garbage collector (the parent still uses them).
_ABANDONED: list[Any] = []

# How many fork()s this process descends from: a service made before the last one drops
# its drivers on next use. Counted at fork time, so no call pays a getpid() system call.
_forks_seen = 0


def _count_fork() -> None:
    global _forks_seen
    _forks_seen += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)
