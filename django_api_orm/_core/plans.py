"""Plans: generators that yield effects and compute a result from the responses.

A plan never does I/O itself. ``yield from ctx.send(...)`` hands one request (with retries)
to whichever driver runs the plan; ``Start``/``Await`` (see :mod:`.flow`) let the async
driver run sub-plans concurrently. The queryset's sync and async methods run the very same
plans; the reads that span pages live in :mod:`.walk`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from .breaker import CircuitBreaker
from .dialect import Dialect
from .messages import Plan, Request, Response
from .options import check_lookups, option
from .query import LOOKUPS
from .retry import RetryPolicy, send

__all__ = ["ServiceContext"]


def _per_endpoint(
    declared: Mapping[str, Mapping[str, frozenset[str]]],
) -> dict[str, dict[str, frozenset[str]]]:
    """``FIELD_LOOKUPS`` checked, keyed by endpoint without its slashes (``"books"``)."""
    check = check_lookups(LOOKUPS)
    found: dict[str, dict[str, frozenset[str]]] = {}
    for endpoint, fields in declared.items():
        for name, lookups in fields.items():
            try:
                check(lookups)
            except ValueError as error:
                raise ValueError(f"{endpoint!r}: {name!r}: {error}") from None
            found.setdefault(endpoint.strip("/"), {})[name] = frozenset(lookups)
    return found


@dataclass(frozen=True)
class ServiceContext:
    """Everything a plan needs to know about the service it talks to."""

    alias: str
    base_url: str
    dialect: Dialect
    retry: RetryPolicy
    breaker: CircuitBreaker | None = None
    max_concurrency: int = option(10, ge=1, doc="Requests one async operation runs at once.")
    max_pages: int = option(1000, ge=1, doc="Most page requests one evaluation may send.")
    read_ahead: bool = option(
        True, doc="Whether a sync page walk sends the next page's request ahead of time."
    )
    verify: Literal["raise", "drop", "off"] = option(
        "raise", doc="What a read does with a row that does not match the query."
    )
    save_method: Literal["PATCH", "PUT"] = option(
        "PATCH", doc="How save() updates: PATCH what changed, or PUT every field."
    )
    pk_in_body: bool = option(False, doc="Whether the body of an update carries the pk too.")
    field_lookups: Mapping[str, Mapping[str, frozenset[str]]] = option(
        factory=dict,
        check=_per_endpoint,
        doc="Per endpoint, the lookups each field supports.",
    )
    # (endpoint, field, lookup) this API was caught ignoring, for the life of the process.
    ignored: set[tuple[str, str, str]] = field(default_factory=set, compare=False)

    def send(self, request: Request) -> Plan[Response]:
        """Send with this service's retry policy and breaker; errors name the service."""
        return send(request, self.retry, service=self.alias, breaker=self.breaker)
