"""Secrets out of the HTTP libraries' own log lines.

httpcore logs each response's headers at DEBUG, aiohttp may log URLs: a filter on their
loggers masks, in every record they emit, secret-looking query values in URLs and every
secret a service is configured with (its token, secret ``HEADERS`` values), as the library's
own logger does. It costs nothing while those loggers are quiet (no record is made).
"""

from __future__ import annotations

import logging
import re
import threading

from .._core.urls import redact_url

__all__ = ["LIBRARY_LOGGERS", "install", "remember"]

# The loggers of the stacks the drivers use (a filter acts on its own logger's records only).
LIBRARY_LOGGERS = (
    "httpcore",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore2",
    "httpcore2.connection",
    "httpcore2.connection_pool",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpx",
    "httpx2",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
)

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False


def remember(secrets: tuple[str, ...]) -> None:
    """Mask these values too, from now on."""
    global _pattern
    if not secrets or set(secrets) <= _secrets:
        return
    with _lock:
        _secrets.update(secrets)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(map(re.escape, ordered)))


def mask(text: str) -> str:
    """``text`` with URLs redacted and remembered secrets replaced by ``***``."""
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    pattern = _pattern
    return text if pattern is None else pattern.sub("***", text)


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def install() -> None:
    """Put the filter on the HTTP libraries' loggers (once)."""
    global _installed
    if _installed:
        return
    with _lock:
        if not _installed:
            redact = _Redact()
            for name in LIBRARY_LOGGERS:
                logging.getLogger(name).addFilter(redact)
            _installed = True
