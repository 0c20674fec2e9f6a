"""``manage.py api_orm_check [--service ALIAS ...] [--lookups]``: can each service be reached,
does it accept our credentials, and (``--lookups``) does it honour the declared lookups?

Sends ``GET BASE_URL`` through the service's own client (its headers, token, timeouts and
retries) and prints one row per service. Exits non-zero when a service cannot be reached,
answers 5xx, or rejects the credentials (401/403). The token is never printed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import exceptions
from ..._core.messages import Request, Response
from ..._core.urls import redact_url
from ..._registry import services
from ..._transport import Service
from .._lookup_probe import probe_lookups

__all__ = ["Command"]

_HEADERS = ("SERVICE", "URL", "STATUS", "LATENCY", "HTTP", "AUTH", "BREAKER")
_LOOKUP_HEADERS = ("MODEL", "LOOKUP", "VALUE", "RESULT", "DETAIL")


@dataclass(frozen=True)
class Probe:
    """What one ``GET BASE_URL`` told about a service."""

    alias: str
    url: str
    status: str
    latency_ms: float
    http_version: str
    auth: str
    breaker: str
    ok: bool
    problem: str = ""

    def cells(self) -> tuple[str, ...]:
        """The row of the table."""
        latency = f"{self.latency_ms:.0f} ms"
        return (
            self.alias,
            self.url,
            self.status,
            latency,
            self.http_version,
            self.auth,
            self.breaker,
        )


def _auth(status: int | None, has_token: bool) -> str:
    if status == 401:
        return "rejected (401)"
    if status == 403:
        return "forbidden (403)"
    if status is None:
        return "-"
    return "ok" if has_token else "no token"


def _breaker(service: Service) -> str:
    breaker = service.breaker
    if not breaker.threshold:
        return "off"
    if breaker.state == "closed" and breaker.failures:
        return f"closed ({breaker.failures} failure(s))"
    return breaker.state


def probe(service: Service) -> Probe:
    """``GET`` the service's BASE_URL and judge the answer."""
    responses: list[Response] = []
    started = time.perf_counter()
    problem = ""
    try:
        service.run(
            service.context.send(Request("GET", "")),
            observe=lambda outcome: (
                responses.append(outcome) if isinstance(outcome, Response) else None
            ),
        )
    except exceptions.HTTPStatusError as error:  # reachable; a 404 root is fine
        if error.status_code >= 500 or error.status_code in (401, 403):
            problem = str(error)
    except exceptions.APIError as error:  # no response: connect error, timeout...
        problem = str(error)
    wall_ms = (time.perf_counter() - started) * 1000
    last = responses[-1] if responses else None
    status = last.status_code if last is not None else None
    has_token = service.settings.AUTH_TOKEN is not None
    return Probe(
        alias=service.alias,
        url=redact_url(service.settings.BASE_URL),
        status=str(status) if status is not None else "unreachable",
        latency_ms=last.elapsed * 1000 if last is not None else wall_ms,
        http_version=last.http_version if last is not None else "-",
        auth=_auth(status, has_token),
        breaker=_breaker(service),
        ok=not problem,
        problem=problem,
    )


def format_table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns separated by two spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


class Command(BaseCommand):
    """``manage.py api_orm_check``: reach each service, and probe its lookups on request."""

    help = (
        "Check that each API_ORM_SERVICES service answers GET BASE_URL and accepts its "
        "credentials; exits non-zero if one is down or rejects them."
    )
    # A diagnostic: it must run even while other system checks fail.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lookups",
            action="store_true",
            help="Also probe each declared lookup (_filter_lookups / FIELD_LOOKUPS) against "
            "the live API and report the ones it ignores. Sends GET requests only.",
        )
        parser.add_argument(
            "--service",
            action="append",
            dest="aliases",
            metavar="ALIAS",
            help="Check only this service (repeatable). Default: every configured service.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = self._services(options.get("aliases") or [])
        if not chosen:
            self.stdout.write("No services are configured in API_ORM_SERVICES.")
            return
        probes = [probe(service) for service in chosen]
        lines = format_table([_HEADERS, *(p.cells() for p in probes)])
        self.stdout.write(lines[0])
        for line, result in zip(lines[1:], probes, strict=True):
            self.stdout.write(line, self.style.SUCCESS if result.ok else self.style.ERROR)
        failed = [p for p in probes if not p.ok]
        for result in failed:
            self.stderr.write(f"{result.alias}: {result.problem}")
        if failed:
            names = ", ".join(p.alias for p in failed)
            raise CommandError(f"{len(failed)} of {len(probes)} service(s) failed: {names}")
        if options.get("lookups"):
            self._check_lookups(chosen)

    def _check_lookups(self, chosen: list[Service]) -> None:
        results = [r for service in chosen for r in probe_lookups(service)]
        if not results:
            self.stdout.write(
                "No declared lookups to probe: declare them with a model's _filter_lookups "
                "or the service's FIELD_LOOKUPS."
            )
            return
        self.stdout.write("")
        lines = format_table([_LOOKUP_HEADERS, *(r.cells() for r in results)])
        self.stdout.write(lines[0])
        for line, result in zip(lines[1:], results, strict=True):
            style = {"honoured": self.style.SUCCESS, "inconclusive": self.style.WARNING}
            self.stdout.write(line, style.get(result.result, self.style.ERROR))
        bad = [r for r in results if r.result in ("ignored", "error")]
        if bad:
            names = ", ".join(f"{r.model}.{r.lookup}" for r in bad)
            raise CommandError(f"{len(bad)} declared lookup(s) not honoured: {names}")

    def _services(self, aliases: list[str]) -> list[Service]:
        try:
            return self._select(aliases)
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None

    def _select(self, aliases: list[str]) -> list[Service]:
        if not aliases:
            return services.all()
        unknown = [alias for alias in aliases if alias not in services]
        if unknown:
            known = ", ".join(s.alias for s in services.all()) or "none"
            raise CommandError(f"Unknown service(s) {', '.join(unknown)}; configured: {known}.")
        return [services[alias] for alias in dict.fromkeys(aliases)]
