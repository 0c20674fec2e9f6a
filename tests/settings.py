"""Django settings of the test process (the client side).

The upstream API runs in a subprocess on a free port; ``tests/conftest.py`` points
``API_ORM_SERVICES`` at it with ``override_settings`` once it is up.
"""

SECRET_KEY = "tests-not-secret"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",  # tests/test_admin.py
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # for django-debug-toolbar (tests/test_debug_toolbar.py)
    "debug_toolbar",
    "django_api_orm",
    "tests.localapp",
    "tests",  # remote models defined in the test modules belong to an installed app
]
STATIC_URL = "/static/"
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
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
# The toolbar's middleware is added by the tests that use it (override_settings).
DEBUG_TOOLBAR_PANELS = ["django_api_orm.debug_toolbar.APIRequestsPanel"]
DEBUG_TOOLBAR_CONFIG = {
    "SHOW_TOOLBAR_CALLBACK": "tests.toolbar_views.show_toolbar",
    "IS_RUNNING_TESTS": False,
}
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "tests.urls"
API_ORM_SERVICES = {
    # Replaced by the session fixture with the live upstream's address.
    "default": {"BASE_URL": "http://127.0.0.1:9/api/", "RETRY_DELAY": 0},
}
