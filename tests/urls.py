"""URLs of the test process (views under test are added by the tests that need them)."""

from django.urls import path

from tests.ninja_api import api

urlpatterns: list[object] = [path("ninja/", api.urls)]
