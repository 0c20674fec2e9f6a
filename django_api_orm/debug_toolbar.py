"""A django-debug-toolbar panel listing the page's outgoing API requests.

``pip install "django-api-orm[debug-toolbar]"``, then add the panel::

    DEBUG_TOOLBAR_PANELS = [
        ...,  # the toolbar's own panels
        "django_api_orm.debug_toolbar.APIRequestsPanel",
    ]

One row per request: the call that sent it (``Book.objects.get``), method, URL (secret
query values masked), status, attempts (retries included), total time, error, and a note
when the library refused a wrong answer (a filter the API ignored, looping pages, a lookup
refused before sending). Rows are
collected per page: the panel sets a context variable around the view, so requests of other
pages served concurrently (threads or tasks) never show up. Sync and async views alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

try:
    from debug_toolbar.panels import Panel
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "django_api_orm.debug_toolbar needs django-debug-toolbar: "
        "pip install 'django-api-orm[debug-toolbar]'"
    ) from error

from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from . import _observe, exceptions

__all__ = ["APIRequestsPanel"]


@dataclass
class _Row:
    call: str
    service: str
    method: str
    url: str
    status: int | None
    attempts: int
    time_ms: float
    error: str
    note: str = ""
    call_key: int = 0


class _Recorder:
    """The rows of one page; attempts of one request (a retry) update its row."""

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self._open: dict[tuple[int, str, str, str], _Row] = {}
        # Rows name their call by id(): the calls are kept alive so no id is reused.
        self._calls: list[Any] = []

    def add(self, attempt: _observe.Attempt) -> None:
        self._calls.append(attempt.call)
        key = (id(attempt.call), attempt.service, attempt.method, attempt.url)
        time_ms = attempt.duration * 1000
        error = "" if attempt.error is None else _describe(attempt.error)
        row = self._open.get(key) if attempt.number > 1 else None
        if row is None:
            row = _Row(
                call=attempt.call.name if attempt.call is not None else "",
                service=attempt.service,
                method=attempt.method,
                url=attempt.url,
                status=attempt.status_code,
                attempts=1,
                time_ms=time_ms,
                error=error,
                call_key=id(attempt.call),
            )
            self.rows.append(row)
            self._open[key] = row
            return
        row.attempts = attempt.number
        row.status = attempt.status_code
        row.time_ms += time_ms
        row.error = error

    def refused(self, call: _observe.Call, error: BaseException) -> None:
        """Note on the call's rows why the library refused a wrong answer (or, refused
        before sending, a row of its own)."""
        note = _refusal(error)
        if not note:
            return
        self._calls.append(call)
        mine = [row for row in self.rows if row.call_key == id(call)]
        for row in mine:
            row.note = note
        if not mine:
            self.rows.append(
                _Row(call.name, call.service, "—", "", None, 0, 0.0, "", note, id(call))
            )


def _refusal(error: BaseException) -> str:
    """The note for a refused answer: verification, pagination, an unsupported query."""
    if isinstance(error, exceptions.FilterIgnored):
        return f"verification: the API ignored {error.lookup} (pk={error.pk!r}); nothing written"
    if isinstance(error, exceptions.TooManyPages):
        return f"pagination: over MAX_PAGES={error.limit}"
    if isinstance(error, exceptions.PaginationError):
        return "pagination: pages repeat rows or links"
    if isinstance(error, exceptions.NotSupportedError):
        return f"refused before sending: {error}"
    return ""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


_recorder: ContextVar[_Recorder | None] = ContextVar("django_api_orm_toolbar", default=None)


class _Recording(_observe.Observer):
    """Feeds the page's recorder, if the current context has one."""

    def attempt(self, attempt: _observe.Attempt) -> None:
        recorder = _recorder.get()
        if recorder is not None:
            recorder.add(attempt)

    def call_ended(self, call: _observe.Call, error: BaseException | None) -> None:
        recorder = _recorder.get()
        if recorder is not None and error is not None:
            recorder.refused(call, error)


_RECORDING = _Recording()


class APIRequestsPanel(Panel):
    """Outgoing API requests of the page: call, method, URL, status, attempts, time, error,
    note."""

    is_async = True
    title = "API requests"
    template = "django_api_orm/debug_toolbar/requests.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recording = _Recorder()

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()  # type: ignore[no-untyped-call]
        count = len(stats.get("requests", ()))
        label = ngettext("%(count)d request", "%(count)d requests", count) % {"count": count}
        return f"{label} in {stats.get('total_ms', 0.0):.1f} ms"

    def enable_instrumentation(self) -> None:
        _observe.subscribe(_RECORDING)

    def disable_instrumentation(self) -> None:
        _observe.unsubscribe(_RECORDING)

    def process_request(self, request: HttpRequest) -> Any:
        token = _recorder.set(self._recording)
        try:
            response = self.get_response(request)
        finally:
            _recorder.reset(token)
        if inspect.isawaitable(response):  # an ASGI request: record while it is awaited
            return self._recorded(response)
        return response

    async def _recorded(self, response: Awaitable[HttpResponse]) -> HttpResponse:
        token = _recorder.set(self._recording)
        try:
            return await response
        finally:
            _recorder.reset(token)

    def generate_stats(self, request: HttpRequest, response: HttpResponse) -> None:
        rows = [asdict(row) for row in self._recording.rows]
        total = sum(row["time_ms"] for row in rows)
        self.record_stats({"requests": rows, "total_ms": total})  # type: ignore[no-untyped-call]
