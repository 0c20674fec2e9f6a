"""URLs of the bookshop: HTML pages under ``/books/``, the async JSON API under ``/api/``."""

from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView

from catalog.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:book-list", permanent=False)),
    path("books/", include("catalog.urls")),
    path("api/", api.urls),
]

if settings.DEBUG_TOOLBAR:  # DJANGO_DEBUG=1 with django-debug-toolbar installed
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
