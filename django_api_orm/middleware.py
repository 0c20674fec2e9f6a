"""Answer upstream failures in plain Django views with 503 or 502 instead of a 500.

::

    MIDDLEWARE = [
        ...,
        "django_api_orm.middleware.UpstreamErrorMiddleware",
    ]

The middleware only has a ``process_exception`` hook, so it sees what views raise (sync and
async views, under WSGI and ASGI alike) and nothing else:

- no usable answer (:class:`~django_api_orm.exceptions.RequestError`: connection failures,
  timeouts, an open circuit breaker) and an upstream that rate-limits this application
  (:class:`~django_api_orm.exceptions.RateLimited`): **503** with ``Retry-After``, the
  breaker's or the upstream's hint when there is one, else :attr:`retry_after`;
- an upstream 5xx (:class:`~django_api_orm.exceptions.ServerError`), an answer that is not
  what was promised (:class:`~django_api_orm.exceptions.ResponseError`) and the upstream
  refusing this application's credentials (``AuthenticationError``, ``PermissionDenied``):
  **502**.

Everything else passes through untouched: ``DoesNotExist`` (the shortcuts turn it into
``Http404``; elsewhere it stays the 500 it is in Django), the other 4xx errors and
``NotSupportedError`` (bugs of the calling code, which Django's debug page should show).
The body is a fixed sentence (JSON ``{"detail": ...}`` when the client asks for JSON, else
plain text), never the exception's message, URL or credentials; the exception itself is
logged on the ``django_api_orm`` logger (WARNING), with its URL redacted as in every error.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import sync_and_async_middleware

from . import exceptions

__all__ = ["UpstreamErrorMiddleware"]

logger = logging.getLogger("django_api_orm")

UNAVAILABLE = "The upstream service is unavailable; try again later."
BAD_GATEWAY = "The upstream service failed or sent an invalid response."

_UNAVAILABLE_ERRORS = (exceptions.RequestError, exceptions.RateLimited)
_BAD_GATEWAY_ERRORS = (
    exceptions.ServerError,
    exceptions.ResponseError,
    exceptions.AuthenticationError,
    exceptions.PermissionDenied,
)


def _status(exception: BaseException) -> int | None:
    """503, 502 or None (not ours to answer) for one exception."""
    if isinstance(exception, _UNAVAILABLE_ERRORS):
        return 503
    if isinstance(exception, _BAD_GATEWAY_ERRORS):
        return 502
    return None


def _answerable(exception: BaseException) -> tuple[int, BaseException] | None:
    """The status and the exception to report, also for an ExceptionGroup (a TaskGroup of
    remote calls) whose every member is an upstream failure: then the gravest (503 first)."""
    if isinstance(exception, BaseExceptionGroup):
        leaves = _leaves(exception)
        found = [(status, leaf) for leaf in leaves if (status := _status(leaf)) is not None]
        if len(found) != len(leaves):
            return None  # something else failed too: not an upstream outage to paper over
        return max(found, key=lambda item: item[0])
    status = _status(exception)
    return None if status is None else (status, exception)


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exception in group.exceptions:
        if isinstance(exception, BaseExceptionGroup):
            leaves += _leaves(exception)
        else:
            leaves.append(exception)
    return leaves


@sync_and_async_middleware
class UpstreamErrorMiddleware:
    """Turn the library's upstream failures raised by views into 503/502 responses.

    Subclass to change :attr:`retry_after` (seconds, for 503s without a hint) or
    :meth:`render` (for instance to render a template).
    """

    #: ``Retry-After`` of a 503 when neither the breaker nor the upstream gave a time.
    retry_after: float = 5

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
            # Django awaits a coroutine hook as it is, and runs a sync one in a thread.
            self.process_exception = self._aprocess_exception  # type: ignore[method-assign,assignment]

    def __call__(self, request: HttpRequest) -> Any:
        # In async mode this returns get_response's coroutine, and Django awaits it.
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The response for an upstream failure, or None to let Django handle ``exception``."""
        return self._answer(request, exception)

    async def _aprocess_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        return self._answer(request, exception)

    def _answer(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        answer = _answerable(exception)
        if answer is None:
            return None
        status, cause = answer
        logger.warning(
            "%s %s: upstream failure answered with %s: %r",
            request.method,
            request.path,
            status,
            cause,
        )
        response = self.render(request, status, UNAVAILABLE if status == 503 else BAD_GATEWAY)
        if status == 503:
            hint = getattr(cause, "retry_after", None)
            seconds = self.retry_after if hint is None else hint
            response["Retry-After"] = str(max(1, math.ceil(seconds)))
        return response

    def render(self, request: HttpRequest, status: int, message: str) -> HttpResponse:
        """The response body: JSON ``{"detail": message}`` when the client accepts JSON and
        not HTML (an API client, ``fetch``), else plain text."""
        if request.accepts("application/json") and not request.accepts("text/html"):
            return JsonResponse({"detail": message}, status=status)
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
