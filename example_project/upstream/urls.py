"""URLs of the upstream: everything lives under ``/api/``."""

from django.urls import path

from .api import api

handler404 = "upstream.errors.not_found"
handler500 = "upstream.errors.server_error"

urlpatterns = [path("api/", api.urls)]
