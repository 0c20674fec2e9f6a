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
from .retry import RetryPolicy, send

__all__ = ["ServiceContext"]


@dataclass(frozen=True)
class ServiceContext:
    """Everything a plan needs to know about the service it talks to."""

    alias: str
    base_url: str
    dialect: Dialect
    retry: RetryPolicy
    max_concurrency: int = 10
    max_pages: int = 1000
    breaker: CircuitBreaker | None = None
    verify: Literal["raise", "drop", "off"] = "raise"
    save_method: Literal["PATCH", "PUT"] = "PATCH"
    pk_in_body: bool = False
    # FIELD_LOOKUPS: endpoint -> field -> the lookups the API supports there.
    field_lookups: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    # (endpoint, field, lookup) this API was caught ignoring, for the life of the process.
    ignored: set[tuple[str, str, str]] = field(default_factory=set, compare=False)

    def send(self, request: Request) -> Plan[Response]:
        """Send with this service's retry policy and breaker; errors name the service."""
        return send(request, self.retry, service=self.alias, breaker=self.breaker)
