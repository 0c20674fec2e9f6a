"""Bearer-token authentication: the only valid token is ``test-token``."""

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

TOKEN = "test-token"
EXPECTED = f"Bearer {TOKEN}"


class TokenUser:
    """The single authenticated principal."""

    is_authenticated = True
    is_anonymous = False
    pk = id = 1
    username = "token-user"


def authorization_ok(header: str | None) -> bool:
    """True if the request has no Authorization header or carries the right token."""
    return header is None or header == EXPECTED


class BearerTokenAuthentication(BaseAuthentication):
    """No header: anonymous. Header present: must be ``Bearer test-token`` or 401."""

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        if header != EXPECTED:
            raise AuthenticationFailed("Invalid token.")
        return TokenUser(), TOKEN

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
