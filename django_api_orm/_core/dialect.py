"""Dialects: how one API spells filters, ordering and pages, and how it shapes lists.

The default, :class:`DRFDialect`, speaks Django REST framework with django-filter:
``year__gte=1990``, ``title__in=a,b``, ``ordering=-year,title``, ``page=2&page_size=50``
(or ``limit/offset``, or cursor ``next`` links), and reads ``{count, next, previous,
results}`` envelopes as well as bare JSON lists. :class:`LinkHeaderDialect` reads bare JSON
arrays paginated by an RFC 8288 ``Link: <...>; rel="next"`` header with the total in a header
such as ``X-Total-Count``.

Every knob is a keyword of :class:`Dialect` (and a service setting, see docs/settings.md);
override methods for anything the knobs cannot say.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NoReturn
from urllib.parse import urljoin

from ..exceptions import FieldError, NotSupportedError, UnsafeRequestError
from .conditions import AND, OR, Condition, Where
from .options import check_lookups, option
from .query import LOOKUPS, EmptyResult, FieldSpec, RemoteQuery
from .urls import detail_path

__all__ = ["DRFDialect", "Dialect", "LinkHeaderDialect", "Page", "QueryContext"]

Params = list[tuple[str, str]]
Pagination = Literal["page", "offset", "cursor", "none"]

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r'rel\s*=\s*"?([^";,]+)"?', re.IGNORECASE)


def parse_link_header(value: str) -> dict[str, str]:
    """``<https://x/?page=2>; rel="next", <...>; rel="last"`` → ``{"next": ..., "last": ...}``."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        url, params = match.groups()
        for rel in _REL.findall(params):
            for name in rel.split():
                links.setdefault(name.lower(), url.strip())
    return links


def _dig(data: Any, path: str | None) -> Any:
    """``_dig({"meta": {"total": 3}}, "meta.total")`` → 3; None when any step is missing."""
    if not path:
        return None
    for key in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


@dataclass(frozen=True, slots=True)
class Page:
    """One list response: its rows, the total if the API told it, and where the next page is.

    ``next_url`` is a link (or cursor URL) to follow; ``next_page`` a page number, for APIs
    whose ``next`` is a number (json-server 1.0). ``complete`` is True when the response
    holds every row (a bare, unpaginated list).
    """

    items: list[Any]
    total: int | None
    next_url: str | None
    complete: bool = False
    next_page: int | None = None


@dataclass(frozen=True, slots=True)
class QueryContext:
    """Who asks, for error messages and field checks: service, model, fields, pk field."""

    service: str
    model: str
    fields: Mapping[str, FieldSpec]
    pk: str
    filterable: frozenset[str] | None = None
    orderable: frozenset[str] | None = None
    # Per-field lookups the API supports (the model's `_filter_lookups`, or FIELD_LOOKUPS).
    field_lookups: Mapping[str, frozenset[str]] | None = None
    # (field, lookup) pairs this API was caught ignoring: refused before any request.
    refused: frozenset[tuple[str, str]] = frozenset()
    # Read JSON numbers as Decimal (the schema has Decimal fields).
    exact_numbers: bool = False
    # Optional fast path: JSON bytes -> (rows, total, next) in one validation, or None to
    # use the generic route (decode, then parse_page). Set by the model layer.
    fast_page: Callable[[bytes], tuple[list[Any], int | None, str | int | None] | None] | None = (
        None
    )
    # The same for one object: JSON bytes -> the schema instance, or None (generic route).
    fast_row: Callable[[bytes], Any] | None = None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(eq=False, repr=False, kw_only=True)
class Dialect:
    """Base class of dialects: the knobs below cover most APIs; override methods for more.

    Each knob is a keyword (``Dialect(pagination="offset")``) and a service setting of the
    same name in UPPERCASE (``"PAGINATION": "offset"``): see :mod:`.options`.

    Requests: :meth:`condition_params` (one lookup), :meth:`ordering_params`,
    :meth:`page_params`. Responses: :meth:`parse_page`. Nothing here sends a request.
    """

    name: ClassVar[str] = "base"

    pagination: Pagination = option("page", doc="How lists are paged.")
    page_size: int | None = option(
        None, ge=1, doc="The page size asked for on every list request; None: the server's."
    )
    max_page_size: int = option(1000, ge=1, doc="The largest page a slice asks for.")
    page_param: str = option("page", doc="Query parameter of the page number.")
    first_page: int = option(1, ge=0, doc="Number of the first page.")
    page_size_param: str | None = option(
        "page_size", doc="Query parameter of the page size; None when the API has none."
    )
    offset_param: str = option("offset", doc="Offset parameter (offset pagination).")
    limit_param: str = option("limit", doc="Limit parameter (offset pagination).")
    items_key: str | None = option("results", doc="Key (dotted) of the rows in an envelope.")
    total_key: str | None = option("count", doc="Key (dotted) of the total in an envelope.")
    next_key: str | None = option("next", doc="Key (dotted) of the next page in an envelope.")
    total_header: str | None = option(None, doc="Response header holding the total.")
    ordering_param: str = option("ordering", doc="Query parameter of order_by().")
    ordering_asc: str = option("{field}", doc="Template of an ascending field.")
    ordering_desc: str = option("-{field}", doc="Template of a descending field.")
    lookup_format: str = option(
        "{field}__{lookup}", doc="Template of the parameter name of a non-exact lookup."
    )
    value_format: str = option("{value}", doc="Template of the value of a non-exact lookup.")
    lookup_names: Mapping[str, str] = option(
        factory=dict, doc="Lookups renamed in parameter names; '' marks one unsupported."
    )
    lookups: frozenset[str] = option(
        LOOKUPS, check=check_lookups(LOOKUPS), doc="The lookups the API understands."
    )
    list_format: Literal["comma", "repeat"] = option(
        "comma", doc="How __in and __range values are sent: comma-joined or repeated."
    )
    trailing_slash: bool = option(True, doc="Whether detail URLs end in '/'.")
    expand_param: str | None = option(
        None, doc="Query parameter asking the API to nest related rows (select_related())."
    )
    related_lookups: bool = option(
        False, doc="Whether the API filters across relations (relation__field__lookup)."
    )

    def __post_init__(self) -> None:
        self.lookup_names = dict(self.lookup_names or {})
        self.lookups = frozenset(self.lookups)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} pagination={self.pagination!r}>"

    # -- requests --------------------------------------------------------------------------

    def query_params(self, query: RemoteQuery, ctx: QueryContext) -> Params:
        """Filters, exclusions and ordering as query parameters (no paging)."""
        params = self.where_params(query.where, ctx)
        if query.ordering:
            params += self.ordering_params(query.ordering, ctx)
        params += list(query.extra_params)
        if query.expand and self.expand_param:
            params.append((self.expand_param, ",".join(query.expand)))
        return params

    def related_params(self, keyword: str, value: Any) -> Params:
        """``filter(book__title="Dune")`` as the API's own ``book__title=Dune`` (only when
        :attr:`related_lookups` says the API filters across relations)."""
        if isinstance(value, Iterable) and not isinstance(value, str | bytes):
            return [(keyword, ",".join(self.format_scalar(item) for item in value))]
        return [(keyword, self.format_scalar(value))]

    def where_params(self, where: Where, ctx: QueryContext) -> Params:
        """A conjunction of conditions as parameters; what cannot be said raises."""
        conditions: list[Condition] = []
        for condition, negated in self.conjuncts(where, ctx):
            self.check_supported(condition, ctx)
            if condition.field == ctx.pk and condition.lookup == "isnull":
                if condition.value != negated:
                    raise EmptyResult  # like Django: pk=None matches nothing, sends nothing
                continue  # pk__isnull=False holds for every row
            if negated:
                condition = self.negate(condition, ctx)
            if condition.lookup not in self.lookups | {"ne"} or self.lookup_names.get(
                condition.lookup, condition.lookup
            ) in ("", None):
                self.unsupported(ctx, f"the lookup {condition.field}__{condition.lookup}")
            conditions.append(condition)
        params: Params = []
        for condition in self.merge(conditions, ctx):
            params += self.condition_params(condition, ctx)
        return params

    def check_supported(self, condition: Condition, ctx: QueryContext) -> None:
        """Refuse, before any request, a lookup the model declares unsupported or the API
        was caught ignoring."""
        field, lookup = condition.field, condition.lookup
        if field == ctx.pk and lookup == "isnull":
            return
        if ctx.filterable is not None and field not in ctx.filterable:
            self.unsupported(ctx, f"filtering on {field!r} (not in _filterable_fields)")
        if ctx.field_lookups is not None:
            allowed = ctx.field_lookups.get(field)
            if allowed is None or lookup not in allowed:
                known = ", ".join(sorted(allowed or ())) or "none"
                self.unsupported(
                    ctx, f"the lookup {field}__{lookup} (declared for {field!r}: {known})"
                )
        if (field, lookup) in ctx.refused:
            raise NotSupportedError(
                f"{ctx.model} on service {ctx.service!r}: the API was caught ignoring "
                f"{field}__{lookup} (it returned rows that do not match), so it is refused "
                "for the rest of the process. Declare the field's lookups "
                "(_filter_lookups / FIELD_LOOKUPS) to match what the API supports."
            )

    def merge(self, conditions: list[Condition], ctx: QueryContext) -> list[Condition]:
        """One condition per (field, lookup): most APIs keep only one value of a repeated
        parameter, so ``year__gte=1995`` AND ``year__gte=1990`` is sent as ``year__gte=1995``.
        Contradictions match nothing (:class:`EmptyResult`); what cannot be merged raises."""
        merged: dict[tuple[str, str], Condition] = {}
        for condition in conditions:
            key = (condition.field, condition.lookup)
            previous = merged.get(key)
            merged[key] = (
                condition if previous is None else self._merge_two(previous, condition, ctx)
            )
        return list(merged.values())

    def _merge_two(self, a: Condition, b: Condition, ctx: QueryContext) -> Condition:
        if a.value == b.value:
            return a
        try:
            if a.lookup in ("gt", "gte"):
                return a if a.value >= b.value else b
            if a.lookup in ("lt", "lte"):
                return a if a.value <= b.value else b
        except TypeError:
            pass
        else:
            if a.lookup == "exact":
                raise EmptyResult  # year=1990 AND year=1991
            if a.lookup == "in":
                common = [v for v in a.value if v in set(b.value)]
                if not common:
                    raise EmptyResult
                return Condition(a.field, "in", common)
        self.unsupported(ctx, f"two different {a.field}__{a.lookup} conditions")

    def condition_params(self, condition: Condition, ctx: QueryContext) -> Params:
        """One condition as parameters, e.g. ``("year__gte", "1990")``.

        The key is :attr:`lookup_format` (``exact`` stays the bare field name unless
        :attr:`lookup_names` renames it) and the value :attr:`value_format`.
        """
        lookup = self.lookup_names.get(condition.lookup, condition.lookup)
        bare = condition.lookup == "exact" and "exact" not in self.lookup_names
        spec = ctx.fields.get(condition.field)
        field = spec.param if spec else condition.field
        key = field if bare else self.lookup_format.format(field=field, lookup=lookup)
        values = self.format_values(condition, ctx)
        if not bare:
            values = [self.value_format.format(lookup=lookup, value=v) for v in values]
        return [(key, value) for value in values]

    def ordering_params(self, ordering: Sequence[str], ctx: QueryContext) -> Params:
        """``("-year", "title")`` → ``ordering=-year,title``; with ``{field}`` in
        :attr:`ordering_param` one parameter per field (``$sort[year]=-1&$sort[title]=1``)."""
        names = []
        for item in ordering:
            descending = item.startswith("-")
            name = item.lstrip("-")
            if name == "?":
                self.unsupported(ctx, "random ordering ('?')")
            name = ctx.pk if name == "pk" else name
            if name not in ctx.fields:
                choices = ", ".join(sorted(ctx.fields))
                raise FieldError(
                    f"Cannot resolve keyword {name!r} into field. Choices are: {choices}"
                )
            if ctx.orderable is not None and name not in ctx.orderable:
                self.unsupported(ctx, f"ordering by {name!r} (not in _orderable_fields)")
            template = self.ordering_desc if descending else self.ordering_asc
            names.append(template.format(field=ctx.fields[name].param))
        if "{field}" in self.ordering_param:  # one parameter per field: $sort[year]=-1
            fields = [
                ctx.fields[ctx.pk if n.lstrip("-") == "pk" else n.lstrip("-")].param
                for n in ordering
            ]
            return [
                (self.ordering_param.format(field=field), value)
                for field, value in zip(fields, names, strict=True)
            ]
        return [(self.ordering_param, ",".join(names))]

    def page_params(self, index: int, size: int | None) -> Params:
        """Parameters of the page that starts at row ``index * size`` (``index`` from 0)."""
        if self.pagination == "none":
            return []
        params: Params = []
        if self.pagination == "page":
            params.append((self.page_param, str(self.first_page + index)))
        elif self.pagination == "offset":
            params.append((self.offset_param, str(index * (size or 0))))
        if size:
            name = self.limit_param if self.pagination == "offset" else self.page_size_param
            if name:
                params.append((name, str(size)))
        return params

    def offset_params(self, offset: int, limit: int | None) -> Params:
        """``offset``/``limit`` parameters (offset pagination only)."""
        params = [(self.offset_param, str(offset))]
        if limit:
            params.append((self.limit_param, str(limit)))
        return params

    @property
    def sizes_pages(self) -> bool:
        """Whether a request can ask for a page size (so slices fetch just what they need)."""
        if self.pagination == "offset":
            return True
        return self.pagination in ("page", "cursor") and bool(self.page_size_param)

    def detail_path(self, endpoint: str, pk: Any) -> str:
        """The URL path of one object; the pk is always exactly one segment."""
        return detail_path(endpoint, pk, trailing_slash=self.trailing_slash)

    # -- responses -------------------------------------------------------------------------

    def parse_page(self, data: Any, headers: Mapping[str, str], url: str = "") -> Page:
        """Rows, total and next link of a list response (envelope, or bare list + headers)."""
        links = parse_link_header(headers.get("link", ""))
        header_total = self._header_total(headers)
        if isinstance(data, list):
            next_url = links.get("next")
            return Page(
                items=data,
                total=header_total if header_total is not None else None,
                next_url=urljoin(url, next_url) if next_url else None,
                complete=next_url is None and header_total is None,
            )
        items = _dig(data, self.items_key) if self.items_key else None
        if isinstance(data, dict) and isinstance(items, list):
            total = _dig(data, self.total_key)
            following = _dig(data, self.next_key) if self.next_key else None
            next_page = following if _is_int(following) else None
            next_url = following if isinstance(following, str) and following else None
            next_url = next_url or links.get("next")
            return Page(
                items=items,
                total=total if _is_int(total) else header_total,
                next_url=urljoin(url, next_url) if next_url else None,
                next_page=next_page,
            )
        raise ValueError(
            f"expected a JSON list or an object with a {self.items_key!r} list, got "
            f"{type(data).__name__}"
        )

    def envelope_keys(self) -> tuple[str, str | None, str | None] | None:
        """``(items, total, next)`` when lists come in a flat JSON envelope that the model
        layer may validate in one pass (with its schema); None when they do not."""
        keys = (self.items_key, self.total_key, self.next_key)
        if not self.items_key or any(k and "." in k for k in keys) or self.total_header:
            return None
        return self.items_key, self.total_key, self.next_key

    def _header_total(self, headers: Mapping[str, str]) -> int | None:
        if not self.total_header:
            return None
        try:
            return int(headers.get(self.total_header.lower(), ""))
        except ValueError:
            return None

    # -- values and negation ---------------------------------------------------------------

    def format_values(self, condition: Condition, ctx: QueryContext) -> list[str]:
        """The value(s) of a condition: one, or one per item with ``list_format="repeat"``."""
        value = condition.value
        if condition.lookup in {"in", "range"}:
            items = (
                list(value)
                if isinstance(value, Iterable) and not isinstance(value, str | bytes)
                else None
            )
            if items is None or (condition.lookup == "range" and len(items) != 2):
                expected = "a pair" if condition.lookup == "range" else "an iterable"
                raise TypeError(
                    f"{condition.field}__{condition.lookup} expects {expected}, got {value!r}."
                )
            if condition.lookup == "in" and not items:
                raise EmptyResult  # like Django: `pk__in=[]` matches nothing, sends nothing
            texts = [self.format_scalar(item) for item in items]
            if self.list_format == "repeat":
                return texts
            if any("," in text for text in texts):
                self.unsupported(
                    ctx, f"a value containing ',' in {condition.field}__{condition.lookup}"
                )
            return [",".join(texts)]
        if condition.lookup == "isnull":
            return [self.format_scalar(bool(value))]
        return [self.format_scalar(value)]

    def format_value(self, condition: Condition, ctx: QueryContext) -> str:
        """The value of a condition as one string (lists joined by commas)."""
        return ",".join(self.format_values(condition, ctx))

    def format_scalar(self, value: Any) -> str:
        """``True`` → ``"true"``, dates → ISO 8601, enums → their value."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return value.isoformat()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate, e.g. from json.loads('"\\ud800"')
                raise UnsafeRequestError(f"{value!r} is not valid Unicode text.") from None
            return value
        if isinstance(value, int | float | decimal.Decimal | uuid.UUID):
            return str(value)
        raise TypeError(f"Cannot use {type(value).__name__} value {value!r} in a query.")

    _INVERSES: ClassVar[dict[str, str]] = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}

    def negate(self, condition: Condition, ctx: QueryContext) -> Condition:
        """The exact opposite of ``condition``, or NotSupportedError when none exists.

        ``exclude(year__gte=2000)`` becomes ``year__lt=2000`` only when ``year`` cannot be
        null; a nullable field would silently lose its null rows, so that raises instead.
        """
        spec = ctx.fields[condition.field]
        if condition.lookup == "isnull":
            return Condition(condition.field, "isnull", not condition.value)
        if not spec.nullable:
            if condition.lookup in self._INVERSES:
                return Condition(condition.field, self._INVERSES[condition.lookup], condition.value)
            if spec.is_bool and condition.lookup == "exact" and isinstance(condition.value, bool):
                return Condition(condition.field, "exact", not condition.value)
            if condition.lookup == "exact" and self.lookup_names.get("ne"):
                return Condition(condition.field, "ne", condition.value)
        self.unsupported(ctx, f"exclude({condition.field}__{condition.lookup}=...)")

    def unsupported(self, ctx: QueryContext, what: str) -> NoReturn:
        """Raise the before-any-request error naming service, model, lookup and dialect."""
        raise NotSupportedError(
            f"{ctx.model} on service {ctx.service!r}: the {self.name!r} dialect cannot express "
            f"{what}. Narrow the query, or use .params() for the API's own parameters."
        )

    def conjuncts(self, where: Where, ctx: QueryContext) -> list[tuple[Condition, bool]]:
        """The conditions ANDed by ``where``, each with whether it is negated; an OR the
        query string cannot say raises NotSupportedError."""
        return list(self._conjuncts(where, ctx, negated=False))

    def _conjuncts(
        self, where: Where, ctx: QueryContext, *, negated: bool
    ) -> Iterable[tuple[Condition, bool]]:
        # De Morgan: NOT (a OR b) is (NOT a) AND (NOT b), which a query string can say;
        # NOT (a AND b) and (a OR b) need an OR, which it cannot.
        negated = negated != where.negated
        connector = where.connector
        if negated:
            connector = AND if connector == OR else OR
        if connector == OR and len(where.children) > 1:
            what = "the negation of several conditions" if negated else "OR between conditions"
            self.unsupported(ctx, what)
        for child in where.children:
            if isinstance(child, Where):
                yield from self._conjuncts(child, ctx, negated=negated)
            else:
                yield child, negated


class DRFDialect(Dialect):
    """Django REST framework + django-filter: PageNumber (default), LimitOffset or Cursor
    pagination (``PAGINATION`` = ``"page"``, ``"offset"``, ``"cursor"``) and bare lists."""

    name = "drf"

    def condition_params(self, condition: Condition, ctx: QueryContext) -> Params:
        params = super().condition_params(condition, ctx)
        if any(value == "" for _, value in params):
            # django-filter ignores empty parameters: the filter would silently vanish.
            self.unsupported(ctx, f"an empty value in {condition.field}__{condition.lookup}")
        return params


class LinkHeaderDialect(Dialect):
    """Bare JSON arrays with ``Link: <...>; rel="next"`` and a total header.

    Defaults: ``page``/``per_page`` parameters, ``X-Total-Count``, DRF-style lookups.
    """

    name = "link-header"

    def __init__(self, **options: Any) -> None:
        options.setdefault("page_size_param", "per_page")
        options.setdefault("total_header", "X-Total-Count")
        options.setdefault("items_key", None)
        super().__init__(**options)


BUILTIN_DIALECTS: dict[str, type[Dialect]] = {
    "drf": DRFDialect,
    "link-header": LinkHeaderDialect,
}
