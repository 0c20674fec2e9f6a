"""URLs of the test process (views under test are added by the tests that need them)."""

from django.contrib import admin
from django.urls import include, path

from tests import toolbar_views
from tests.ninja_api import api

urlpatterns: list[object] = [
    path("ninja/", api.urls),
    path("toolbar/sync/", toolbar_views.sync_page),
    path("toolbar/async/", toolbar_views.async_page),
    path("toolbar/quiet/", toolbar_views.quiet_page),
    path("toolbar/down/", toolbar_views.down_page),
    path("toolbar/refused/", toolbar_views.refused_page),
    path("__debug__/", include("debug_toolbar.urls")),
    path("admin/", admin.site.urls),
]
