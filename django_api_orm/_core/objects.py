"""Plans for one object: retrieve, create, update and destroy, returning the JSON data and
the object's ETag (when the API gives one, later writes send it back as ``If-Match``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import exceptions
from .messages import Plan, Request
from .plans import ServiceContext
from .responses import parse_json

__all__ = ["Answer", "create", "destroy", "retrieve", "update"]


class Answer(NamedTuple):
    """An object's JSON data (None for an empty body; the schema instance when read on the
    fast path) and its ETag, if any."""

    data: Any
    etag: str | None


def _answer(
    ctx: ServiceContext,
    request: Request,
    what: str,
    exact: bool,
    fast: Callable[[bytes], Any] | None = None,
) -> Plan[Answer]:
    response = yield from ctx.send(request)
    if fast is not None:  # validated straight from the bytes; else the route that explains
        row = fast(response.content)
        if row is not None:
            return Answer(row, response.headers.get("etag"))
    data = parse_json(response, service=ctx.alias, exact=exact)
    if data is not None and not isinstance(data, dict):
        raise exceptions.ResponseError(
            f"{what}: expected a JSON object, got {type(data).__name__}",
            method=request.method,
            url=response.url,
            service=ctx.alias,
        )
    return Answer(data, response.headers.get("etag"))


def _if_match(etag: str | None) -> dict[str, str]:
    return {"If-Match": etag} if etag else {}


def retrieve(
    ctx: ServiceContext,
    endpoint: str,
    pk: Any,
    what: str,
    *,
    exact: bool = False,
    fast: Callable[[bytes], Any] | None = None,
) -> Plan[Answer | None]:
    """``GET endpoint/pk/``; None when the server answers 404. ``fast`` validates the body
    at once (``QueryContext.fast_row``)."""
    request = Request("GET", ctx.dialect.detail_path(endpoint, pk))
    try:
        answer = yield from _answer(ctx, request, what, exact, fast)
    except exceptions.NotFound:
        return None
    if answer.data is None:
        raise exceptions.ResponseError(
            f"{what}: the server sent an empty body",
            method="GET",
            url=request.url,
            service=ctx.alias,
        )
    return answer


def create(
    ctx: ServiceContext, endpoint: str, body: dict[str, Any], what: str, *, exact: bool = False
) -> Plan[Answer]:
    """``POST endpoint`` with an ``Idempotency-Key``, so a retried create cannot run twice."""
    request = Request("POST", endpoint, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    return (yield from _answer(ctx, request, what, exact))


def update(
    ctx: ServiceContext,
    endpoint: str,
    pk: Any,
    body: dict[str, Any],
    what: str,
    *,
    partial: bool,
    etag: str | None = None,
    exact: bool = False,
) -> Plan[Answer]:
    """``PATCH`` (partial) or ``PUT`` the object, with ``If-Match`` when its ETag is known
    (a 412 raises :class:`~django_api_orm.exceptions.ConflictError`)."""
    request = Request(
        "PATCH" if partial else "PUT",
        ctx.dialect.detail_path(endpoint, pk),
        json=body,
        headers=_if_match(etag),
    )
    return (yield from _answer(ctx, request, what, exact))


def destroy(ctx: ServiceContext, endpoint: str, pk: Any, *, etag: str | None = None) -> Plan[None]:
    """``DELETE endpoint/pk/``. A 404 met by a *retried* DELETE counts as done: the first
    attempt deleted the object and only its answer was lost."""
    request = Request("DELETE", ctx.dialect.detail_path(endpoint, pk), headers=_if_match(etag))
    try:
        yield from ctx.send(request)
    except exceptions.NotFound as error:
        if error.attempts < 2:
            raise
