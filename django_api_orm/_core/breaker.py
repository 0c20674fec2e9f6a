"""A circuit breaker per service: stop calling a service that keeps failing.

After ``threshold`` consecutive failed calls (a transport error, or a 5xx/429 once retries
are spent) the breaker opens: calls fail at once with
:class:`~django_api_orm.exceptions.CircuitOpenError`, sending nothing. After ``cooldown``
seconds one probe call is let through (half-open): its success closes the breaker, its
failure opens it again. ``threshold=0`` turns the breaker off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from .. import exceptions

__all__ = ["CircuitBreaker"]

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Thread-safe; shared by the sync client and every event loop of one service."""

    def __init__(
        self,
        threshold: int,
        cooldown: float,
        *,
        service: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.service = service
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at = 0.0
        self._state: State = "closed"

    @property
    def state(self) -> State:
        """``closed`` (calls flow), ``open`` (calls fail fast) or ``half-open`` (probing)."""
        return self._state

    @property
    def decided(self) -> bool:
        """False while a half-open probe is out and has not reported back."""
        return self._state != "half-open"

    @property
    def failures(self) -> int:
        """Consecutive failures counted so far."""
        return self._failures

    def before_call(self) -> None:
        """Raise CircuitOpenError unless a call may go out now."""
        if not self.threshold or self._state == "closed":
            return
        with self._lock:
            waited = self._clock() - self._opened_at
            if self._state == "open" and waited >= self.cooldown:
                self._state = "half-open"  # this caller is the probe
                return
            raise exceptions.CircuitOpenError(
                f"Circuit open after {self._failures} consecutive failures; "
                f"next probe in {max(0.0, self.cooldown - waited):.1f} s",
                service=self.service,
                retry_after=max(0.0, self.cooldown - waited),
            )

    def record_success(self) -> None:
        """A call got a usable answer: close the breaker."""
        if self._failures or self._state != "closed":
            with self._lock:
                self._failures = 0
                self._state = "closed"

    def record_failure(self) -> None:
        """A call failed for the service's sake: count it, and open at the threshold."""
        if not self.threshold:
            return
        with self._lock:
            self._failures += 1
            if self._state == "half-open" or self._failures >= self.threshold:
                self._state = "open"
                self._opened_at = self._clock()
