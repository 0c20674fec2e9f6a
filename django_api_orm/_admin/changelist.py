"""The admin's changelist over a remote queryset: one count and one page per page.

Django's ChangeList does the rest (list filters, sorting links, pagination, actions); this
subclass only replaces what assumes a database: how filters and ordering reach the query
(values typed by the schema, orderable fields only, no joins or DISTINCT).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError

from .. import exceptions

__all__ = ["RemoteChangeList", "search_keyword"]


class RemoteChangeList(ChangeList):
    """A ChangeList whose queryset is a remote model's (see :mod:`django_api_orm.admin`)."""

    def get_queryset(self, request: Any, exclude_parameters: Any = None) -> Any:
        """The rows: list filters, the remaining query-string lookups, ordering, search. A
        lookup the API cannot do (typed into the URL) is an IncorrectLookupParameters, as a
        bad lookup is for a database model."""
        (
            self.filter_specs,
            self.has_filters,
            remaining,
            _duplicates,
            self.has_active_filters,
        ) = self.get_filters(request)
        qs = self.root_queryset
        try:
            for spec in self.filter_specs:
                if exclude_parameters is None or spec.expected_parameters() != exclude_parameters:
                    spec.used_parameters = self._typed(spec.used_parameters)
                    narrowed = spec.queryset(request, qs)
                    if narrowed is not None:  # (a queryset's truth would fetch it)
                        qs = narrowed
            qs = qs.filter(**{key: values[-1] for key, values in self._typed(remaining).items()})
            qs = qs.order_by(*self.get_ordering(request, qs))
            qs, _duplicates = self.model_admin.get_search_results(request, qs, self.query)
            qs.explain()  # what the API cannot do is refused here, before any request
        except (
            FieldError,
            FieldDoesNotExist,
            ValidationError,
            ValueError,
            exceptions.NotSupportedError,
        ) as error:
            raise IncorrectLookupParameters(error) from error
        self.clear_all_filters_qs = self.get_query_string(
            new_params=remaining, remove=self.get_filters_params()
        )
        return qs

    def get_results(self, request: Any) -> None:
        """The count and the page, one request each; a filter the API was caught ignoring
        (rows that do not match) is an IncorrectLookupParameters, as a bad lookup is for a
        database model."""
        try:
            super().get_results(request)
            if (self.show_all and self.can_show_all) or not self.multi_page:
                # Every row on one page: one request for them all, not a walk of the
                # API's own (maybe smaller) pages.
                self.result_list = self.queryset[: self.result_count]
            len(self.result_list)  # the page, fetched (and kept) here rather than lazily
        except (exceptions.FilterIgnored, exceptions.NotSupportedError) as error:
            raise IncorrectLookupParameters(error) from error

    def _typed(self, params: dict[str, Any]) -> dict[str, Any]:
        """Query-string values as the schema's types (``"1"`` → True for a boolean)."""
        opts: Any = self.lookup_opts  # a remote model's ModelOptions
        typed = {}
        for key, values in params.items():
            name, _, lookup = key.partition("__")
            field = opts.get_field(name)
            items = values if isinstance(values, list) else [values]
            if lookup in ("isnull",):
                typed[key] = items
            elif lookup in ("in", "range"):
                typed[key] = [[field.to_python(v) for v in item] for item in items]
            else:
                typed[key] = [field.to_python(item) for item in items]
        return typed

    def get_ordering(self, request: Any, queryset: Any) -> list[Any]:
        """``?o=`` over the list columns, the admin's ordering, else the pk; only fields the
        API can order by."""
        opts: Any = self.lookup_opts
        default = self._get_default_ordering()  # type: ignore[attr-defined]
        ordering = list(self.model_admin.get_ordering(request) or default)
        if self.params.get(ORDER_VAR):
            ordering = []
            for part in self.params[ORDER_VAR].split("."):
                _none, prefix, index = part.rpartition("-")
                try:
                    field = self.get_ordering_field(self.list_display[int(index)])
                except (IndexError, ValueError):
                    continue  # an invalid ordering is skipped, as Django does
                if isinstance(field, str):
                    bare = field.removeprefix("-")
                    flip = field.startswith("-") != (prefix == "-")
                    ordering.append(("-" if flip else "") + bare)
        orderable = opts.orderable
        ordering = [
            name for name in ordering if orderable is None or name.lstrip("-") in orderable | {"pk"}
        ]
        pk = opts.pk_field
        stable = any(name.lstrip("-") in (pk, "pk") for name in ordering)
        if not stable and (orderable is None or pk in orderable):
            ordering.append("pk")  # a total order, so pages neither skip nor repeat rows
        return ordering


def search_keyword(name: str) -> str:
    """The lookup a ``search_fields`` entry sends: ``title__icontains``; ``^title``:
    ``title__istartswith``; ``=title``: ``title__iexact``."""
    lookup = {"^": "istartswith", "=": "iexact"}.get(name[:1], "icontains")
    return f"{name.lstrip('^=@')}__{lookup}"
