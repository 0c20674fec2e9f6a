"""Django model fields that describe a remote model's schema fields to Django's admin.

They are never bound to a table: the admin reads their ``verbose_name``, ``formfield()``,
``to_python()`` and type (booleans show as icons, dates as dates) through
``Model._meta.get_field()``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models
from pydantic.fields import FieldInfo

__all__ = ["build_field"]

_BY_TYPE: list[tuple[type, type[models.Field[Any, Any]]]] = [
    (bool, models.BooleanField),  # before int: bool is an int
    (int, models.BigIntegerField),
    (float, models.FloatField),
    (decimal.Decimal, models.DecimalField),
    (dt.datetime, models.DateTimeField),  # before date: a datetime is a date
    (dt.date, models.DateField),
    (dt.time, models.TimeField),
    (uuid.UUID, models.UUIDField),
]


def build_field(model: type[Any], name: str, info: FieldInfo, *, primary_key: bool) -> Any:
    """The Django field that stands for schema field ``name`` of ``model``."""
    annotation = info.annotation
    args = [a for a in getattr(annotation, "__args__", ()) or () if a is not type(None)]
    kind = args[0] if len(args) == 1 else annotation
    nullable = annotation is None or type(None) in (getattr(annotation, "__args__", ()) or ())
    field_class: type[models.Field[Any, Any]] = models.CharField
    for python_type, candidate in _BY_TYPE:
        if isinstance(kind, type) and issubclass(kind, python_type):
            field_class = candidate
            break
    options: dict[str, Any] = {
        "null": nullable,
        "blank": nullable or not info.is_required() or field_class is models.BooleanField,
        "primary_key": primary_key,
        "help_text": info.description or "",
    }
    if info.title:
        options["verbose_name"] = info.title
    if field_class is models.DecimalField:
        options.update(max_digits=40, decimal_places=_places(info))
    if field_class is models.CharField:  # a one-line input, as long as the schema allows
        options["max_length"] = _max_length(info)
    field = field_class(**options)
    field.set_attributes_from_name(name)
    field.model = model
    return field


def _max_length(info: FieldInfo) -> int | None:
    for item in info.metadata:
        value = getattr(item, "max_length", None)
        if value is not None:
            return int(value)
    return None


def _places(info: FieldInfo) -> int:
    for item in info.metadata:
        value = getattr(item, "decimal_places", None)
        if value is not None:
            return int(value)
    return 10
