"""The only module that imports httpx: pooled clients per service, and the two drivers.

A :class:`Service` owns one ``httpx.Client`` (thread-safe, shared by every thread) and one
``httpx.AsyncClient`` per running event loop. :meth:`Service.run` and :meth:`Service.arun`
carry out the effects a plan yields — the only difference between a sync method and its
``a``-twin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import sys
import threading
import time
import zlib
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping
from typing import Any, TypeVar

import httpx
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import exceptions, signals
from ._body import ACCEPT_ENCODING, BodyTooLarge, CappedBody
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
from ._loops import PerLoop
from .settings import SETTING_NAME, ServiceSettings

__all__ = ["Service"]

T = TypeVar("T")
logger = logging.getLogger("django_api_orm")

_USER_AGENT = "django-api-orm/0.1"


def _timeout(settings: ServiceSettings) -> httpx.Timeout:
    value = settings.TIMEOUT
    if isinstance(value, int | float):
        return httpx.Timeout(float(value))
    return httpx.Timeout(connect=value.connect, read=value.read, write=value.write, pool=value.pool)


def _client_options(settings: ServiceSettings) -> dict[str, Any]:
    headers = {
        "User-Agent": _USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
        **settings.HEADERS,
    }
    auth = settings.auth_header()
    if auth is not None:
        headers["Authorization"] = auth
    return {
        "base_url": settings.BASE_URL,
        "headers": headers,
        "timeout": _timeout(settings),
        "follow_redirects": settings.FOLLOW_REDIRECTS,
    }


def _transport_options(settings: ServiceSettings, ssl_context: ssl.SSLContext) -> dict[str, Any]:
    return {
        "verify": ssl_context,
        "http2": settings.HTTP2,
        "limits": httpx.Limits(
            max_connections=settings.MAX_CONNECTIONS,
            max_keepalive_connections=settings.MAX_KEEPALIVE_CONNECTIONS,
        ),
    }


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
    )
    return ServiceContext(
        alias=alias,
        base_url=settings.BASE_URL,
        dialect=dialect,
        retry=retry,
        max_concurrency=settings.MAX_CONCURRENCY,
        max_pages=settings.MAX_PAGES,
        verify=settings.VERIFY,
        save_method=settings.SAVE_METHOD,
        pk_in_body=settings.PK_IN_BODY,
        field_lookups=settings.field_lookups(),
        breaker=CircuitBreaker(
            settings.CIRCUIT_BREAKER_THRESHOLD, settings.CIRCUIT_BREAKER_COOLDOWN, service=alias
        ),
    )


class Service:
    """A configured remote service: its pooled clients and the drivers that run plans."""

    def __init__(self, alias: str, settings: ServiceSettings, *, explicit: bool = False) -> None:
        self.alias = alias
        self.explicit = explicit
        self.settings = settings
        self.context = build_context(alias, settings)
        self._sync_client: httpx.Client | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._async_clients: PerLoop[httpx.AsyncClient] = PerLoop(
            self._new_async_client, _aclose_quietly
        )
        self._closed = False
        self._ssl_context: ssl.SSLContext | None = None
        self._handler: Handler | None = None

    @property
    def breaker(self) -> CircuitBreaker:
        """The service's circuit breaker (its ``state`` shows in ``api_orm_check``)."""
        assert self.context.breaker is not None
        return self.context.breaker

    def ssl_context(self) -> ssl.SSLContext:
        """One TLS context for all of the service's clients: building one loads the CA bundle
        (~25 ms), which a new event loop (hence a new AsyncClient) must not pay again."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(verify=self.settings.VERIFY_SSL)
        return self._ssl_context

    def __repr__(self) -> str:
        return f"<Service {self.alias!r} {redact_url(self.settings.BASE_URL)}>"

    # -- clients ---------------------------------------------------------------------------

    def sync_client(self) -> httpx.Client:
        """The service's ``httpx.Client``, made on first use (and anew in a forked child)."""
        client = self._sync_client
        if client is None or self._pid != os.getpid():
            self._check_open()
            with self._lock:
                if self._pid != os.getpid():
                    self._forget_parent_clients()
                if self._sync_client is None and self._handler is not None:
                    self._sync_client = httpx.Client(
                        transport=httpx.MockTransport(_handle_with(self._handler)),
                        **_client_options(self.settings),
                    )
                if self._sync_client is None:
                    self._sync_client = httpx.Client(
                        transport=httpx.HTTPTransport(
                            **_transport_options(self.settings, self.ssl_context())
                        ),
                        **_client_options(self.settings),
                    )
                client = self._sync_client
        return client

    def async_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` of the running event loop, made on first use."""
        self._check_open()
        if self._pid != os.getpid():
            with self._lock:
                self._forget_parent_clients()
        return self._async_clients.get()

    def _new_async_client(self) -> httpx.AsyncClient:
        transport: httpx.AsyncBaseTransport
        if self._handler is not None:
            transport = httpx.MockTransport(_handle_with(self._handler))
        elif self.settings.async_transport() == "aiohttp":
            # httpx's API over aiohttp's pool, much faster under concurrency (encode/httpx#3215).
            from httpx_aiohttp import AiohttpTransport

            options = _transport_options(self.settings, self.ssl_context())
            options.pop("http2")
            transport = AiohttpTransport(**options)
        else:
            transport = httpx.AsyncHTTPTransport(
                **_transport_options(self.settings, self.ssl_context())
            )
        return httpx.AsyncClient(transport=transport, **_client_options(self.settings))

    def use_handler(self, handler: Handler | None) -> None:
        """Answer this service's requests in-process with ``handler`` (None: the network).

        ``handler(method, url, headers, body)`` returns ``(status, headers, body)``; the test
        kit's fake service is one. Open clients are closed so the next call uses it.
        """
        self.close()
        self._async_clients = PerLoop(self._new_async_client, _aclose_quietly)
        self._handler = handler

    def _forget_parent_clients(self) -> None:
        # After fork() the pools' sockets are shared with the parent: the child must neither
        # use nor close them, so it drops them and opens its own.
        _ABANDONED.append((self._sync_client, self._async_clients))
        self._sync_client = None
        self._async_clients = PerLoop(self._new_async_client, _aclose_quietly)
        self._pid = os.getpid()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self.alias} has been closed; create a new client.")

    def close(self, *, final: bool = False) -> None:
        """Close the sync client (async clients close with their loops, or via aclose()).

        A settings-based service reopens on next use; ``final=True`` (explicit clients)
        makes any later use an error.
        """
        self._closed = self._closed or final
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aclose(self, *, final: bool = False) -> None:
        """Close the running loop's async client and the sync client."""
        client = self._async_clients.pop_current()
        if client is not None:
            await client.aclose()
        self.close(final=final)

    # -- drivers ---------------------------------------------------------------------------
    #
    # One stepping function per colour (perform / aperform) carries out one effect; run,
    # stream, arun and astream loop a plan through it. `observe` sees every send outcome
    # (api_orm_check uses it to read status, latency and HTTP version).

    def run(self, plan: Plan[T], *, observe: Observer | None = None) -> T:
        """Carry out ``plan`` with the sync client and return its result."""
        driving = self._drive(plan, observe)
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

    def _drive(self, plan: Plan[T], observe: Observer | None) -> Generator[list[Any], None, T]:
        client = self.sync_client()
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    effect = plan.send(value) if error is None else plan.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                value = error = None
                if isinstance(effect, Rows):
                    yield effect.items
                    continue
                try:
                    value = self.perform(effect, client, observe)
                except Exception as caught:  # raised inside the plan, as `await` would
                    error = caught
        finally:
            plan.close()

    def perform(self, effect: Effect, client: httpx.Client, observe: Observer | None) -> Any:
        """Carry out one effect in sync code (a started sub-plan runs when awaited)."""
        if isinstance(effect, Send):
            outcome = self._send(client, effect.request)
            if observe is not None:
                observe(outcome)
            return outcome
        if isinstance(effect, Sleep):
            time.sleep(effect.seconds)
        elif isinstance(effect, Emit):
            effect.signal.send(sender=effect.sender, **effect.kwargs)
        elif isinstance(effect, Start):
            return effect.plan
        elif isinstance(effect, Await):
            return self.run(effect.handle, observe=observe)
        elif isinstance(effect, Cancel):
            effect.handle.close()
        else:
            raise TypeError(f"Unknown effect {effect!r}")
        return None

    async def arun(self, plan: Plan[T], *, observe: Observer | None = None) -> T:
        """Carry out ``plan`` with the running loop's async client; started sub-plans run
        concurrently."""
        outcome: list[T] = []
        async for _ in self._adrive(plan, observe, outcome):
            raise RuntimeError("This plan streams rows: use Service.astream().")
        return outcome[0]

    def astream(self, plan: Plan[Any]) -> AsyncGenerator[list[Any], None]:
        """Async twin of :meth:`stream`: pages started ahead keep coming while the caller
        works on a batch."""
        return self._adrive(plan, None, [])

    async def _adrive(
        self, plan: Plan[T], observe: Observer | None, outcome: list[T]
    ) -> AsyncGenerator[list[Any], None]:
        client = self.async_client()
        started: set[asyncio.Future[Any]] = set()
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    effect = plan.send(value) if error is None else plan.throw(error)
                except StopIteration as stop:
                    outcome.append(stop.value)
                    return
                value = error = None
                if isinstance(effect, Rows):
                    yield effect.items
                    continue
                try:
                    value = await self.aperform(effect, client, observe, started)
                except Exception as caught:
                    error = caught
        finally:
            plan.close()
            if started:
                for task in started:
                    task.cancel()
                await asyncio.gather(*started, return_exceptions=True)

    async def aperform(
        self,
        effect: Effect,
        client: httpx.AsyncClient,
        observe: Observer | None,
        started: set[asyncio.Future[Any]],
    ) -> Any:
        """Carry out one effect in async code; ``started`` tracks the sub-plans in flight."""
        if isinstance(effect, Send):
            outcome = await self._asend(client, effect.request)
            if observe is not None:
                observe(outcome)
            return outcome
        if isinstance(effect, Sleep):
            await asyncio.sleep(effect.seconds)
        elif isinstance(effect, Emit):
            await effect.signal.asend(sender=effect.sender, **effect.kwargs)
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

    def _send(self, client: httpx.Client, request: Request) -> SendResult:
        started = time.perf_counter()
        try:
            response = client.send(self._build(client, request), stream=True)
            try:
                body = self._body(response)
                chunks = [response.content] if _in_memory(response) else response.iter_raw()
                content = body.feed_all(chunks)
            finally:
                response.close()
        except (httpx.HTTPError, BodyTooLarge, zlib.error) as error:
            result: SendResult = self._failed(request, error, started)
        else:
            result = self._received(request, response, content, started)
        if signals.api_request.receivers:
            signals.api_request.send(sender=Service, **self._report(request, result, started))
        return result

    async def _asend(self, client: httpx.AsyncClient, request: Request) -> SendResult:
        started = time.perf_counter()
        try:
            response = await client.send(self._build(client, request), stream=True)
            try:
                body = self._body(response)
                if _in_memory(response):
                    body.feed(response.content)
                else:
                    async for chunk in response.aiter_raw():
                        body.feed(chunk)
                content = body.body()
            finally:
                await response.aclose()
        except (httpx.HTTPError, BodyTooLarge, zlib.error) as error:
            result: SendResult = self._failed(request, error, started)
        else:
            result = self._received(request, response, content, started)
        if signals.api_request.receivers:
            await signals.api_request.asend(
                sender=Service, **self._report(request, result, started)
            )
        return result

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

    @staticmethod
    def _build(client: httpx.Client | httpx.AsyncClient, request: Request) -> httpx.Request:
        return client.build_request(
            request.method,
            request.url,
            params=list(request.params) if request.params else None,
            json=request.json,
            headers=dict(request.headers) if request.headers else None,
        )

    def _body(self, response: httpx.Response) -> CappedBody:
        cap = self.settings.MAX_RESPONSE_BYTES or sys.maxsize
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise BodyTooLarge  # refused before reading a byte
        encoding = "" if _in_memory(response) else response.headers.get("content-encoding", "")
        return CappedBody(cap, encoding)

    def _received(
        self, request: Request, response: httpx.Response, content: bytes, started: float
    ) -> Response:
        elapsed = time.perf_counter() - started
        url = str(response.request.url)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> %s in %.1f ms",
                self.alias,
                request.method,
                redact_url(url),
                response.status_code,
                elapsed * 1000,
            )
        return Response(
            status_code=response.status_code,
            headers=response.headers,
            content=content,
            method=request.method,
            url=url,
            http_version=response.http_version,
            elapsed=elapsed,
        )

    def _failed(
        self, request: Request, error: httpx.HTTPError | BodyTooLarge | zlib.error, started: float
    ) -> SendResult:
        has_request = isinstance(error, httpx.HTTPError) and _has_request(error)
        url = redact_url(str(error.request.url)) if has_request else request.url  # type: ignore[union-attr]
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug(
            "%s %s %s failed after %.1f ms: %s",
            self.alias,
            request.method,
            url,
            elapsed_ms,
            type(error).__name__,
        )
        kind = type(error).__name__
        options: dict[str, Any] = {"method": request.method, "url": url, "service": self.alias}
        if isinstance(error, BodyTooLarge):
            return exceptions.ResponseTooLarge(
                f"The response body is larger than MAX_RESPONSE_BYTES "
                f"({self.settings.MAX_RESPONSE_BYTES} bytes, counted after decompression)",
                **options,
            )
        if isinstance(error, zlib.error | httpx.DecodingError):
            return exceptions.ResponseError(
                f"Could not decode the response body ({error})", **options
            )
        if isinstance(error, httpx.ConnectTimeout) and _dropped_connection(error):
            error = httpx.RemoteProtocolError(str(error))  # aiohttp maps a drop to this
        if isinstance(error, httpx.ConnectTimeout):
            return exceptions.APITimeoutError(
                f"Connect timeout ({kind})", retryable=True, **options
            )
        if isinstance(error, httpx.TimeoutException):
            return exceptions.APITimeoutError(f"Timed out ({kind})", **options)
        if isinstance(
            error,
            httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError,
        ):
            return exceptions.APIConnectionError(
                f"Connection failed ({kind}: {error})", retryable=True, **options
            )
        return exceptions.RequestError(f"Request failed ({kind}: {error})", **options)


Observer = Callable[[SendResult], None]
Handler = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Mapping[str, str], bytes]]


def _handle_with(handler: Handler) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        status, headers, body = handler(
            request.method, str(request.url), dict(request.headers), request.read()
        )
        return httpx.Response(status, headers=headers, content=body)

    return handle


def _in_memory(response: httpx.Response) -> bool:
    # A response built from bytes (MockTransport, the test kit) is read and decoded at once.
    return hasattr(response, "_content")


def _dropped_connection(error: httpx.HTTPError) -> bool:
    # httpx-aiohttp reports every aiohttp ClientConnectionError (a server hanging up
    # included) as ConnectTimeout; only a real timeout should stay one.
    cause = error.__cause__
    return type(cause).__module__.startswith("aiohttp") and "Timeout" not in type(cause).__name__


def _has_request(error: httpx.HTTPError) -> bool:
    try:
        error.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


async def _aclose_quietly(client: httpx.AsyncClient) -> None:
    with contextlib.suppress(RuntimeError):  # the loop may already be going away
        await client.aclose()


# Clients inherited over fork(): kept referenced so their sockets are never closed by the
# child's garbage collector (the parent still uses them).
_ABANDONED: list[Any] = []
