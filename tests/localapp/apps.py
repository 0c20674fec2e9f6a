"""App config of the local test app."""

from django.apps import AppConfig


class LocalAppConfig(AppConfig):
    name = "tests.localapp"
    label = "localapp"
    default_auto_field = "django.db.models.AutoField"
