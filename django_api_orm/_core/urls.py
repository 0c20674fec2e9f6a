"""URL building that user input cannot steer.

A primary key becomes exactly one path segment: every byte outside RFC 3986's unreserved
set is percent-encoded, and so are the dots of ``.`` and ``..`` (which URL normalisation
would otherwise resolve). ``"a/b"`` → ``a%2Fb``, ``".."`` → ``%2E%2E``,
``"https://evil.example/x"`` → ``https%3A%2F%2Fevil.example%2Fx``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ..exceptions import InvalidPrimaryKey, UnsafeRequestError

__all__ = ["detail_path", "encode_segment", "origin", "redact_url", "same_origin"]

# Whole words of a parameter name (split on "_", "-" and "."): "api_key" and "access-token"
# are masked, "author" and "keyword" are not.
_SENSITIVE_WORDS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "secret",
        "password",
        "passwd",
        "signature",
        "sig",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "session",
        "jwt",
    }
)


def _sensitive(name: str) -> bool:
    return any(word in _SENSITIVE_WORDS for word in re.split(r"[_\-.\[\]]+", name.lower()))


def encode_segment(value: Any) -> str:
    """Encode ``value`` as one path segment, or raise :class:`InvalidPrimaryKey`."""
    if type(value) is int:  # digits and maybe "-": nothing to quote (the common pk)
        return str(value)
    if value is None or isinstance(value, bool):
        raise InvalidPrimaryKey(f"{value!r} is not a valid primary key.")
    text = str(value)
    if not text:
        raise InvalidPrimaryKey("An empty primary key cannot address an object.")
    try:
        encoded = quote(text, safe="")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from json.loads('"\\ud800"')
        raise InvalidPrimaryKey(f"{value!r} is not valid Unicode text.") from None
    if encoded in {".", ".."}:
        # Even percent-encoded (%2E%2E), some URL libraries (yarl, under the aiohttp
        # transport) resolve dot segments and would leave the endpoint: refuse them.
        raise InvalidPrimaryKey(f"{text!r} cannot be a primary key: it is a relative path step.")
    return encoded


def detail_path(endpoint: str, pk: Any, *, trailing_slash: bool = True) -> str:
    """``"books/"`` and ``7`` → ``"books/7/"``."""
    base = endpoint if endpoint.endswith("/") else endpoint + "/"
    return base + encode_segment(pk) + ("/" if trailing_slash else "")


def origin(url: str) -> tuple[str, str]:
    """The (scheme, host:port) pair that decides whether two URLs share a server."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return parts.scheme.lower(), f"{(parts.hostname or '').lower()}:{port}"


def same_origin(url: str, base_url: str) -> bool:
    """True when ``url`` is relative, or absolute on the same origin as ``base_url``."""
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return True
    return origin(url) == origin(base_url)


def check_same_origin(url: str, base_url: str, *, what: str) -> None:
    """Refuse a server-supplied link that would take the request (and its token) elsewhere."""
    if not same_origin(url, base_url):
        raise UnsafeRequestError(
            f"Refusing to follow {what} {redact_url(url)!r}: it leaves the service's origin "
            f"{redact_url(base_url)!r}."
        )


def redact_url(url: str) -> str:
    """Drop userinfo and mask secret-looking query values, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            name, sep, _value = piece.partition("=")
            if sep and _sensitive(unquote(name)):
                piece = f"{name}=***"
            pieces.append(piece)
        query = "&".join(pieces)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
