"""Errors in Django REST framework's shapes: ``{"detail": ...}`` and ``{"field": [msgs]}``."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError

from .lookups import FilterError

__all__ = ["FieldErrors", "install_error_handlers", "not_found", "server_error"]


class FieldErrors(Exception):
    """A 400 whose body maps field names to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _field_of(loc: list[Any]) -> str:
    # ninja locates errors as ("body", "payload", "title") or ("query", "page").
    names = [str(part) for part in loc[1:] if part != "payload"]
    return names[0] if names else "non_field_errors"


def _drf_messages(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        message = "This field is required." if error.get("type") == "missing" else error["msg"]
        errors.setdefault(_field_of(list(error.get("loc", ()))), []).append(message)
    return errors


def install_error_handlers(api: NinjaAPI) -> None:
    """Make ``api`` answer errors the way a DRF service would."""

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return api.create_response(request, _drf_messages(exc), status=400)

    @api.exception_handler(FieldErrors)
    def field_errors(request: HttpRequest, exc: FieldErrors) -> HttpResponse:
        return api.create_response(request, exc.errors, status=400)

    @api.exception_handler(FilterError)
    def bad_filter(request: HttpRequest, exc: FilterError) -> HttpResponse:
        return api.create_response(request, exc.errors, status=400)

    @api.exception_handler(Http404)
    def missing(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, {"detail": "Not found."}, status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(
            request, {"detail": "Authentication credentials were not provided."}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: URLs outside the API's routes answer JSON too."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``."""
    return JsonResponse({"detail": "A server error occurred."}, status=500)
