"""When to send a request again, and how long to wait first: a small pure policy.

Retried: idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS, or a POST with an
``Idempotency-Key``) that failed to connect, lost their connection, or got 429, 502, 503 or
504. Never retried: timeouts after the request was sent, other statuses, non-idempotent
requests. The wait is exponential with full jitter (``delay * 2**attempt``, scaled by a
random factor in [0.5, 1]), or the server's ``Retry-After``; each wait is capped at
``max_wait`` and the whole exchange at ``max_elapsed`` seconds; no retry starts past the
call's deadline (``timeout``), which each ``Send`` carries to the driver.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import exceptions
from .breaker import CircuitBreaker
from .messages import Plan, Request, Response, Send, SendResult, Sleep
from .responses import error_for, parse_retry_after
from .urls import redact_url

__all__ = ["RETRY_STATUSES", "RetryPolicy", "send"]

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; ``max_retries=0`` turns retries off."""

    max_retries: int = 3
    delay: float = 1.0
    max_wait: float = 30.0
    max_elapsed: float = 60.0
    # The call's deadline (seconds from the first attempt): every attempt, every wait and
    # every body ends within it. None: only max_elapsed bounds the waits.
    timeout: float | None = None
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def should_retry(self, request: Request, outcome: SendResult) -> bool:
        """Whether this outcome of ``request`` is worth another attempt."""
        if not request.idempotent:
            return False
        if isinstance(outcome, Response):
            return outcome.status_code in RETRY_STATUSES
        return isinstance(outcome, exceptions.RequestError) and outcome.retryable

    def wait(self, attempt: int, outcome: SendResult) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (``attempt`` counts from 0)."""
        hinted = parse_retry_after(outcome.headers) if isinstance(outcome, Response) else None
        if hinted is None:
            hinted = self.delay * (2**attempt) * (0.5 + self.random() / 2)
        return min(hinted, self.max_wait)


def send(
    request: Request,
    policy: RetryPolicy,
    *,
    service: str = "",
    breaker: CircuitBreaker | None = None,
) -> Plan[Response]:
    """Send ``request`` until it succeeds or the policy gives up; return a 2xx/3xx Response.

    Error statuses become typed :class:`~django_api_orm.exceptions.HTTPStatusError` and
    transport failures :class:`~django_api_orm.exceptions.RequestError`.
    """
    if breaker is not None:
        breaker.before_call()
    try:
        return (yield from _attempts(request, policy, service, breaker))
    finally:
        # A half-open probe that ended without an outcome (cancelled, or refused by the
        # driver, e.g. too large) must not leave the breaker half-open for ever.
        if breaker is not None and breaker.state == "half-open" and not breaker.decided:
            breaker.record_failure()


def _attempts(
    request: Request, policy: RetryPolicy, service: str, breaker: CircuitBreaker | None
) -> Plan[Response]:
    started = policy.clock()
    attempt = 0
    deadline = policy.timeout
    while True:
        left = None if deadline is None else deadline - (policy.clock() - started)
        outcome: SendResult = yield Send(request, left)
        if attempt < policy.max_retries and policy.should_retry(request, outcome):
            pause = policy.wait(attempt, outcome)
            ends = policy.clock() - started + pause
            if ends <= policy.max_elapsed and (deadline is None or ends < deadline):
                attempt += 1
                yield Sleep(pause)
                continue
        if isinstance(outcome, exceptions.ResponseError):
            raise outcome  # refused by the driver; the breaker's finally handles a probe
        if breaker is not None:
            failed = isinstance(outcome, exceptions.RequestError) or (
                outcome.status_code >= 500 or outcome.status_code == 429
            )
            breaker.record_failure() if failed else breaker.record_success()
        if isinstance(outcome, exceptions.RequestError):
            if service and not outcome.service:
                outcome.service = service
            raise outcome
        if outcome.status_code >= 400:
            error = error_for(outcome, service=service)
            error.attempts = attempt + 1
            raise error
        if 300 <= outcome.status_code < 400 and outcome.status_code != 304:
            location = redact_url(outcome.headers.get("location", "?"))
            raise exceptions.ResponseError(
                f"HTTP {outcome.status_code} redirect to {location!r}, not followed "
                "(FOLLOW_REDIRECTS is off for this service)",
                method=outcome.method,
                url=redact_url(outcome.url),
                service=service,
                status_code=outcome.status_code,
            )
        return outcome
