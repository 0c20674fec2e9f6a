"""System checks of an APIModelAdmin: what the admin would ask that the API cannot answer
fails at startup, naming the option and the field."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.checks import ModelAdminChecks
from django.core import checks
from django.db import models

__all__ = ["APIModelAdminChecks"]

# Field types whose list filter needs no "every distinct value" query.
_FILTERABLE = (models.BooleanField, models.DateField)


class APIModelAdminChecks(ModelAdminChecks):
    """Django's ModelAdmin checks, with the ones a REST API changes."""

    def check(self, admin_obj: Any, **kwargs: Any) -> list[checks.CheckMessage]:
        """Django's checks, then list_filter, search_fields, ordering and list_editable."""
        return [
            *super().check(admin_obj, **kwargs),
            *self._check_api_list_filter(admin_obj),
            *self._check_api_search(admin_obj),
            *self._check_api_ordering(admin_obj),
            *self._check_api_list_editable(admin_obj),
            *self._check_api_date_hierarchy(admin_obj),
        ]

    def _check_form(self, obj: Any) -> list[checks.CheckMessage]:
        from .forms import APIModelForm

        if not issubclass(obj.form, APIModelForm):
            return [_error(obj, "form", "must be a subclass of APIModelForm", "E001")]
        return []

    def _check_api_list_filter(self, obj: Any) -> list[checks.CheckMessage]:
        meta = obj.model._meta
        errors: list[checks.CheckMessage] = []
        for item in obj.list_filter:
            name = item[0] if isinstance(item, list | tuple) else item
            if not isinstance(name, str):
                continue  # a SimpleListFilter class says itself what it sends
            field = meta.get_field(name)
            if not (isinstance(field, _FILTERABLE) or field.choices):
                errors.append(
                    _error(
                        obj,
                        "list_filter",
                        f"names {name!r}: listing its values would need every row; filter "
                        "booleans, dates or fields with choices, or write a SimpleListFilter",
                        "E002",
                    )
                )
        return errors

    def _check_api_search(self, obj: Any) -> list[checks.CheckMessage]:
        if len(obj.search_fields) > 1 and not obj.search_param:
            return [
                _error(
                    obj,
                    "search_fields",
                    f"names {list(obj.search_fields)}: searching several fields needs the "
                    "API to OR them; set search_param to the API's search parameter (e.g. "
                    "'search') or name one field",
                    "E003",
                )
            ]
        return []

    def _check_api_ordering(self, obj: Any) -> list[checks.CheckMessage]:
        orderable = obj.model._meta.orderable
        if orderable is None:
            return []
        refused = [
            name
            for name in obj.ordering or ()
            if name.lstrip("-") not in orderable | {"pk", obj.model._meta.pk_field}
        ]
        if refused:
            return [
                _error(obj, "ordering", f"names {refused}, which the API cannot order by", "E004")
            ]
        return []

    def _check_api_list_editable(self, obj: Any) -> list[checks.CheckMessage]:
        if obj.list_editable:
            return [
                _error(
                    obj,
                    "list_editable",
                    "is not supported for a remote model (edit rows in the change form)",
                    "E005",
                )
            ]
        return []

    def _check_api_date_hierarchy(self, obj: Any) -> list[checks.CheckMessage]:
        if obj.date_hierarchy:
            return [
                _error(
                    obj,
                    "date_hierarchy",
                    "needs the distinct dates of every row, which a REST API cannot give; "
                    "use a date list_filter",
                    "E006",
                )
            ]
        return []


def _error(obj: Any, option: str, message: str, code: str) -> checks.Error:
    return checks.Error(
        f"{type(obj).__name__}.{option} {message}.",
        obj=type(obj),
        id=f"django_api_orm.admin.{code}",
    )
