"""System checks of an APIModelAdmin: what the admin would ask that the API cannot answer
fails at startup, naming the option and the field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib.admin import filters
from django.contrib.admin.checks import ModelAdminChecks
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, FieldError, ImproperlyConfigured
from django.db import models

from .. import exceptions
from ..models import AsyncAPIModel
from .changelist import search_keyword

__all__ = ["APIModelAdminChecks"]

# Field types whose list filter needs no "every distinct value" query.
_FILTERABLE = (models.BooleanField, models.DateField)
# Django's list filters whose query-string lookups are known (others say their own).
_KNOWN_FILTERS = (
    filters.BooleanFieldListFilter,
    filters.ChoicesFieldListFilter,
    filters.DateFieldListFilter,
)


class APIModelAdminChecks(ModelAdminChecks):
    """Django's ModelAdmin checks, with the ones a REST API changes."""

    def check(self, admin_obj: Any, **kwargs: Any) -> list[checks.CheckMessage]:
        """Django's checks, then what the API cannot do: inlines, list_filter,
        search_fields, ordering, list_editable, date_hierarchy, the lookups the filters and
        the search send; and that the model belongs to an installed app (only the first
        error for an AsyncAPIModel, which the sync admin cannot use)."""
        if issubclass(admin_obj.model, AsyncAPIModel):
            name = admin_obj.model.__name__
            return [
                checks.Error(
                    f"{type(admin_obj).__name__} registers {name}, an AsyncAPIModel: its "
                    "unprefixed methods are awaitable and Django's admin calls them "
                    "synchronously. Register an APIModel over the same schema and endpoint.",
                    obj=type(admin_obj),
                    id="django_api_orm.admin.E008",
                )
            ]
        return [
            *super().check(admin_obj, **kwargs),
            *self._check_api_app(admin_obj),
            *self._check_api_list_filter(admin_obj),
            *self._check_api_search(admin_obj),
            *self._check_api_ordering(admin_obj),
            *self._check_api_list_editable(admin_obj),
            *self._check_api_date_hierarchy(admin_obj),
            *self._check_api_lookups(admin_obj),
        ]

    def _check_inlines(self, obj: Any) -> list[checks.CheckMessage]:
        # Django's own inline checks would follow a ForeignKey to the parent's database
        # table (and fail with an AttributeError on a remote model's _meta).
        if obj.inlines:
            return [
                _error(
                    obj,
                    "inlines",
                    "is not supported for a remote model: an inline edits rows joined to "
                    "the parent in one database, and a RemoteForeignKey is a plain column. "
                    "Show the related rows in a readonly field, or give the local model its "
                    "own admin with a list_filter on the key",
                    "E009",
                )
            ]
        return []

    def _check_api_app(self, obj: Any) -> list[checks.CheckMessage]:
        from django.apps import apps

        meta = obj.model._meta
        try:
            apps.get_app_config(meta.app_label)
        except LookupError:
            pass
        else:
            return []
        return [
            checks.Error(
                f"{type(obj).__name__} registers {meta.object_name}, whose module "
                f"{obj.model.__module__!r} is in no installed app (the admin lists models "
                "by app): define the model in a module of an app in INSTALLED_APPS.",
                obj=type(obj),
                id="django_api_orm.admin.E010",
            )
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

    def _check_api_lookups(self, obj: Any) -> list[checks.CheckMessage]:
        """The lookups the list filters and the search send, each asked of the model's
        queryset (``explain()``: the dialect, ``FIELD_LOOKUPS``, ``_filterable_fields`` and
        ``_filter_lookups`` refuse what the API cannot do, before any request)."""
        errors: list[checks.CheckMessage] = []
        refused: set[tuple[str, str]] = set()  # one error per option and field
        manager = obj.model._default_manager
        for option, name, keyword, value in _sent_lookups(obj):
            if (option, name) in refused:
                continue
            try:
                manager.filter(**{keyword: value}).explain()
            except FieldError as error:
                refused.add((option, name))
                errors.append(_error(obj, option, f"names {name!r}, but {error}", "E007"))
            except exceptions.NotSupportedError as error:
                refused.add((option, name))
                hint = (
                    "write a SimpleListFilter sending what the API supports"
                    if option == "list_filter"
                    else "set search_param to the API's own search parameter"
                )
                errors.append(
                    _error(
                        obj,
                        option,
                        f"names {name!r}, but {error} Declare the lookup "
                        f"(_filter_lookups / FIELD_LOOKUPS) if the API has it, or {hint}",
                        "E007",
                    )
                )
            except ImproperlyConfigured:
                return []  # a service not configured: api_orm.E001/E002 say so
        return errors


def _sent_lookups(obj: Any) -> Iterator[tuple[str, str, str, Any]]:
    """(option, field, lookup keyword, a sample value) for each lookup the changelist can
    send: those of Django's boolean, choices and date list filters, and the search's."""
    meta = obj.model._meta
    for item in obj.list_filter:
        name, filter_class = (item[0], item[1]) if isinstance(item, list | tuple) else (item, None)
        if not isinstance(name, str) or not (
            filter_class is None or issubclass(filter_class, _KNOWN_FILTERS)
        ):
            continue
        try:
            field = meta.get_field(name)
        except FieldDoesNotExist:
            continue  # Django's admin.E116 names it
        for keyword, value in _filter_lookups(name, field):
            yield "list_filter", name, keyword, value
    if obj.search_fields and not obj.search_param:
        keyword = search_keyword(obj.search_fields[0])
        yield "search_fields", keyword.split("__")[0], keyword, "text"


def _filter_lookups(name: str, field: Any) -> list[tuple[str, Any]]:
    """What Django's list filter for ``field`` puts in the query string."""
    null = [(f"{name}__isnull", True)] if field.null else []
    if isinstance(field, models.BooleanField):
        return [(f"{name}__exact", True), *null]
    if field.choices:
        return [(f"{name}__exact", field.flatchoices[0][0])]
    if isinstance(field, models.DateField):
        day: Any = dt.date(2000, 1, 1)
        if isinstance(field, models.DateTimeField):
            day = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        return [(f"{name}__gte", day), (f"{name}__lt", day), *null]
    return []


def _error(obj: Any, option: str, message: str, code: str) -> checks.Error:
    return checks.Error(
        f"{type(obj).__name__}.{option} {message}.",
        obj=type(obj),
        id=f"django_api_orm.admin.{code}",
    )
