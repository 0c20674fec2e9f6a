"""Optional bearer-token check: with ``UPSTREAM_TOKEN`` set, every API call must carry it."""

import hmac

from django.conf import settings
from django.http import HttpRequest

__all__ = ["bearer_token"]


def bearer_token(request: HttpRequest) -> str | None:
    """The caller's identity for django-ninja, or None (→ 401) when the token is wrong."""
    expected: str | None = settings.UPSTREAM_TOKEN
    if not expected:
        return "anonymous"
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode()):
        return "token"
    return None
