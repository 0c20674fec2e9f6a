"""The exceptions of django-api-orm: one tree rooted at :class:`APIError`.

::

    APIError
     ├── DoesNotExist                (also django.core.exceptions.ObjectDoesNotExist)
     ├── MultipleObjectsReturned     (also django.core.exceptions.MultipleObjectsReturned)
     ├── NotSupportedError           the API (its dialect) cannot express this query
     ├── InvalidPrimaryKey           (also ValueError) a pk that cannot be one URL segment
     ├── UnsafeRequestError          (also ValueError) refused before sending: header injection,
     │                               a pagination link to another origin
     ├── RequestError                no usable response arrived
     │    ├── APIConnectionError     connect refused/reset, DNS, the server dropped the connection
     │    ├── APITimeoutError        connect/read/write/pool timeout
     │    └── CircuitOpenError       failed fast: the service's circuit breaker is open
     ├── HTTPStatusError             the server answered with a 4xx/5xx status
     │    ├── ClientError            4xx
     │    │    ├── ValidationError       400 and 422, with ``field_errors``
     │    │    ├── AuthenticationError   401
     │    │    ├── PermissionDenied      403
     │    │    ├── NotFound              404
     │    │    ├── Conflict              409
     │    │    │    └── ConflictError    412: the object changed since it was read (If-Match)
     │    │    └── RateLimited           429, with ``retry_after``
     │    └── ServerError            5xx, with ``retry_after``
     └── ResponseError               the body is not what was promised: not JSON, wrong shape,
          │                          or it does not match the model's schema
          ├── ResponseTooLarge       the body is larger than MAX_RESPONSE_BYTES
          ├── FilterIgnored          the API returned a row that does not match the query
          │                          (it ignored a filter): nothing was written
          └── PaginationError        the pages contradict themselves: a page repeats rows
               │                     already read, a next link or cursor loops
               └── TooManyPages      reading the query would take more than MAX_PAGES pages

Every error that concerns a request carries ``method`` and ``url`` (secrets in the URL are
redacted; headers, and so tokens, are never part of an error). Each model gets its own
``Model.DoesNotExist`` and ``Model.MultipleObjectsReturned`` subclasses, as in Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:  # Django's bases when Django is installed; the core also runs without it
    from django.core.exceptions import FieldError as FieldError  # re-exported for the core
    from django.core.exceptions import MultipleObjectsReturned as _MultipleObjectsReturned
    from django.core.exceptions import ObjectDoesNotExist
except ImportError:  # pragma: no cover - exercised in a subprocess without Django

    class FieldError(Exception):  # type: ignore[no-redef]
        """A lookup or ordering names no field (Django's ``FieldError`` when installed)."""

    class ObjectDoesNotExist(Exception):  # type: ignore[no-redef]
        """Django's ``ObjectDoesNotExist`` stand-in."""

    class _MultipleObjectsReturned(Exception):  # type: ignore[no-redef]
        """Django's ``MultipleObjectsReturned`` stand-in."""


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "CircuitOpenError",
    "ClientError",
    "Conflict",
    "ConflictError",
    "DoesNotExist",
    "FilterIgnored",
    "FilterIgnoredWarning",
    "HTTPStatusError",
    "InvalidPrimaryKey",
    "MultipleObjectsReturned",
    "NotFound",
    "NotSupportedError",
    "PaginationError",
    "PermissionDenied",
    "RateLimited",
    "RequestError",
    "ResponseError",
    "ResponseTooLarge",
    "ServerError",
    "TooManyPages",
    "UnsafeRequestError",
    "ValidationError",
]


class APIError(Exception):
    """Root of every error raised by django-api-orm."""


class DoesNotExist(APIError, ObjectDoesNotExist):
    """The requested object does not exist (a 404 on a detail URL, or no row matched)."""


class MultipleObjectsReturned(APIError, _MultipleObjectsReturned):
    """``get()`` matched more than one object."""


class NotSupportedError(APIError):
    """The query cannot be expressed in the service's API; raised before any request."""


class InvalidPrimaryKey(APIError, ValueError):
    """A primary key value that cannot stand as exactly one URL path segment."""


class UnsafeRequestError(APIError, ValueError):
    """A request was refused before sending because it could be steered or leak secrets."""


class _RequestInfo(APIError):
    """Base of the errors tied to one HTTP request: they carry ``method`` and ``url``."""

    def __init__(self, message: str, *, method: str = "", url: str = "", service: str = ""):
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.service = service

    def __str__(self) -> str:
        where = f"{self.method} {self.url}".strip()
        prefix = f"[{self.service}] " if self.service else ""
        return f"{prefix}{self.message} ({where})" if where else f"{prefix}{self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructor arguments do not survive the default pickling.
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[_RequestInfo], state: dict[str, Any]) -> _RequestInfo:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class RequestError(_RequestInfo):
    """No usable response: the request failed in transport.

    ``retryable`` is True when the request may not have reached the application (connect
    errors, connect timeouts, a dropped connection), so an idempotent request can be resent.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        service: str = "",
        retryable: bool = False,
    ):
        super().__init__(message, method=method, url=url, service=service)
        self.retryable = retryable


class APIConnectionError(RequestError):
    """The connection could not be made, or broke before a full response arrived."""


class APITimeoutError(RequestError):
    """A connect, read, write or pool timeout expired."""


class ResponseError(_RequestInfo):
    """The response body is not what was expected (not JSON, wrong shape, schema mismatch)."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        service: str = "",
        status_code: int | None = None,
        model: str = "",
        field: str = "",
    ):
        super().__init__(message, method=method, url=url, service=service)
        self.status_code = status_code
        self.model = model
        self.field = field


class ResponseTooLarge(ResponseError):
    """The body exceeded the service's ``MAX_RESPONSE_BYTES`` (counted after decompression)."""


class FilterIgnored(ResponseError):
    """The API returned a row that fails one of the query's conditions: it ignored (or
    misread) a filter. Raised before any write; ``lookup`` and ``pk`` name the evidence."""

    def __init__(self, message: str, *, lookup: str = "", pk: Any = None, **options: Any):
        super().__init__(message, **options)
        self.lookup = lookup
        self.pk = pk


class FilterIgnoredWarning(RuntimeWarning):
    """Rows that did not match the query were dropped (a service with ``VERIFY="drop"``)."""


class PaginationError(ResponseError):
    """The API's pages cannot be read as one consistent list: a page repeats every row
    already read, or a next link/cursor loops. Raised instead of returning wrong rows."""


class TooManyPages(PaginationError):
    """Reading the query would take more than the service's ``MAX_PAGES`` requests."""

    def __init__(self, message: str, *, limit: int = 0, **options: Any) -> None:
        super().__init__(message, **options)
        self.limit = limit


class CircuitOpenError(RequestError):
    """The service's circuit breaker is open after repeated failures: the call failed fast,
    without a request. ``retry_after`` says when a probe request will be let through."""

    def __init__(self, message: str, *, service: str = "", retry_after: float = 0.0):
        super().__init__(message, service=service)
        self.retry_after = retry_after


class HTTPStatusError(_RequestInfo):
    """The server answered with an error status.

    ``status_code``, ``method``, ``url`` and the server's own ``detail`` message say what
    happened; ``body`` is the parsed JSON body (or the text) for anything more.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str = "",
        url: str = "",
        service: str = "",
        detail: str = "",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        field_errors: Mapping[str, list[str]] | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, method=method, url=url, service=service)
        self.status_code = status_code
        self.detail = detail
        self.body = body
        self.headers = dict(headers or {})
        self.field_errors: dict[str, list[str]] = dict(field_errors or {})
        self.retry_after = retry_after
        self.attempts = 1  # how many times the request was sent before this answer


class ClientError(HTTPStatusError):
    """A 4xx answer: the request was wrong and repeating it will not help."""


class ValidationError(ClientError):
    """400 or 422: the server rejected the data; ``field_errors`` maps field to messages."""


class AuthenticationError(ClientError):
    """401: missing or wrong credentials."""


class PermissionDenied(ClientError):
    """403: authenticated, but not allowed."""


class NotFound(ClientError):
    """404: no such resource."""


class Conflict(ClientError):
    """409: the request conflicts with the resource's current state."""


class ConflictError(Conflict):
    """412 Precondition Failed: a write sent with ``If-Match`` found the object changed by
    someone else since it was read. Re-read it (``refresh_from_api()``) and try again."""


class RateLimited(ClientError):
    """429: too many requests; ``retry_after`` holds the server's hint in seconds, if any."""


class ServerError(HTTPStatusError):
    """5xx: the server failed; ``retry_after`` holds its hint in seconds, if any."""
