"""App config for the upstream's single app (label ``library``)."""

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """The ``library`` app: one ``Book`` model."""

    name = "tests.upstream"
    label = "library"
    default_auto_field = "django.db.models.AutoField"
