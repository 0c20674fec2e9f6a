"""``api_orm_check --lookups``: does the live API honour each declared lookup?

For every remote model of a service with declared lookups (``_filter_lookups`` or the
service's ``FIELD_LOOKUPS``), one page of rows is read as a sample; then, for each declared
lookup, a value taken from a sample row is sent (``title__startswith`` gets the first
letters of a title, ``year__gt`` a year, ...) and every row of the answer is checked against
it. Only GET requests are sent: nothing is written.

A lookup is ``honoured`` when the answer matches and is narrower than the sample,
``ignored`` when a row of the answer does not match (the API dropped the filter), and
``inconclusive`` when the sample cannot tell (every sample row matches the value anyway).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import exceptions
from .._core.evaluate import Unverifiable, holds, text_of
from .._core.query import Condition
from .._transport import Service
from ..models import APIModel, all_models

__all__ = ["LookupProbe", "probe_lookups"]

SAMPLE = 20


@dataclass(frozen=True)
class LookupProbe:
    """What one probe found."""

    model: str
    lookup: str
    value: str
    result: str  # "honoured", "ignored", "inconclusive", "error"
    detail: str = ""

    def cells(self) -> tuple[str, ...]:
        """The row of the table."""
        return (self.model, self.lookup, self.value, self.result, self.detail)


def _probe_values(lookup: str, value: Any) -> list[Any]:
    """Values for ``lookup`` that the sample row holding ``value`` satisfies (the probe
    keeps the one the fewest sample rows satisfy)."""
    text = text_of(value)
    half = max(1, len(text) // 2)
    if lookup in ("contains", "icontains"):
        found = [text[len(text) // 4 : len(text) // 4 + half], text]
    elif lookup in ("startswith", "istartswith"):
        found = [text[:half], text]
    elif lookup in ("endswith", "iendswith"):
        found = [text[-half:], text]
    elif lookup == "iexact":
        found = [text]
    elif lookup == "in":
        return [[value]]
    elif lookup == "range":
        return [(value, value)]
    elif lookup == "isnull":
        return [value is None]
    else:
        return [value]  # exact, gt/gte/lt/lte: the sample's own value
    if lookup.startswith("i"):
        found = [t.swapcase() for t in found]
    return found


def _models_of(service: Service) -> list[type[APIModel]]:
    return [
        model
        for model in all_models()
        if model._meta.bound_service is None and model._meta.service_alias == service.alias
    ]


def probe_lookups(
    service: Service, models: Iterable[type[APIModel]] | None = None
) -> list[LookupProbe]:
    """Probe every declared lookup of ``service``'s models (GET requests only)."""
    found: list[LookupProbe] = []
    for model in _models_of(service) if models is None else models:
        declared = model._meta.query_context(service).field_lookups
        if not declared:
            continue
        try:
            sample = list(model.objects.using(service.alias).all()[:SAMPLE])
        except exceptions.APIError as error:
            found.append(LookupProbe(model.__name__, "*", "-", "error", str(error)))
            continue
        for field, lookups in sorted(declared.items()):
            for lookup in sorted(lookups):
                found.append(_probe_one(service, model, sample, field, lookup))
    return found


def _probe_one(
    service: Service, model: type[APIModel], sample: list[Any], field: str, lookup: str
) -> LookupProbe:
    name = f"{field}__{lookup}"
    values = [getattr(row, field) for row in sample]
    candidates = [v for v in values if v is not None] or values
    if not candidates:
        return LookupProbe(model.__name__, name, "-", "inconclusive", "no sample rows")
    # Prefer the value that the fewest sample rows satisfy: the answer should then shrink.
    scored = []
    for value in candidates:
        for probe in _probe_values(lookup, value):
            condition = Condition(field, lookup, probe)
            try:
                matching = sum(holds(condition, v) for v in values)
            except Unverifiable:
                continue
            scored.append((matching, value, condition))
    if not scored:
        return LookupProbe(model.__name__, name, "-", "inconclusive", "values not comparable")
    matching, value, condition = min(scored, key=lambda item: item[0])
    shown = repr(condition.value)
    if matching == len(values):
        return LookupProbe(model.__name__, name, shown, "inconclusive", "every sample row matches")
    query = model.objects.using(service.alias).filter(**{name: condition.value})
    try:
        answer = list(query[:SAMPLE])
    except exceptions.FilterIgnored as error:
        return _ignored(model, name, shown, error.pk)
    except exceptions.APIError as error:
        return LookupProbe(model.__name__, name, shown, "error", str(error))
    for row in answer:  # a service with VERIFY="off" returns them: check here too
        if not holds(condition, getattr(row, field)):
            return _ignored(model, name, shown, row.pk)
    if not answer:
        return LookupProbe(model.__name__, name, shown, "ignored", "no row, though one matches")
    return LookupProbe(model.__name__, name, shown, "honoured", f"{len(answer)} row(s)")


def _ignored(model: type[APIModel], name: str, shown: str, pk: Any) -> LookupProbe:
    return LookupProbe(model.__name__, name, shown, "ignored", f"answered pk={pk!r}, no match")
