"""Content types and permissions for remote models, as Django makes them for its own.

After ``migrate``, each remote model of a migrated app has a content type
(``app_label``, ``model_name``) and the permissions ``add_``, ``change_``, ``delete_`` and
``view_<model>``: groups and users get them in the admin like any model's, and
``user.has_perm("catalog.change_book")`` means what it says.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps

__all__ = ["create_permissions"]

ACTIONS = ("add", "change", "delete", "view")


def create_permissions(app_config: Any, using: str = "default", **kwargs: Any) -> None:
    """``post_migrate`` receiver: the content type and permissions of ``app_config``'s
    remote models."""
    if not (
        django_apps.is_installed("django.contrib.contenttypes")
        and django_apps.is_installed("django.contrib.auth")
    ):
        return
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from .options import all_models

    for model in all_models():
        meta = model._meta
        if meta.app_label != app_config.label:
            continue
        remote: Any = model  # ContentType reads only _meta.app_label and model_name
        content_type = ContentType.objects.db_manager(using).get_for_model(
            remote, for_concrete_model=False
        )
        for action in ACTIONS:
            Permission.objects.db_manager(using).get_or_create(
                content_type=content_type,
                codename=f"{action}_{meta.model_name}",
                defaults={"name": f"Can {action} {meta.verbose_name}"},
            )
