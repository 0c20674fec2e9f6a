"""Settings of the example upstream API (``DJANGO_SETTINGS_MODULE=upstream.settings``).

Environment: ``UPSTREAM_DB`` (SQLite file, default ``upstream/db.sqlite3``) and
``UPSTREAM_TOKEN`` (when set, every API call needs ``Authorization: Bearer <token>``).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "example-upstream-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True

INSTALLED_APPS = ["upstream"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "upstream.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("UPSTREAM_DB") or str(BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

UPSTREAM_TOKEN = os.environ.get("UPSTREAM_TOKEN") or None
PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
