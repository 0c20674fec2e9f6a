"""Outermost ASGI wrapper: control API, request log, faults, delays and idempotency keys."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async

from .state import CONFIG, DEFAULT_CONFIG, STATE, Fault

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[Any]]

CONTROL_PREFIX = "/__control__/"
Stored = tuple[int, list[tuple[bytes, bytes]], bytes]


class _Drop:
    """Returned to uvicorn to drop a connection (see ``UpstreamApp``)."""

    def __repr__(self) -> str:
        return "<upstream fault: drop connection>"


DROP = _Drop()


class _DropLogFilter(logging.Filter):
    """Silence uvicorn's complaint about our deliberate non-None return value."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.args, tuple) and DROP in record.args)


def install_log_filter() -> None:
    """Attach the filter to uvicorn's error logger."""
    logging.getLogger("uvicorn.error").addFilter(_DropLogFilter())


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the inner app, then defers."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _respond_json(send: Send, status: int, payload: Any) -> None:
    await _respond(
        send, status, json.dumps(payload).encode(), [(b"content-type", b"application/json")]
    )


def _log_entry(scope: Scope, body: bytes) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = bytes(key).decode("latin-1").lower()
        text = bytes(value).decode("latin-1")
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    return {
        "method": scope["method"],
        "path": scope["path"],
        "raw_path": bytes(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
        "query": bytes(scope.get("query_string", b"")).decode("latin-1"),
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
    }


async def _send_fault(send: Send, fault: Fault) -> None:
    assert fault.status is not None
    content_type = fault.content_type
    if fault.body is None:
        payload = b""
    elif isinstance(fault.body, str):
        payload = fault.body.encode()
        content_type = content_type or "text/plain; charset=utf-8"
    else:
        payload = json.dumps(fault.body).encode()
        content_type = content_type or "application/json"
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fault.headers.items()]
    if content_type and not any(k == b"content-type" for k, _ in headers):
        headers.append((b"content-type", content_type.encode("latin-1")))
    headers = [(k, v) for k, v in headers if k != b"content-length"]
    await _respond(send, fault.status, payload, headers)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _reset_database() -> None:
    from .db import reset_books  # needs the app registry, which is ready by now

    reset_books()


def _validate_config(knobs: Any) -> dict[str, int]:
    if not isinstance(knobs, dict):
        raise ValueError("config must be a JSON object")
    unknown = set(knobs) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown config knobs: {sorted(unknown)}")
    for name, value in knobs.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer")
        if value == 0 and name != "delay_ms":
            raise ValueError(f"{name} must be >= 1")
    return knobs


class UpstreamApp:
    """Wraps Django's ASGI app.

    Every non-control request is logged (body included), then delayed by ``delay_ms``, then
    matched against the fault queue. A fault either answers with a canned response, drops the
    connection, or (no status) only delays. Surviving POSTs with ``Idempotency-Key`` are
    answered once and replayed afterwards.

    Dropping works by *returning a non-None value* to uvicorn: every uvicorn HTTP protocol
    then closes the transport without writing a byte, so the client sees "Server disconnected
    without sending a response" (``httpx.RemoteProtocolError``). Raising or returning None
    without a response would instead make uvicorn send a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return None
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"].startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
            return None
        body = await _read_body(receive)
        if body is None:
            return None
        STATE.requests.append(_log_entry(scope, body))
        if CONFIG["delay_ms"]:
            await asyncio.sleep(CONFIG["delay_ms"] / 1000)
        fault = STATE.take_fault(scope["method"], scope["path"])
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.action == "close":
                return DROP
            if fault.status is not None:
                await _send_fault(send, fault)
                return None
        await self._idempotent(scope, _replay(body, receive), send)
        return None

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key")
        if scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        pending = STATE.idempotency.get(key)
        if pending is not None:
            stored = await asyncio.shield(pending)
            if stored is None:  # the first attempt failed: run this one for real
                await self._idempotent(scope, receive, send)
                return
            status, headers, body = stored
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            await _respond(send, status, body, [*headers, (b"idempotent-replayed", b"true")])
            return
        future: asyncio.Future[Stored | None] = asyncio.get_running_loop().create_future()
        STATE.idempotency[key] = future
        response: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                response["body"].append(message.get("body", b""))
            await send(message)

        result: Stored | None = None
        try:
            await self.app(scope, receive, capture)
            if response["status"] < 500:
                result = (response["status"], response["headers"], b"".join(response["body"]))
        finally:
            if result is None and STATE.idempotency.get(key) is future:
                del STATE.idempotency[key]
            future.set_result(result)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        if body is None:
            return
        name = scope["path"][len(CONTROL_PREFIX) :].strip("/")
        try:
            data = json.loads(body) if body.strip() else None
            status, payload = await self._dispatch(name, scope["method"], data)
        except (ValueError, TypeError) as exc:
            status, payload = 400, {"detail": str(exc)}
        await _respond_json(send, status, payload)

    async def _dispatch(self, name: str, method: str, data: Any) -> tuple[int, Any]:
        route = (name, method)
        if route == ("health", "GET"):
            return 200, {"ok": True}
        if route == ("reset", "POST"):
            STATE.clear()
            await sync_to_async(_reset_database, thread_sensitive=False)()
            return 200, {"ok": True}
        if route == ("requests", "GET"):
            return 200, STATE.requests
        if route == ("requests", "DELETE"):
            STATE.requests.clear()
            return 200, {"ok": True}
        if route == ("faults", "GET"):
            return 200, [fault.to_json() for fault in STATE.faults]
        if route == ("faults", "POST"):
            items = data if isinstance(data, list) else [data]
            STATE.faults.extend([Fault.from_json(item) for item in items])
            return 200, {"ok": True, "pending": len(STATE.faults)}
        if route == ("faults", "DELETE"):
            STATE.faults.clear()
            return 200, {"ok": True}
        if route == ("config", "GET"):
            return 200, CONFIG
        if route == ("config", "POST"):
            CONFIG.update(_validate_config(data or {}))
            return 200, CONFIG
        known = {"health", "reset", "requests", "faults", "config"}
        return (405, {"detail": "Method not allowed."}) if name in known else (404, {})
