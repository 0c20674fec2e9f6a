"""Plans for one object: retrieve, create, update and destroy, returning raw JSON data."""

from __future__ import annotations

import uuid
from typing import Any

from .. import exceptions
from .messages import Plan, Request
from .plans import ServiceContext, request_json

__all__ = ["create", "destroy", "retrieve", "update"]


def _object_or_none(data: Any, request: Request, ctx: ServiceContext, what: str) -> Any:
    if data is None or isinstance(data, dict):
        return data
    raise exceptions.ResponseError(
        f"{what}: expected a JSON object, got {type(data).__name__}",
        method=request.method,
        url=request.url,
        service=ctx.alias,
    )


def retrieve(ctx: ServiceContext, endpoint: str, pk: Any, what: str) -> Plan[dict[str, Any] | None]:
    """``GET endpoint/pk/``; None when the server answers 404."""
    request = Request("GET", ctx.dialect.detail_path(endpoint, pk))
    try:
        data = yield from request_json(ctx, request)
    except exceptions.NotFound:
        return None
    if data is None:
        raise exceptions.ResponseError(
            f"{what}: the server sent an empty body",
            method="GET",
            url=request.url,
            service=ctx.alias,
        )
    result: dict[str, Any] | None = _object_or_none(data, request, ctx, what)
    return result


def create(ctx: ServiceContext, endpoint: str, body: dict[str, Any], what: str) -> Plan[Any]:
    """``POST endpoint`` with an ``Idempotency-Key``, so a retried create cannot run twice."""
    request = Request("POST", endpoint, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    data = yield from request_json(ctx, request)
    return _object_or_none(data, request, ctx, what)


def update(
    ctx: ServiceContext,
    endpoint: str,
    pk: Any,
    body: dict[str, Any],
    what: str,
    *,
    partial: bool,
) -> Plan[Any]:
    """``PATCH`` (partial) or ``PUT`` the object; returns the server's representation, if any."""
    request = Request(
        "PATCH" if partial else "PUT", ctx.dialect.detail_path(endpoint, pk), json=body
    )
    data = yield from request_json(ctx, request)
    return _object_or_none(data, request, ctx, what)


def destroy(ctx: ServiceContext, endpoint: str, pk: Any) -> Plan[None]:
    """``DELETE endpoint/pk/``."""
    yield from ctx.send(Request("DELETE", ctx.dialect.detail_path(endpoint, pk)))
