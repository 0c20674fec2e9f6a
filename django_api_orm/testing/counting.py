"""``assert_num_requests``: Django's ``assertNumQueries`` for API requests."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from .. import signals

__all__ = ["CapturedRequest", "assert_num_requests", "capture_requests"]

_ids = itertools.count()


@dataclass(frozen=True)
class CapturedRequest:
    """One HTTP attempt as the ``api_request`` signal reported it (no headers, no token)."""

    service: str
    method: str
    url: str
    status_code: int | None
    duration: float
    error: BaseException | None

    def __str__(self) -> str:
        outcome = str(self.status_code) if self.error is None else type(self.error).__name__
        return f"[{self.service}] {self.method} {self.url} -> {outcome}"


class capture_requests:  # lower case: used like a function
    """Record the HTTP requests (retries included) made inside the block in ``.requests``.

    ``service`` records only that alias::

        with capture_requests() as captured:
            Book.objects.count()
        assert captured.requests[0].method == "GET"
    """

    def __init__(self, service: str | None = None) -> None:
        self.service = service
        self.requests: list[CapturedRequest] = []
        self._lock = threading.Lock()
        self._uid = f"django_api_orm.testing.capture_requests.{next(_ids)}"

    def _record(
        self,
        sender: Any,
        *,
        service: str,
        method: str,
        url: str,
        status_code: int | None,
        duration: float,
        error: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        if self.service is not None and service != self.service:
            return
        with self._lock:
            self.requests.append(
                CapturedRequest(service, method, url, status_code, duration, error)
            )

    def __enter__(self) -> Self:
        self.requests = []
        signals.api_request.connect(self._record, weak=False, dispatch_uid=self._uid)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        signals.api_request.disconnect(dispatch_uid=self._uid)


class assert_num_requests(capture_requests):  # lower case: used like a function
    """Fail unless exactly ``num`` HTTP requests (retries count) are made inside the block.

    ``service`` counts only that alias. The captured requests are in ``.requests``::

        with assert_num_requests(2):
            list(Book.objects.all()[:10])
            Book.objects.count()
    """

    def __init__(self, num: int, service: str | None = None) -> None:
        super().__init__(service)
        self.num = num

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc, tb)
        if exc_type is None and len(self.requests) != self.num:
            raise AssertionError(self.message())

    def message(self) -> str:
        """The failure message: counts, then every captured request, numbered."""
        made = len(self.requests)
        where = f" to {self.service!r}" if self.service else ""
        lines = [f"{made} != {self.num} : {made} API requests{where} made, {self.num} expected"]
        if self.requests:
            lines.append("Captured requests were:")
            lines += [f"{i}. {r}" for i, r in enumerate(self.requests, 1)]
        return "\n".join(lines)
