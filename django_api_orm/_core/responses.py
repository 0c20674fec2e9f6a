"""Reading responses: JSON bodies, the server's error message and field errors, typed errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic_core import from_json

from .. import exceptions
from .messages import Response
from .urls import redact_url

__all__ = ["error_for", "parse_json", "parse_retry_after"]

_STATUS_ERRORS: dict[int, type[exceptions.HTTPStatusError]] = {
    400: exceptions.ValidationError,
    401: exceptions.AuthenticationError,
    403: exceptions.PermissionDenied,
    404: exceptions.NotFound,
    409: exceptions.Conflict,
    412: exceptions.ConflictError,
    422: exceptions.ValidationError,
    429: exceptions.RateLimited,
}
_MESSAGE_KEYS = ("detail", "message", "error_description", "error", "title", "msg")
_MAX_MESSAGE = 300
# RFC 9457 members describe the problem, not a field (when they are strings; DRF's field
# errors are lists, so a model field called "title" still reports its errors).
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


def parse_json(response: Response, *, service: str = "", exact: bool = False) -> Any:
    """The decoded JSON body, or :class:`ResponseError` naming what arrived instead.

    ``exact`` reads JSON numbers with a fraction as ``Decimal`` (no float detour), for
    schemas with ``Decimal`` fields: ``0.123456789012345678`` stays exactly that.
    """
    content = response.content
    if not content or not content.strip():
        return None
    try:
        if exact:
            return json.loads(content, parse_float=Decimal)
        return from_json(content)  # pydantic-core's parser: faster than json.loads
    except ValueError:
        content_type = response.headers.get("content-type", "no content type")
        raise exceptions.ResponseError(
            f"Expected a JSON body but got {content_type!r}: {_snippet(response.content)!r}",
            method=response.method,
            url=redact_url(response.url),
            service=service,
            status_code=response.status_code,
        ) from None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare: most servers send seconds

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_for(response: Response, *, service: str = "") -> exceptions.HTTPStatusError:
    """The typed error for a 4xx/5xx response, with the server's message and field errors."""
    status = response.status_code
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = exceptions.ServerError if status >= 500 else exceptions.ClientError
    try:
        body: Any = json.loads(response.content) if response.content.strip() else None
    except (UnicodeDecodeError, ValueError):
        body = _snippet(response.content)
    detail = _message_of(body)
    field_errors = _field_errors_of(body) if cls is exceptions.ValidationError else {}
    message = f"HTTP {status}"
    if detail:
        message += f": {detail}"
    elif field_errors:
        message += ": " + "; ".join(f"{k}: {' '.join(v)}" for k, v in field_errors.items())
    return cls(
        message,
        status_code=status,
        method=response.method,
        url=redact_url(response.url),
        service=service,
        detail=detail,
        body=body,
        headers=response.headers,
        field_errors=field_errors,
        retry_after=parse_retry_after(response.headers),
    )


def _snippet(content: bytes) -> str:
    text = content[:_MAX_MESSAGE].decode("utf-8", "replace").strip()
    return text + ("…" if len(content) > _MAX_MESSAGE else "")


def _collect(source: Any, errors: dict[str, list[str]]) -> None:
    """Field errors given as a list of objects (``pointer``/``instancePath``/``name``/
    ``field`` with ``detail``/``message``/``reason``) or as ``{field: messages}``."""
    if isinstance(source, dict):
        for name, value in source.items():
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail") or ""
            texts = value if isinstance(value, list) else [value]
            errors.setdefault(str(name), []).extend(str(text) for text in texts if text)
        return
    for item in source if isinstance(source, list) else []:
        if isinstance(item, dict):
            name = (
                item.get("name")
                or item.get("field")
                or item.get("pointer")
                or item.get("instancePath")
                or item.get("path")
                or ""
            )
            text = item.get("reason") or item.get("detail") or item.get("message") or ""
            field = str(name).lstrip("#/").replace("/", ".") or "non_field_errors"
            errors.setdefault(field, []).append(str(text))


def _message_of(body: Any) -> str:
    if isinstance(body, str):
        return body[:_MAX_MESSAGE]
    if not isinstance(body, dict):
        return ""
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:_MAX_MESSAGE]
    return ""


_FEATHERS_ENVELOPE = frozenset({"name", "message", "code", "className"})


def _field_errors_of(body: Any) -> dict[str, list[str]]:
    """Field errors from DRF (``{"f": ["msg"]}``), problem+json, Feathers and
    pydantic/ninja shapes; an envelope's own keys are never taken for fields."""
    if not isinstance(body, dict):
        return {}
    errors: dict[str, list[str]] = {}
    if body.keys() >= _FEATHERS_ENVELOPE:
        # Feathers: {"name": "BadRequest", "message", "code", "className", "data", "errors"}
        # with ajv's [{"instancePath": "/title", "message"}] or {"title": "message"}.
        _collect(body.get("data"), errors)
        _collect(body.get("errors"), errors)
        return errors
    # RFC 9457 problem details: "errors" [{"detail", "pointer"}] or {"field": [...]}, or
    # "invalid-params" [{"name", "reason"}].
    _collect(body.get("errors") or body.get("invalid-params"), errors)
    detail = body.get("detail")
    if isinstance(detail, list):  # pydantic / django-ninja: [{"loc": [...], "msg": ...}]
        for item in detail:
            if isinstance(item, dict) and "msg" in item:
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "payload")]
                errors.setdefault(".".join(loc) or "non_field_errors", []).append(item["msg"])
    if errors or "errors" in body:
        return errors
    for key, value in body.items():  # Django REST framework
        if isinstance(value, str) and (key in _PROBLEM_MEMBERS or key in _MESSAGE_KEYS):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            errors[key] = list(value)
        elif isinstance(value, str):
            errors[key] = [value]
        elif isinstance(value, dict):
            for sub, messages in _field_errors_of(value).items():
                errors[f"{key}.{sub}"] = messages
    return errors
