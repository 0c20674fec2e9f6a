"""URLs of the bookshop: HTML pages under ``/books/``, the async JSON API under ``/api/``."""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from catalog.api import api


def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """A file of an app's ``static/`` folder (Swagger UI's, for /api/docs), also with DEBUG
    off: fine for an example under uvicorn; a real deployment runs collectstatic and serves
    them with its web server or WhiteNoise. Read whole, so ASGI needs no sync iterator."""
    found = finders.find(path)
    if not isinstance(found, str) or ".." in Path(path).parts:
        raise Http404(path)
    kind, _ = mimetypes.guess_type(found)
    return HttpResponse(Path(found).read_bytes(), content_type=kind or "application/octet-stream")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:book-list", permanent=False)),
    path("books/", include("catalog.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    re_path(r"^static/(?P<path>.+)$", static_file),  # STATIC_URL
]

if settings.DEBUG_TOOLBAR:  # DJANGO_DEBUG=1 with django-debug-toolbar installed
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
