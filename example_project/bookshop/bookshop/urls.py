"""URLs of the bookshop: HTML pages under ``/books/``, the async JSON API under ``/api/``."""

from django.urls import include, path
from django.views.generic import RedirectView

from catalog.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="catalog:book-list", permanent=False)),
    path("books/", include("catalog.urls")),
    path("api/", api.urls),
]
