"""Django model fields that describe a remote model's schema fields to Django's admin.

They are never bound to a table: the admin reads their ``verbose_name``, ``formfield()``,
``to_python()``, ``choices`` and type (booleans show as icons, dates as dates) through
``Model._meta.get_field()``. A ``Literal[...]`` field, or an Enum whose members equal their
values (StrEnum, IntEnum, ``class Colour(str, Enum)``, Django's TextChoices), has choices:
a select on the form, a choices list filter, labels in the list.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

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
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    args = [a for a in members if a is not type(None)]
    kind = args[0] if len(args) == 1 else annotation  # Optional[X] (X | None): X
    nullable = annotation is None or type(None) in members
    choices = _choices(kind)
    if get_origin(kind) is Literal:
        nullable = nullable or None in get_args(kind)
        kinds = {type(value) for value, _label in choices or ()}
        kind = kinds.pop() if len(kinds) == 1 else str
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
    if choices:
        options["choices"] = choices
    if field_class is models.DecimalField:
        options.update(max_digits=40, decimal_places=_places(info))
    if field_class is models.CharField:  # a one-line input, as long as the schema allows
        options["max_length"] = _max_length(info)
    field = field_class(**options)
    field.set_attributes_from_name(name)
    field.model = model
    return field


def _choices(kind: Any) -> list[tuple[Any, str]] | None:
    """The choices of a Literal, or of an Enum whose members equal their values (a plain
    Enum's members do not, so its values would not find their labels)."""
    if get_origin(kind) is Literal:
        return [(value, str(value)) for value in get_args(kind) if value is not None]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        members = list(kind)
        if members and all(member == member.value for member in members):
            return [(member.value, _label(member)) for member in members]
    return None


def _label(member: enum.Enum) -> str:
    """A Django Choices member's label, else its name as words (``IN_PRINT``: "In print")."""
    label = getattr(member, "label", None)
    return str(label) if label is not None else member.name.replace("_", " ").capitalize()


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
