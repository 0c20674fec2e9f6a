"""Django's admin for remote models: ``admin.site.register(Book, APIModelAdmin)``.

The changelist sends one count and one page per page; the change, add and delete views
write through the API, and a 400's field errors show on the form's fields. Permissions,
the admin log and history work as for any model: the remote model gets its content type
and its four permissions (see :mod:`django_api_orm._permissions`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from ._admin.actions import delete_selected
from ._admin.changelist import RemoteChangeList, search_keyword
from ._admin.checks import APIModelAdminChecks
from ._admin.forms import APIModelForm, form_for

__all__ = ["APIModelAdmin", "APIModelForm"]


class APIModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin for an :class:`~django_api_orm.APIModel`.

    Everything of ModelAdmin that a REST API can honour works as usual (``list_display``,
    ``list_per_page``, ``ordering``, ``fields``/``fieldsets``, ``readonly_fields``,
    actions, permissions). ``search_fields`` names one field (``icontains``; ``^title``:
    ``istartswith``; ``=title``: ``iexact``), or any number when ``search_param`` names
    the API's own search parameter. ``list_filter`` takes booleans, dates, fields with
    choices and SimpleListFilter classes. What the API cannot do fails the system checks.
    """

    form = APIModelForm  # type: ignore[assignment]
    checks_class = APIModelAdminChecks
    #: The API's own search parameter (e.g. ``"search"`` for DRF's SearchFilter).
    search_param: ClassVar[str | None] = None
    # The "N total" next to a filtered count would cost one more request per page, and
    # facet counts one per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def __init__(self, model: type[Any], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        # The site's "delete selected", taking a remote queryset: an action of the model
        # admin's own wins over the site's of the same name.
        if self.actions is not None and "delete_selected" in dict(admin_site.actions):
            self.actions = [*self.actions, delete_selected]

    def get_changelist(self, request: Any, **kwargs: Any) -> type[RemoteChangeList]:
        """The changelist over a remote queryset."""
        return RemoteChangeList

    def get_changelist_instance(self, request: Any) -> Any:
        """The changelist; a lookup the API cannot do also says why in an error message
        (Django then shows the list without the query string's filters)."""
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as error:
            messages.error(request, str(error))
            raise

    def get_form(  # type: ignore[override]
        self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[APIModelForm]:
        """A form over the editable schema fields (``fields``, else all but the pk)."""
        meta = self.model._meta
        readonly = set(self.get_readonly_fields(request, obj))
        names: list[Any] = list(
            kwargs.get("fields")
            or self.fields
            or [name for name in meta.field_names if name != meta.pk_field]
        )
        excluded = set(self.get_exclude(request, obj) or ()) | readonly
        fields: dict[str, Any] = {}
        for name in names:
            if name in excluded or name not in meta.fields:
                continue
            formfield = self.formfield_for_dbfield(meta.get_field(name), request)
            if formfield is not None:
                fields[name] = formfield
        return form_for(self.model, self.form, fields)

    def save_form(self, request: Any, form: Any, change: bool) -> Any:
        """The object the form saved (the API wrote it when the form was validated)."""
        return form.save(commit=False)

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        """Nothing left to do: the form's validation was the API's write."""

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> tuple[Any, bool]:
        """``search_param=term`` when declared, else one field's lookup."""
        term = search_term.strip()
        if not term or not self.search_fields:
            return queryset, False
        if self.search_param:
            return queryset.params(**{self.search_param: term}), False
        return queryset.filter(**{search_keyword(self.search_fields[0]): term}), False

    def get_deleted_objects(self, objs: Any, request: Any) -> tuple[Any, ...]:
        """The objects a deletion removes (the API's own cascade cannot be seen)."""
        objs = list(objs)
        opts = self.model._meta
        perms_needed = set() if self.has_delete_permission(request) else {str(opts.verbose_name)}
        listed = [self._deleted_line(obj) for obj in objs]
        return listed, {str(opts.verbose_name_plural): len(objs)}, perms_needed, []

    def _deleted_line(self, obj: Any) -> Any:
        opts = self.model._meta
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=(quote(obj.pk),),
            )
        except NoReverseMatch:
            return f"{capfirst(opts.verbose_name)}: {obj}"
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)
