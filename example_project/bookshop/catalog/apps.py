"""App config: connects the signal receivers once the models are loaded."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """``catalog``."""

    name = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects post_save on Order)
