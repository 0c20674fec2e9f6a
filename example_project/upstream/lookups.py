"""django-filter style query parameters, validated into keyword arguments for ``.filter()``.

``?year__gte=1990&author__in=Mort,Dune&isbn__isnull=true`` becomes
``{"year__gte": 1990, "author__in": ["Mort", "Dune"], "isbn__isnull": True}``: only fields and
lookups on the allow-list pass, and each value is converted by the model field it targets.

Stricter than django-filter on purpose: an unknown parameter or a value that does not convert
(``year__gte=``, ``id__in=``) is a 400, where django-filter would ignore it and return every row.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models

__all__ = ["FilterError", "allowed_lookups", "filter_kwargs", "ordering_fields"]

TEXT_LOOKUPS = frozenset(
    {
        "exact",
        "iexact",
        "in",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
    }
)
NUMBER_LOOKUPS = frozenset({"exact", "in", "gt", "gte", "lt", "lte", "range"})
BOOLEAN_LOOKUPS = frozenset({"exact"})
KEY_LOOKUPS = frozenset({"exact", "in"})
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class FilterError(Exception):
    """Bad query parameters; ``errors`` maps each parameter to its messages (DRF style)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def allowed_lookups(model: type[models.Model], names: Iterable[str]) -> dict[str, frozenset[str]]:
    """The lookups each of ``names`` accepts, from its field type (``isnull`` if nullable)."""
    allowed = {}
    for name in names:
        field = model._meta.get_field(name)
        if isinstance(field, models.BooleanField):
            lookups = BOOLEAN_LOOKUPS
        elif isinstance(field, models.ForeignKey):
            lookups = KEY_LOOKUPS
        elif isinstance(field, models.IntegerField):  # AutoFields included
            lookups = NUMBER_LOOKUPS
        else:
            lookups = TEXT_LOOKUPS
        allowed[name] = lookups | {"isnull"} if field.null else lookups
    return allowed


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise DjangoValidationError(f"“{text}” is not a valid boolean.")


def _convert(field: models.Field, text: str) -> Any:
    if isinstance(field, models.BooleanField):
        return _parse_bool(text)
    return field.to_python(text)


def _value(field: models.Field, lookup: str, text: str) -> Any:
    if lookup == "isnull":
        return _parse_bool(text)
    if lookup in {"in", "range"}:
        items = [_convert(field, part) for part in text.split(",")]
        if lookup == "range" and len(items) != 2:
            raise DjangoValidationError("Enter two values separated by a comma.")
        return items
    return _convert(field, text)


def filter_kwargs(
    model: type[models.Model],
    allowed: Mapping[str, frozenset[str]],
    params: Mapping[str, str],
    reserved: Iterable[str] = (),
) -> dict[str, Any]:
    """``{"field__lookup": value}`` for ``params``; raises FilterError listing every problem."""
    kwargs: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    skip = set(reserved)
    for key, text in params.items():
        if key in skip:
            continue
        name, _, lookup = key.partition("__")
        lookup = lookup or "exact"
        if name not in allowed or lookup not in allowed[name]:
            errors[key] = ["Unknown filter."]
            continue
        try:
            kwargs[key] = _value(model._meta.get_field(name), lookup, text)
        except DjangoValidationError as error:
            errors[key] = list(error.messages)
    if errors:
        raise FilterError(errors)
    return kwargs


def ordering_fields(raw: str | None, allowed: Iterable[str], default: str = "id") -> list[str]:
    """``"-year,title"`` → ``["-year", "title", "id"]``: allow-listed, with a stable tiebreak."""
    names = [part.strip() for part in (raw or "").split(",") if part.strip()]
    known = set(allowed)
    unknown = [name for name in names if name.lstrip("-") not in known]
    if unknown:
        raise FilterError({"ordering": [f"Cannot order by {', '.join(unknown)}."]})
    if default not in {name.lstrip("-") for name in names}:
        names.append(default)
    return names
