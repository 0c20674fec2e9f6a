"""What every driver shares: the wire view of a service, failures, secrets and deadlines.

A driver turns one prepared request into a status, headers and a body, or raises
:class:`TransportFailure`. Everything around that — building the URL and headers, redirects,
the deadline of the call, the body cap, masking secrets, mapping failures to the
:class:`~django_api_orm.exceptions.APIError` tree — is done once, in
:mod:`django_api_orm._transport`, for every driver alike.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlencode, urlsplit

from .._body import ACCEPT_ENCODING, BodyTooLarge, CappedBody

__all__ = [
    "USER_AGENT",
    "Headers",
    "Masked",
    "Phases",
    "Prepared",
    "Received",
    "TransportFailure",
    "Wire",
]

USER_AGENT = "django-api-orm/0.1"

# Header names whose values are secrets (whole words, as for query parameters).
_SECRET_HEADER_WORDS = frozenset(
    {"authorization", "token", "key", "apikey", "secret", "password", "auth", "cookie", "session"}
)


def secret_header(name: str) -> bool:
    """``Authorization``, ``X-API-Key``, ``X-Auth-Token``...: a header carrying a secret."""
    return any(word in _SECRET_HEADER_WORDS for word in re.split(r"[_\-.]+", name.lower()))


class Masked(list[tuple[str, str]]):
    """Request headers: a list of ``(name, value)`` whose ``repr`` never shows a value.

    What Django's technical 500 page, a debugger or a log shows of a frame local holding
    the headers is ``Masked(['Authorization', ...])``: the token is never a plain ``str`` in
    a frame of the request path.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Masked({[name for name, _ in self]!r})"

    __str__ = __repr__


class TransportFailure(Exception):
    """A driver could not get a response. ``kind`` decides the typed error:

    ``refused``, ``connect`` (DNS, unreachable, reset while connecting), ``tls``,
    ``connect-timeout``, ``timeout`` (read, write, pool, or the call's deadline), ``dropped``
    (the connection broke before the whole response arrived), ``protocol`` (a malformed
    response), ``other``. ``detail`` is a short, secret-free text.
    """

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Phases:
    """Timeouts in seconds: per phase, and ``total`` for a whole call (every attempt,
    every wait between them and the body)."""

    connect: float
    read: float
    write: float
    pool: float
    total: float

    @property
    def only_total(self) -> bool:
        """True when no phase timeout can fire before the total one (the number form)."""
        return min(self.connect, self.read, self.write, self.pool) >= self.total


@dataclass(slots=True)
class Prepared:
    """One request on the wire: absolute URL, all headers, the encoded body."""

    method: str
    url: str
    headers: Masked
    body: bytes | None


class Headers(dict[str, str]):
    """Response headers: lower-case names, looked up case-insensitively; repeated headers
    joined with ``", "`` (as httpx does)."""

    __slots__ = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """From ``(name, value)`` pairs in any case."""
        lowered = [(name.lower(), value) for name, value in pairs]
        headers = cls(lowered)
        if len(headers) == len(lowered):  # no repeated name (the common case): done
            return headers
        headers = cls()
        seen = dict.__contains__
        put = dict.__setitem__
        for key, value in lowered:
            if seen(headers, key):
                put(headers, key, f"{dict.__getitem__(headers, key)}, {value}")
            else:
                put(headers, key, value)
        return headers

    @classmethod
    def parse(cls, block: str) -> Headers:
        """From a raw header block (``Name: value`` lines after the status line)."""
        parts = [line.partition(":") for line in block.split("\r\n")[1:]]
        return cls.of([(name.strip(), value.strip()) for name, colon, value in parts if colon])

    def __getitem__(self, name: str) -> str:
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            return dict.__getitem__(self, name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        value = dict.get(self, name)
        if value is None:
            value = dict.get(self, name.lower(), default)
        return value

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (
            isinstance(name, str) and dict.__contains__(self, name.lower())
        )


@dataclass(slots=True)
class Received:
    """What a driver got: the status line, lower-case headers and the (capped) body."""

    status: int
    headers: Headers
    content: bytes
    http_version: str = "HTTP/1.1"
    set_cookies: tuple[str, ...] = ()


class BodySink(Protocol):
    """Makes the body reader once the response headers are known."""

    def __call__(self, headers: Mapping[str, str]) -> CappedBody: ...


@dataclass(frozen=True, repr=False)
class Wire:
    """A service as the drivers see it: where, how long, how much, with which headers.

    Its ``repr`` names the base URL only: a frame local holding it shows no secret.
    """

    base_url: str
    headers: Masked  # sent on every request (auth and HEADERS included)
    secrets: tuple[str, ...]  # values masked in errors and logs (the token, secret HEADERS)
    private_names: frozenset[str]  # lower-case names dropped on a redirect to another origin
    phases: Phases
    max_body: int  # 0: no cap
    follow_redirects: bool
    max_redirects: int
    http2: bool
    verify: bool
    max_connections: int
    max_keepalive: int
    cookies: bool

    def __post_init__(self) -> None:
        # Compiled once: masking then never holds a secret in a plain str local.
        text = re.compile("|".join(map(re.escape, self.secrets))) if self.secrets else None
        raw = (
            re.compile(b"|".join(re.escape(s.encode("latin-1", "replace")) for s in self.secrets))
            if self.secrets
            else None
        )
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_raw", raw)

    def __repr__(self) -> str:
        return f"<Wire {self.base_url}>"

    def open_body(self, headers: Mapping[str, str]) -> CappedBody:
        """The capped reader of a body with these response headers (or BodyTooLarge)."""
        cap = self.max_body or sys.maxsize
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise BodyTooLarge  # refused before reading a byte
        return CappedBody(cap, headers.get("content-encoding", ""))

    def scrub(self, text: str) -> str:
        """``text`` with every configured secret replaced by ``***``."""
        pattern: re.Pattern[str] | None = self._text  # type: ignore[attr-defined]
        return text if pattern is None else pattern.sub("***", text)

    def scrub_any(self, value: Any) -> Any:
        """:meth:`scrub` for a ``str``; anything else as it is."""
        return self.scrub(value) if isinstance(value, str) else value

    def scrub_bytes(self, data: bytes) -> bytes:
        """:meth:`scrub` for a body."""
        pattern: re.Pattern[bytes] | None = self._raw  # type: ignore[attr-defined]
        return data if pattern is None else pattern.sub(b"***", data)


def wire_headers(
    extra: Mapping[str, str], auth: Callable[[], str | None]
) -> tuple[Masked, tuple[str, ...], frozenset[str]]:
    """The headers of every request, the secrets among them and the names to drop on a
    redirect to another origin (every configured header, auth included)."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    lowered = {name.lower(): name for name in headers}
    for name, value in extra.items():
        headers.pop(lowered.pop(name.lower(), name), None)
        headers[name] = value
        lowered[name.lower()] = name
    secrets = [value for name, value in extra.items() if secret_header(name) and len(value) >= 4]
    credentials = auth()
    if credentials is not None:
        headers.pop(lowered.pop("authorization", "Authorization"), None)
        headers["Authorization"] = credentials
        token = credentials.split(" ", 1)[-1]
        secrets += [credentials, token] if len(token) >= 4 else [credentials]
    private = frozenset(name.lower() for name in extra) | {"authorization", "cookie"}
    # Longest first: a token inside "Bearer <token>" is masked with its scheme.
    ordered = tuple(sorted(set(secrets), key=len, reverse=True))
    return Masked(headers.items()), ordered, private


# -- URLs --------------------------------------------------------------------------------------

# Characters a URL may carry as they are: RFC 3986 reserved and unreserved, and "%" (already
# percent-encoded input stays as it is). Anything else (spaces, non-ASCII) is encoded.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"


def absolute_url(base_url: str, url: str, params: Sequence[tuple[str, str]] = ()) -> str:
    """``url`` resolved against ``base_url`` (relative: appended to its path), with
    ``params`` added to its query string."""
    if "://" not in url:
        url = base_url + url.lstrip("/")
    if not url.isascii() or " " in url:
        url = quote(url, safe=_URL_SAFE)
    if params:
        query = encode_params(params)
        url = url.split("#", 1)[0]
        url += ("&" if "?" in url else "?") + query
    return url


_PLAIN = re.compile(r"[\w.~-]*", re.ASCII).fullmatch  # what urlencode leaves as it is


def encode_params(params: Sequence[tuple[str, str]]) -> str:
    """``urlencode(params)`` (as httpx encodes them, and explain() shows them), with plain
    names and values joined as they are."""
    try:
        if all(_PLAIN(name) and _PLAIN(value) for name, value in params):
            return "&".join([f"{name}={value}" for name, value in params])
    except TypeError:  # a value that is not a str: urlencode converts it
        pass
    return urlencode(params)


def split_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without ``user:password@``, and those credentials as a Basic ``Authorization``
    value (None when there are none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    import base64

    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    return parts._replace(netloc=host).geturl(), "Basic " + base64.b64encode(pair).decode()


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def host_header(url: str) -> str:
    """The ``Host`` header of an absolute URL (as written in it; no userinfo)."""
    netloc = url.split("/", 3)[2]
    return netloc.rsplit("@", 1)[-1] if "@" in netloc else netloc


def encode_json(data: Any) -> bytes:
    """A JSON request body, as httpx encodes one."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# -- TLS ---------------------------------------------------------------------------------------


def tls_context(verify: bool) -> ssl.SSLContext:
    """One TLS client context: the system's CA store (certifi's bundle where the system has
    none), or no verification at all when ``verify`` is False."""
    if not verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    paths = ssl.get_default_verify_paths()
    if paths.cafile or (paths.capath and _has_files(paths.capath)):
        return ssl.create_default_context()
    try:
        import certifi
    except ImportError:  # pragma: no cover - no CA store at all: TLS will fail, as it must
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _has_files(path: str) -> bool:
    import os

    try:
        return any(os.scandir(path))
    except OSError:
        return False


__all__ += ["BodySink", "BodyTooLarge", "absolute_url", "encode_json", "tls_context"]
