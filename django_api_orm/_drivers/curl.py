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

A request can also be put on the wire ahead of time (:meth:`CurlDriver.begin`, the next
page of a walk) and its answer read later (:meth:`CurlDriver.finish`): the handle then runs
in its own ``CurlMulti``, in the caller's thread, with no thread and no callback in between;
its timeouts are kept by ``finish`` from the moment it is called, not by libcurl (which would
count the time the caller spent elsewhere). Each handle shares its one connection between
the two ways of sending (a ``CurlShare``), so a handle still holds at most one connection.
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

__all__ = ["CurlDriver", "Early"]


class _HeaderLines(list[str]):
    """``Name: value`` lines for ``HTTPHEADER``; its ``repr`` shows the names only."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"_HeaderLines({[line.split(':', 1)[0] for line in self]!r})"


class _Transfer:
    """The callbacks and results of one transfer on one handle."""

    __slots__ = ("body", "cookies", "error", "headers", "lines", "sends", "wire")

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.lines: list[bytes] = []  # raw header lines, appended by libcurl (no Python frame)
        self.cookies: tuple[str, ...] = ()
        self.headers: Headers | None = None
        self.body: CappedBody | None = None
        self.error: BaseException | None = None
        self.sends = 0

    def prereq(self, *args: Any) -> int:
        # Called right before each send of the request: a second call is libcurl resending
        # on a fresh connection after a reused one died.
        self.sends += 1
        return pycurl.PREREQFUNC_OK if self.sends == 1 else pycurl.PREREQFUNC_ABORT

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
            raw = b"".join(self.lines).decode("latin-1")
            block = raw.rsplit("\r\nHTTP/", 1)[-1]  # the last response (after a 100 Continue)
            self.headers = Headers.parse(block)
            if "set-cookie" in self.headers:
                self.cookies = tuple(
                    line.split(":", 1)[1].strip()
                    for line in block.split("\r\n")
                    if line[:11].lower() == "set-cookie:"
                )
        return self.headers


class _Handle:
    """A ``Curl`` handle and what it was last set to (so a run of GETs sets little)."""

    __slots__ = ("curl", "lines", "method", "multi", "share")

    def __init__(self, curl: pycurl.Curl) -> None:
        self.curl = curl
        self.lines: list[str] | None = None
        self.method = ""
        self.multi: pycurl.CurlMulti | None = None  # made on the first send ahead
        # One connection cache for perform() and the multi (each would keep its own).
        self.share = pycurl.CurlShare()
        self.share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_CONNECT)
        curl.setopt(pycurl.SHARE, self.share)


class Early:
    """A request put on the wire by :meth:`CurlDriver.begin`, its answer not read yet."""

    __slots__ = ("handle", "transfer")

    def __init__(self, handle: _Handle, transfer: _Transfer) -> None:
        self.handle = handle
        self.transfer = transfer


class CurlDriver:
    """Sync driver on pycurl handles (thread-safe: one driver per service)."""

    name = "pycurl"

    def __init__(self, wire: Wire, tls: ssl.SSLContext | None) -> None:
        self._wire = wire
        self._idle: list[_Handle] = []
        self._lock = threading.Lock()
        self._free = threading.Condition(self._lock)
        self._waiting = 0
        self._busy = 0
        self._cafile = _cafile() if wire.base_url.startswith("https:") else None
        self._default_lines = _header_lines(Prepared("GET", "", wire.headers, None))
        self.closed = False

    # -- handles ---------------------------------------------------------------------------

    def _handle(self, timeout: float) -> _Handle:
        with self._lock:
            if self._busy >= self._wire.max_connections:
                self._waiting += 1
                try:
                    if not self._free.wait_for(
                        lambda: self._busy < self._wire.max_connections, max(timeout, 0.0)
                    ):
                        raise TransportFailure("timeout", "no free connection (pool timeout)")
                finally:
                    self._waiting -= 1
            idle = self._claim()
        return idle or self._new_handle()

    def _spare_handle(self) -> _Handle | None:
        """A handle for a send ahead, or None. Never waits (the caller of :meth:`begin` may
        be the thread that would free one), and never takes the last free connection, nor
        one someone waits for: a send ahead holds its connection while the caller works, and
        the caller's own requests meanwhile (``get()`` in the loop) must find one."""
        with self._lock:
            if self._busy + 1 >= self._wire.max_connections or self._waiting or self.closed:
                return None
            idle = self._claim()
        return idle or self._new_handle()

    def _claim(self) -> _Handle | None:
        """One more handle busy (the lock held): an idle one, or None to make a new one."""
        self._busy += 1
        return self._idle.pop() if self._idle else None

    def _new_handle(self) -> _Handle:
        curl = pycurl.Curl()
        self._configure(curl)
        return _Handle(curl)

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

    def _release(self, handle: _Handle, keep: bool) -> None:
        with self._lock:
            self._busy -= 1
            keep = keep and not self.closed and len(self._idle) < self._wire.max_keepalive
            if keep:
                self._idle.append(handle)
            if self._waiting:
                self._free.notify()
        if not keep:
            handle.curl.close()

    # -- one send --------------------------------------------------------------------------

    def send(self, prepared: Prepared, deadline: float) -> Received:
        """Send once; libcurl's total timeout holds everything to ``deadline``."""
        wire = self._wire
        phases = wire.phases
        left = deadline - time.monotonic()
        if left <= 0:
            raise TransportFailure("timeout", "the call's deadline passed")
        handle = self._handle(min(phases.pool, left))
        curl = handle.curl
        transfer = _Transfer(wire)
        keep = False
        try:
            self._set_request(handle, prepared, transfer)
            left = deadline - time.monotonic()
            curl.setopt(pycurl.TIMEOUT_MS, max(1, int(left * 1000)))
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(phases.connect, left) * 1000)))
            try:
                curl.perform()
            except pycurl.error as error:
                raise self._failure(curl, transfer, error, deadline) from None
            received = self._received(curl, transfer)
            keep = True
            return received
        finally:
            self._release(handle, keep)

    def _received(self, curl: pycurl.Curl, transfer: _Transfer) -> Received:
        headers = transfer.finish_headers()
        body = transfer.body or self._wire.open_body(headers)
        return Received(
            curl.getinfo(pycurl.RESPONSE_CODE), headers, body.body(), "HTTP/1.1", transfer.cookies
        )

    # -- a send ahead of time ----------------------------------------------------------------

    def begin(self, prepared: Prepared) -> Early | None:
        """Put ``prepared`` on the wire now and return at once; None when no connection can
        be spared right now (the request is then simply sent when it is needed)."""
        handle = self._spare_handle()
        if handle is None:
            return None
        curl = handle.curl
        transfer = _Transfer(self._wire)
        try:
            self._set_request(handle, prepared, transfer)
            # finish() keeps the deadline, from when it is called: libcurl's own clocks would
            # run while the caller works elsewhere.
            curl.setopt(pycurl.TIMEOUT_MS, 0)
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, 0)
            if self._wire.phases.read < self._wire.phases.total:
                curl.setopt(pycurl.LOW_SPEED_TIME, 0)
            if handle.multi is None:
                handle.multi = pycurl.CurlMulti()
            handle.multi.add_handle(curl)
            _pump(handle.multi)
        except BaseException:
            self._release(handle, False)
            raise
        return Early(handle, transfer)

    def finish(self, early: Early, deadline: float) -> Received:
        """The answer to a request :meth:`begin` sent, read by ``deadline``. The connect and
        read timeouts count from now, as they would for :meth:`send`."""
        handle, transfer = early.handle, early.transfer
        curl, multi = handle.curl, handle.multi
        assert multi is not None
        phases = self._wire.phases
        keep = False
        try:
            progress, quiet_since = -1, time.monotonic()
            connect_by = quiet_since + phases.connect
            while _pump(multi):
                now = time.monotonic()
                if now >= deadline:
                    raise TransportFailure("timeout", "the call's deadline passed")
                connected = curl.getinfo(pycurl.CONNECT_TIME) > 0
                if not connected and now >= connect_by:
                    raise TransportFailure("connect-timeout", "connect timeout")
                seen = len(transfer.lines) + (transfer.body.size if transfer.body else 0)
                if seen != progress:
                    progress, quiet_since = seen, now
                elif connected and now - quiet_since >= phases.read:
                    raise TransportFailure("timeout", "read timeout")
                wait = min(deadline, connect_by if not connected else quiet_since + phases.read)
                wait -= now
                if multi.select(wait) <= 0 and time.monotonic() - now < wait / 2:
                    time.sleep(0.0005)  # nothing to wait on yet (e.g. DNS): don't spin
            _, _, failed = multi.info_read()
            if failed:
                code, message = failed[0][1], failed[0][2]
                raise self._failure(curl, transfer, pycurl.error(code, message), deadline)
            received = self._received(curl, transfer)
            keep = True
            return received
        finally:
            multi.remove_handle(curl)
            self._restore(curl)
            self._release(handle, keep)

    def abort(self, early: Early) -> None:
        """Drop a request sent ahead whose answer is no longer wanted (its connection too)."""
        handle = early.handle
        try:
            if handle.multi is not None:
                handle.multi.remove_handle(handle.curl)
        except pycurl.error:  # the multi went first (a stream dropped by the collector)
            pass
        finally:
            self._release(handle, False)

    def _restore(self, curl: pycurl.Curl) -> None:
        phases = self._wire.phases
        if phases.read < phases.total:
            curl.setopt(pycurl.LOW_SPEED_TIME, max(1, math.ceil(phases.read)))

    def _set_request(self, handle: _Handle, prepared: Prepared, transfer: _Transfer) -> None:
        method = prepared.method
        curl = handle.curl
        curl.setopt(pycurl.URL, prepared.url)
        if method != handle.method or method != "GET":
            self._set_method(curl, method, prepared.body)
            handle.method = method
        if prepared.headers is self._wire.headers:  # the service's own: made once
            lines = self._default_lines
        else:
            lines = _header_lines(prepared)
        if lines is not handle.lines:
            curl.setopt(pycurl.HTTPHEADER, lines)
            handle.lines = lines
        curl.setopt(pycurl.PREREQFUNCTION, transfer.prereq)
        curl.setopt(pycurl.HEADERFUNCTION, transfer.lines.append)
        curl.setopt(pycurl.WRITEFUNCTION, transfer.write)

    @staticmethod
    def _set_method(curl: pycurl.Curl, method: str, body: bytes | None) -> None:
        if method == "GET":
            curl.setopt(pycurl.HTTPGET, 1)
            curl.unsetopt(pycurl.CUSTOMREQUEST)
        elif method == "HEAD":
            curl.setopt(pycurl.NOBODY, 1)
            curl.unsetopt(pycurl.CUSTOMREQUEST)
        else:
            curl.setopt(pycurl.NOBODY, 0)
            curl.setopt(pycurl.POSTFIELDS, body or b"")
            curl.setopt(pycurl.CUSTOMREQUEST, method)

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
            handle.curl.close()


def _pump(multi: pycurl.CurlMulti) -> int:
    """Let libcurl do what it can without waiting; the number of transfers still running."""
    while True:
        status, running = multi.perform()
        if status != pycurl.E_CALL_MULTI_PERFORM:
            return int(running)


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


def _header_lines(prepared: Prepared) -> _HeaderLines:
    # map() and str.join: no Python frame holds a header value in a local.
    lines = _HeaderLines(map(": ".join, prepared.headers))
    lines += ("Expect:", "Content-Type:") if prepared.body is None else ("Expect:",)
    return lines


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
