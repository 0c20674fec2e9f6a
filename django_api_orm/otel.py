"""OpenTelemetry spans for remote calls and their HTTP attempts.

``pip install "django-api-orm[otel]"`` (``opentelemetry-api``; configure an SDK as usual),
then either set ``API_ORM_OPENTELEMETRY = True`` in the Django settings or call
:func:`instrument` at startup::

    import django_api_orm.otel

    django_api_orm.otel.instrument()            # the global tracer provider
    django_api_orm.otel.instrument(tracer_provider=provider)

Each call of a queryset or model method (``Book.objects.get``, ``book.asave``, a whole
``iterator()`` or ``async for``) is a span of kind INTERNAL named after it; each HTTP attempt
it makes, retries included, is a child span of kind CLIENT named after the HTTP method, with
the semantic-convention attributes ``http.request.method``, ``url.full`` (secret-looking
query values masked, no userinfo), ``url.scheme``, ``server.address``, ``server.port``,
``http.response.status_code``, ``http.request.resend_count`` (on retries) and ``error.type``.
Headers (so tokens) and error messages are never recorded. Every transport is covered: the
attempts come from the ``api_request`` signal, which both drivers send.

Off (the default), nothing is subscribed: no signal receiver, no span, no cost beyond one
truth test per call.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "django_api_orm.otel needs opentelemetry-api: pip install 'django-api-orm[otel]'"
    ) from error

from . import _observe

__all__ = ["SETTING_NAME", "instrument", "is_instrumented", "uninstrument"]

#: The Django setting that turns the instrumentation on at startup.
SETTING_NAME = "API_ORM_OPENTELEMETRY"
_SCOPE = "django_api_orm"


class _Tracing(_observe.Observer):
    def __init__(self, tracer_provider: Any = None) -> None:
        from . import __version__

        self.tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)

    def call_started(self, call: _observe.Call) -> None:
        span = self.tracer.start_span(
            call.name,
            kind=trace.SpanKind.INTERNAL,
            start_time=call.started_ns,
            attributes={
                "django_api_orm.service": call.service,
                "django_api_orm.model": call.model,
                "django_api_orm.method": call.method,
            },
        )
        # A stream's span is never made current: its caller runs between the pages.
        token = None if call.streaming else otel_context.attach(trace.set_span_in_context(span))
        call.state[self] = (span, token)

    def call_ended(self, call: _observe.Call, error: BaseException | None) -> None:
        span, token = call.state.pop(self)
        try:
            if error is not None:
                span.set_attribute("error.type", _error_type(error))
                span.set_status(trace.StatusCode.ERROR, type(error).__name__)
            span.end()
        finally:
            if token is not None:
                otel_context.detach(token)

    def attempt(self, attempt: _observe.Attempt) -> None:
        state = attempt.call.state.get(self) if attempt.call is not None else None
        # The call's span, else whatever is current (a request span...).
        parent = trace.set_span_in_context(state[0]) if state is not None else None
        span = self.tracer.start_span(
            attempt.method,
            context=parent,
            kind=trace.SpanKind.CLIENT,
            start_time=attempt.started_ns,
            attributes=_attempt_attributes(attempt),
        )
        failure = _attempt_error(attempt)
        if failure is not None:
            span.set_attribute("error.type", failure)
            span.set_status(trace.StatusCode.ERROR)
        span.end(end_time=attempt.ended_ns)


def _attempt_attributes(attempt: _observe.Attempt) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": attempt.method,
        "url.full": attempt.url,  # redacted by _observe
        "django_api_orm.service": attempt.service,
    }
    try:
        parts = urlsplit(attempt.url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is not None and parts.hostname:
        attributes["url.scheme"] = parts.scheme
        attributes["server.address"] = parts.hostname
        attributes["server.port"] = port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    if attempt.status_code is not None:
        attributes["http.response.status_code"] = attempt.status_code
    if attempt.number > 1:
        attributes["http.request.resend_count"] = attempt.number - 1
    return attributes


def _attempt_error(attempt: _observe.Attempt) -> str | None:
    """``error.type`` of an HTTP client span: the exception's type, or a 4xx/5xx status."""
    if attempt.error is not None:
        return _error_type(attempt.error)
    if attempt.status_code is not None and attempt.status_code >= 400:
        return str(attempt.status_code)
    return None


def _error_type(error: BaseException) -> str:
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"


_tracing: _Tracing | None = None


def instrument(tracer_provider: Any = None) -> None:
    """Start recording spans (again, with ``tracer_provider`` if given); idempotent."""
    global _tracing
    uninstrument()
    _tracing = _Tracing(tracer_provider)
    _observe.subscribe(_tracing)


def uninstrument() -> None:
    """Stop recording spans."""
    global _tracing
    if _tracing is not None:
        _observe.unsubscribe(_tracing)
        _tracing = None


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return _tracing is not None


def instrument_from_settings() -> None:
    """Follow ``API_ORM_OPENTELEMETRY`` (read at startup and when a test overrides it)."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    value = getattr(settings, SETTING_NAME, False)
    if not isinstance(value, bool):
        raise ImproperlyConfigured(f"{SETTING_NAME} must be True or False, got {value!r}.")
    if value:
        instrument()
    else:
        uninstrument()
