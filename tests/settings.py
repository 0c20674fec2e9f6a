"""Django settings of the test process (the client side).

The upstream API runs in a subprocess on a free port; ``tests/conftest.py`` points
``API_ORM_SERVICES`` at it with ``override_settings`` once it is up.
"""

SECRET_KEY = "tests-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_api_orm",
    "tests.localapp",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "tests.urls"
API_ORM_SERVICES = {
    # Replaced by the session fixture with the live upstream's address.
    "default": {"BASE_URL": "http://127.0.0.1:9/api/", "RETRY_DELAY": 0},
}
