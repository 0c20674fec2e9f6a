"""A tiny users API for the seed examples: ``/api/v1/users/`` in the shape of a DRF viewset.

Standard library only (no Django), so the scripts that talk to it prove nothing about
Django settings by accident. Rows are ``{"id", "name", "email", "active"}``; list responses
are DRF page envelopes (``count``/``next``/``previous``/``results``, ``page`` and
``page_size`` parameters); ``active``, ``name`` and ``email`` filter; every request must carry
``Authorization: Bearer <token>`` when a token is set.

::

    with UsersAPI(token="your-token-here") as api:
        print(api.url)  # http://127.0.0.1:<port>
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/api/v1/users/"
FIELDS = ("name", "email", "active")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    # -- helpers ------------------------------------------------------------------------

    def _send(self, status: int, payload: Any = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self) -> tuple[int | None, dict[str, list[str]]] | None:
        """``(pk or None, query)`` for a users URL, None (after a 404 or 401) otherwise."""
        api = self.server.api
        if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
            self._send(401, {"detail": "Authentication credentials were not provided."})
            return None
        parts = urlsplit(self.path)
        api.log.append(f"{self.command} {parts.path}")
        if not parts.path.startswith(PREFIX):
            self._send(404, {"detail": "Not found."})
            return None
        rest = parts.path[len(PREFIX) :].strip("/")
        if rest and not rest.isdigit():
            self._send(404, {"detail": "Not found."})
            return None
        return (int(rest) if rest else None), parse_qs(parts.query)

    def _row(self, pk: int) -> dict[str, Any] | None:
        row = self.server.api.users.get(pk)
        if row is None:
            self._send(404, {"detail": "No User matches the given query."})
        return row

    # -- verbs --------------------------------------------------------------------------

    def do_GET(self) -> None:
        route = self._route()
        if route is None:
            return
        pk, query = route
        with self.server.api.lock:
            if pk is not None:
                row = self._row(pk)
                if row is not None:
                    self._send(200, row)
                return
            rows = sorted(self.server.api.users.values(), key=lambda r: r["id"])
        for name in FIELDS:
            if name in query:
                wanted = query[name][0]
                rows = [r for r in rows if _wire(r[name]) == wanted]
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("page_size", ["10"])[0])
        chunk = rows[(page - 1) * size : page * size]
        more = page * size < len(rows)
        self._send(
            200,
            {
                "count": len(rows),
                "next": f"{self.server.api.url}{PREFIX}?page={page + 1}&page_size={size}"
                if more
                else None,
                "previous": None,
                "results": chunk,
            },
        )

    def do_POST(self) -> None:
        route = self._route()
        if route is None:
            return
        data = self._body()
        missing = [name for name in ("name", "email") if not data.get(name)]
        if route[0] is not None or missing:
            self._send(400, {name: ["This field is required."] for name in missing})
            return
        api = self.server.api
        with api.lock:
            api.next_id += 1
            row = {"id": api.next_id, "active": True, **_known(data)}
            api.users[row["id"]] = row
        self._send(201, row)

    def _update(self) -> None:
        route = self._route()
        if route is None or route[0] is None:
            return
        with self.server.api.lock:
            row = self._row(route[0])
            if row is not None:
                row.update(_known(self._body()))
                self._send(200, row)

    do_PUT = do_PATCH = _update

    def do_DELETE(self) -> None:
        route = self._route()
        if route is None or route[0] is None:
            return
        with self.server.api.lock:
            if self._row(route[0]) is not None:
                del self.server.api.users[route[0]]
                self._send(204)


def _wire(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _known(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in FIELDS if name in data}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: UsersAPI


class UsersAPI:
    """The users API on a free port of 127.0.0.1, served by a background thread."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.users: dict[int, dict[str, Any]] = {}
        self.next_id = 0
        self.log: list[str] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> UsersAPI:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
