"""``COOKIES: True``: one cookie jar per service, with the standard library's rules
(domain, path, expiry, ``Secure``). Off by default: a ``Set-Cookie`` from one call is
otherwise never sent again, so one user's session cannot ride on another user's call."""

from __future__ import annotations

import email.message
import http.cookiejar
import threading
import urllib.request
from collections.abc import Iterable

__all__ = ["CookieJar"]


class CookieJar:
    """A thread-safe ``http.cookiejar.CookieJar`` fed with ``Set-Cookie`` values."""

    def __init__(self) -> None:
        self._jar = http.cookiejar.CookieJar()
        self._lock = threading.Lock()

    def header_for(self, url: str) -> str:
        """The ``Cookie`` header for a request to ``url`` ("" when none)."""
        request = urllib.request.Request(url)
        with self._lock:
            self._jar.add_cookie_header(request)
        return request.get_header("Cookie") or ""

    def store(self, url: str, set_cookies: Iterable[str]) -> None:
        """Keep the cookies of a response to ``url``."""
        message = email.message.Message()
        for value in set_cookies:
            message["Set-Cookie"] = value
        response = _Response(message)
        with self._lock:
            self._jar.extract_cookies(response, urllib.request.Request(url))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._jar)


class _Response:
    def __init__(self, message: email.message.Message) -> None:
        self._message = message

    def info(self) -> email.message.Message:
        return self._message
