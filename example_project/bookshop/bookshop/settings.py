"""Settings of the bookshop, the Django project that uses django-api-orm.

Environment: ``BOOKS_API_URL`` and ``BOOKS_API_TOKEN`` (the remote books service),
``BOOKSHOP_DB`` (SQLite file for local models, default ``bookshop/db.sqlite3``),
``DJANGO_DEBUG=1`` (with django-debug-toolbar installed: the toolbar, and its panel of the
page's API requests) and ``API_ORM_LOG_LEVEL=DEBUG`` (log every remote request).
"""

import importlib.util
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-bookshop-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    # The admin at /admin/: remote books and authors next to local orders (catalog/admin.py).
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # django-ninja serves /api/docs (Swagger UI) from its own static files when it is an
    # installed app, and from a CDN otherwise: a blank page offline.
    "ninja",
    "django_api_orm",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # An unreachable books API: 503 with Retry-After in the HTML views, not a 500.
    "django_api_orm.middleware.UpstreamErrorMiddleware",
]

ROOT_URLCONF = "bookshop.urls"
ASGI_APPLICATION = "bookshop.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BOOKSHOP_DB") or str(BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Served by bookshop/urls.py (the example runs under uvicorn, with no web server in front).
STATIC_URL = "static/"
USE_TZ = True
TIME_ZONE = "UTC"

# The remote books service, reached through django-api-orm (see docs/settings.md).
API_ORM_SERVICES = {
    "default": {
        "BASE_URL": os.environ.get("BOOKS_API_URL", "http://127.0.0.1:8001/api/"),
        # LIBRARY BUG: AUTH_TOKEN "" passes validation, then every request fails with
        # "Illegal header value b'Bearer '"; `or None` keeps BOOKS_API_TOKEN= (empty) working.
        "AUTH_TOKEN": os.environ.get("BOOKS_API_TOKEN") or None,
        "TIMEOUT": 5,
    }
}

# django-debug-toolbar in DEBUG, with django-api-orm's panel: each page's outgoing requests
# (method, URL, status, attempts, time). Works for the async API's pages too (ASGI).
DEBUG_TOOLBAR = DEBUG and importlib.util.find_spec("debug_toolbar") is not None
if DEBUG_TOOLBAR:
    INSTALLED_APPS += ["debug_toolbar"]  # staticfiles is already there
    MIDDLEWARE.insert(0, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1"]
    from debug_toolbar.settings import PANELS_DEFAULTS

    DEBUG_TOOLBAR_PANELS = [*PANELS_DEFAULTS, "django_api_orm.debug_toolbar.APIRequestsPanel"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django_api_orm": {
            "handlers": ["console"],
            "level": os.environ.get("API_ORM_LOG_LEVEL", "WARNING"),
        },
    },
}
