"""The sync driver on libcurl (pycurl): the fastest sync HTTP/1.1 client measured here.

A pool of ``Curl`` handles, each used by one thread at a time and keeping its own
keep-alive connection: at most ``MAX_CONNECTIONS`` handles are busy at once, at most
``MAX_KEEPALIVE_CONNECTIONS`` are kept idle. Set up so that libcurl does nothing on its own:
no redirects, no cookies, no decompression (the body cap inflates step by step), no proxy
from the environment, no dot-segment squashing in paths, no HTTP/0.9, and no second send
of a request whose reused connection turned out dead (libcurl does that by itself; a
``PREREQFUNCTION`` refuses it, so the retry policy alone decides).

libcurl needs no thread of its own, so a process forked after use (gunicorn ``--preload``)
just opens new handles in the child (the service drops the inherited driver).
"""

from __future__ import annotations

import errno
import math
import ssl
import threading
import time
import zlib
from typing import Any

import pycurl

from .._body import CappedBody
from .base import BodyTooLarge, Headers, Prepared, Received, TransportFailure, Wire

__all__ = ["CurlDriver"]


class _HeaderLines(list[str]):
    """``Name: value`` lines for ``HTTPHEADER``; its ``repr`` shows the names only."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"_HeaderLines({[line.split(':', 1)[0] for line in self]!r})"


class _Transfer:
    """The callbacks and results of one transfer on one handle."""

    __slots__ = ("body", "error", "headers", "lines", "sends", "wire")

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.lines: list[str] = []
        self.headers: Headers | None = None
        self.body: CappedBody | None = None
        self.error: BaseException | None = None
        self.sends = 0

    def prereq(self, *args: Any) -> int:
        # Called right before each send of the request: a second call is libcurl resending
        # on a fresh connection after a reused one died.
        self.sends += 1
        return pycurl.PREREQFUNC_OK if self.sends == 1 else pycurl.PREREQFUNC_ABORT

    def header(self, line: bytes) -> None:
        text = line.decode("latin-1").rstrip("\r\n")
        if text.startswith("HTTP/"):
            self.lines = []  # a new status line (after a 100 Continue)
        elif text:
            self.lines.append(text)

    def write(self, data: bytes) -> int | None:
        try:
            if self.body is None:
                self.body = self.wire.open_body(self.finish_headers())
            self.body.feed(data)
        except (BodyTooLarge, zlib.error) as error:
            self.error = error
            return 0  # aborts the transfer (E_WRITE_ERROR)
        return None

    def finish_headers(self) -> Headers:
        if self.headers is None:
            pairs = (line.split(":", 1) for line in self.lines if ":" in line)
            self.headers = Headers.of((name.strip(), value.strip()) for name, value in pairs)
        return self.headers


class CurlDriver:
    """Sync driver on pycurl handles (thread-safe: one driver per service)."""

    name = "pycurl"

    def __init__(self, wire: Wire, tls: ssl.SSLContext | None) -> None:
        self._wire = wire
        self._idle: list[pycurl.Curl] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(wire.max_connections)
        self._busy = 0
        self._cafile = _cafile() if wire.base_url.startswith("https:") else None
        self.closed = False

    # -- handles ---------------------------------------------------------------------------

    def _handle(self, timeout: float) -> pycurl.Curl:
        if not self._slots.acquire(timeout=max(timeout, 0.0)):
            raise TransportFailure("timeout", "no free connection (pool timeout)")
        with self._lock:
            self._busy += 1
            if self._idle:
                return self._idle.pop()
        return self._new_handle()

    def _new_handle(self) -> pycurl.Curl:
        handle = pycurl.Curl()
        self._configure(handle)
        return handle

    def _configure(self, handle: pycurl.Curl) -> None:
        wire = self._wire
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.MAXCONNECTS, 1)
        handle.setopt(pycurl.PROXY, "")  # never a proxy from the environment
        handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        handle.setopt(pycurl.PATH_AS_IS, 1)
        handle.setopt(pycurl.TCP_NODELAY, 1)
        if not wire.verify:
            handle.setopt(pycurl.SSL_VERIFYPEER, 0)
            handle.setopt(pycurl.SSL_VERIFYHOST, 0)
        elif self._cafile:
            handle.setopt(pycurl.CAINFO, self._cafile)
        phases = wire.phases
        if phases.read < phases.total:  # an idle body: libcurl's granularity is 1 s
            handle.setopt(pycurl.LOW_SPEED_LIMIT, 1)
            handle.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(phases.read)))

    def _release(self, handle: pycurl.Curl, keep: bool) -> None:
        with self._lock:
            self._busy -= 1
            keep = keep and not self.closed and len(self._idle) < self._wire.max_keepalive
            if keep:
                self._idle.append(handle)
        if not keep:
            handle.close()
        self._slots.release()

    # -- one send --------------------------------------------------------------------------

    def send(self, prepared: Prepared, deadline: float) -> Received:
        """Send once; libcurl's total timeout holds everything to ``deadline``."""
        wire = self._wire
        phases = wire.phases
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportFailure("timeout", "the call's deadline passed")
        handle = self._handle(min(phases.pool, left))
        transfer = _Transfer(wire)
        keep = False
        try:
            self._set_request(handle, prepared, transfer)
            left = deadline - time.monotonic()
            handle.setopt(pycurl.TIMEOUT_MS, max(1, int(left * 1000)))
            handle.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(phases.connect, left) * 1000)))
            try:
                handle.perform()
            except pycurl.error as error:
                raise self._failure(handle, transfer, error, deadline) from None
            headers = transfer.finish_headers()
            body = transfer.body or wire.open_body(headers)
            status = handle.getinfo(pycurl.RESPONSE_CODE)
            version = handle.getinfo(pycurl.INFO_HTTP_VERSION)
            keep = True
            return Received(
                status,
                headers,
                body.body(),
                "HTTP/2" if version == 3 else "HTTP/1.1" if version == 2 else "HTTP/1.0",
                tuple(
                    line.split(":", 1)[1].strip()
                    for line in transfer.lines
                    if line[:11].lower() == "set-cookie:"
                ),
            )
        finally:
            self._release(handle, keep)

    def _set_request(self, handle: pycurl.Curl, prepared: Prepared, transfer: _Transfer) -> None:
        method = prepared.method
        handle.setopt(pycurl.URL, prepared.url)
        if method == "GET":
            handle.setopt(pycurl.HTTPGET, 1)
            handle.unsetopt(pycurl.CUSTOMREQUEST)
        elif method == "HEAD":
            handle.setopt(pycurl.NOBODY, 1)
            handle.unsetopt(pycurl.CUSTOMREQUEST)
        else:
            handle.setopt(pycurl.NOBODY, 0)
            handle.setopt(pycurl.POSTFIELDS, prepared.body or b"")
            handle.setopt(pycurl.CUSTOMREQUEST, method)
        lines = _HeaderLines(map(": ".join, prepared.headers))
        lines += ("Expect:", "Content-Type:") if prepared.body is None else ("Expect:",)
        handle.setopt(pycurl.HTTPHEADER, lines)
        handle.setopt(pycurl.PREREQFUNCTION, transfer.prereq)
        handle.setopt(pycurl.HEADERFUNCTION, transfer.header)
        handle.setopt(pycurl.WRITEFUNCTION, transfer.write)

    def _failure(
        self, handle: pycurl.Curl, transfer: _Transfer, error: pycurl.error, deadline: float
    ) -> BaseException:
        code = error.args[0]
        if transfer.error is not None:
            return transfer.error  # BodyTooLarge or zlib.error from the write callback
        if code == pycurl.E_ABORTED_BY_CALLBACK and transfer.sends > 1:
            return TransportFailure("dropped", "the server closed the connection")
        if code == pycurl.E_COULDNT_CONNECT:
            if handle.getinfo(pycurl.OS_ERRNO) == errno.ECONNREFUSED:
                return TransportFailure("refused", "connection refused")
            return TransportFailure("connect", "cannot connect")
        if code in (pycurl.E_COULDNT_RESOLVE_HOST, pycurl.E_COULDNT_RESOLVE_PROXY):
            return TransportFailure("connect", "cannot resolve the host")
        if code == pycurl.E_OPERATION_TIMEDOUT:
            if time.monotonic() >= deadline - 0.002:
                return TransportFailure("timeout", "the call's deadline passed")
            if handle.getinfo(pycurl.CONNECT_TIME) == 0:
                return TransportFailure("connect-timeout", "connect timeout")
            return TransportFailure("timeout", "read timeout")
        if code == pycurl.E_GOT_NOTHING:
            return TransportFailure("dropped", "the server closed the connection")
        if code == pycurl.E_PARTIAL_FILE:
            return TransportFailure("dropped", "the body was cut short")
        if code in (pycurl.E_RECV_ERROR, pycurl.E_SEND_ERROR):
            return TransportFailure("dropped", "connection reset")
        if code in _PROTOCOL_ERRORS:
            return TransportFailure("protocol", "malformed response")
        if code in _TLS_ERRORS:
            return TransportFailure("tls", "TLS failed")
        return TransportFailure("other", f"libcurl error {code}")

    def connections(self) -> int:
        """Handles in use or kept idle (each holds at most one connection)."""
        with self._lock:
            return self._busy + len(self._idle)

    def close(self) -> None:
        """Close the idle handles (busy ones close when released)."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for handle in idle:
            handle.close()


_PROTOCOL_ERRORS = frozenset(
    {
        pycurl.E_UNSUPPORTED_PROTOCOL,  # an HTTP/0.9 answer: not HTTP at all
        getattr(pycurl, "E_WEIRD_SERVER_REPLY", 8),
        getattr(pycurl, "E_HTTP2", 16),
        getattr(pycurl, "E_BAD_CONTENT_ENCODING", 61),
        100,  # CURLE_TOO_LARGE: a header line past libcurl's limit
    }
)
_TLS_ERRORS = frozenset(
    {
        pycurl.E_SSL_CONNECT_ERROR,
        pycurl.E_SSL_CACERT,
        pycurl.E_SSL_CACERT_BADFILE,
        pycurl.E_SSL_CERTPROBLEM,
        pycurl.E_SSL_CIPHER,
        pycurl.E_SSL_PEER_CERTIFICATE,
        pycurl.E_SSL_ISSUER_ERROR,
        pycurl.E_USE_SSL_FAILED,
    }
)


def _cafile() -> str | None:
    """The system CA bundle (certifi's where the system has none)."""
    paths = ssl.get_default_verify_paths()
    if paths.cafile:
        return paths.cafile
    try:
        import certifi
    except ImportError:  # pragma: no cover
        return None
    return str(certifi.where())
