"""Write plans of one model instance: ``save()``, ``delete()`` and ``refresh_from_api()``,
the same in both colours.

``save()`` POSTs a new object and, by default, PATCHes only the fields changed since the
object was read (``SAVE_METHOD="PUT"`` sends every field); writes send ``If-Match`` when the
API gave an ETag. Signals are emitted by name (``Emit("pre_save", ...)``): the driver sends
Django's signal, so this module needs no Django.
"""

from __future__ import annotations

from typing import Any

from . import objects
from .messages import Emit, Plan
from .plans import ServiceContext

__all__ = ["destroy", "refresh", "save"]


def save(obj: Any, ctx: ServiceContext, update_fields: Any = None) -> Plan[None]:
    """POST when new; else PATCH ``update_fields``, or what changed, or PUT everything."""
    meta = obj._meta
    what = meta.object_name
    created = obj._adding or obj.pk is None
    fields = None
    if update_fields is not None:
        if created:
            raise ValueError(f"Cannot save new {what} with update_fields: no pk on the API yet.")
        fields = [meta.pk_field if f == "pk" else f for f in update_fields]
        meta.check_fields(fields, "save(update_fields=...)", ValueError)
        if not fields:
            return  # like Django: an empty update_fields saves nothing, sends no signal
    elif not created and ctx.save_method == "PATCH":
        # Only what changed since it was read (possibly nothing: an empty PATCH still saves,
        # as Django's save() always does, and reads the object back).
        changed = obj._changed_fields()
        fields = [name for name in meta.field_names if name in changed]
    frozen = None if update_fields is None else frozenset(fields or ())
    sender = type(obj)
    yield Emit("pre_save", sender, {"instance": obj, "update_fields": frozen})
    if created:
        answer = yield from objects.create(
            ctx, meta.endpoint, obj._body(), what, exact=meta.exact_numbers
        )
    else:
        answer = yield from objects.update(
            ctx,
            meta.endpoint,
            obj.pk,
            obj._body(fields, pk_in_body=ctx.pk_in_body),
            what,
            partial=fields is not None,
            etag=obj.__dict__.get("_etag"),
            exact=meta.exact_numbers,
        )
    obj._apply(answer, fields)
    yield Emit("post_save", sender, {"instance": obj, "created": created, "update_fields": frozen})


def destroy(obj: Any, ctx: ServiceContext) -> Plan[tuple[int, dict[str, int]]]:
    """DELETE the object; its pk becomes None, as in Django."""
    meta = obj._meta
    if obj.pk is None:
        raise ValueError(
            f"{meta.object_name} object can't be deleted because its {meta.pk_field} "
            "attribute is set to None."
        )
    yield Emit("pre_delete", type(obj), {"instance": obj})
    yield from objects.destroy(ctx, meta.endpoint, obj.pk, etag=obj.__dict__.get("_etag"))
    yield Emit("post_delete", type(obj), {"instance": obj})
    obj._data.__dict__[meta.pk_field] = None  # works for frozen schemas too
    return 1, {meta.label: 1}


def refresh(obj: Any, ctx: ServiceContext) -> Plan[None]:
    """Read every field again (unsaved changes are dropped)."""
    meta = obj._meta
    answer = yield from objects.retrieve(
        ctx, meta.endpoint, obj.pk, meta.object_name, exact=meta.exact_numbers
    )
    if answer is None:
        raise obj.DoesNotExist(f"{meta.object_name} matching query does not exist.")
    obj.__dict__.pop("_changed", None)
    obj._apply(answer)
