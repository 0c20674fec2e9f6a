"""An in-memory REST API that answers a service's requests the way Django REST framework would.

::

    fake = FakeService({"books/": [{"id": 1, "title": "Dune", "year": 1965}]})
    with fake:                       # Book.objects now talks to the fake
        assert Book.objects.filter(year__lt=1970).count() == 1

Lists honour the lookups, ordering and pagination the service's dialect sends (page numbers,
offset/limit, cursors or none; DRF envelopes or bare lists with ``Link`` headers). Detail URLs
answer GET, PUT, PATCH and DELETE; POST creates with the next integer id. Errors have DRF's
shape: ``404 {"detail": "Not found."}``, ``400 {"field": ["message"]}``.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import json
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pydantic

from . import _install
from ._answers import (
    CURSOR_PARAM,
    Answer,
    PageShape,
    answer,
    invalid_body,
    not_allowed,
    not_found,
    paginate,
)
from ._query import BadQuery, order_rows, parse_filters

if TYPE_CHECKING:
    from .._core.dialect import Dialect
    from .._transport import Service

__all__ = ["FakeRequest", "FakeService", "PageShape"]

Row = dict[str, Any]


@dataclass(frozen=True)
class FakeRequest:
    """One request the fake answered; ``path`` is relative to the service's BASE_URL."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    json: Any
    headers: Mapping[str, str] = field(repr=False)


@dataclass
class _Canned:
    status: int
    body: Any
    headers: dict[str, str]
    method: str | None
    endpoint: str | None
    times: int | None


class _Collection:
    """The rows of one endpoint, with what the registered models say about them."""

    def __init__(self, key: str, pk: str, schemas: list[type[pydantic.BaseModel]]) -> None:
        self.key = key
        self.pk = pk
        self.schemas = schemas
        self.rows: list[Row] = []
        self.next_id = 1

    @property
    def fields(self) -> set[str]:
        names = {self.pk}
        for schema in self.schemas:
            for name, info in schema.model_fields.items():
                names.add(info.alias or name)
        for row in self.rows:
            names.update(row)
        return names

    def add(self, row: Row) -> Row:
        if row.get(self.pk) is None:
            row[self.pk] = self.next_id
        if isinstance(row[self.pk], int) and not isinstance(row[self.pk], bool):
            self.next_id = max(self.next_id, row[self.pk] + 1)
        self.rows.append(row)
        return row

    def find(self, pk_text: str) -> Row | None:
        for row in self.rows:
            if _text(row.get(self.pk)) == pk_text:
                return row
        return None


def _key(endpoint: str) -> str:
    return endpoint.strip("/")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _jsonable(row: Any) -> Row:
    data = json.loads(json.dumps(row, default=_default))
    if not isinstance(data, dict):
        raise TypeError(f"A fake row must be a mapping (or a model instance), got {row!r}.")
    return data


class FakeService:
    """An in-memory API for one service alias; install it with ``with fake:`` or
    :meth:`install`, or use :func:`~django_api_orm.testing.fake_service`.

    ``data`` maps endpoints (``"books/"``) or model classes to rows (dicts or model
    instances). Every model whose ``_service`` is ``alias`` gets an (empty) endpoint, so
    creating the first object needs no setup. ``page_size`` is the server's default page size.
    Created and changed rows are checked against the schema of the first model defined on
    their endpoint, answering 400 like DRF (``validate=False`` turns that off). Unordered lists
    come ordered by primary key; unknown query parameters are ignored, as django-filter does.
    ``pages`` imitates other APIs' pagination, or faulty ones (see :class:`PageShape`).
    Every answered request is appended to :attr:`requests`.
    """

    def __init__(
        self,
        data: Mapping[Any, Iterable[Any]] | None = None,
        *,
        alias: str = "default",
        page_size: int = 10,
        max_page_size: int = 1000,
        validate: bool = True,
        pages: PageShape | None = None,
    ) -> None:
        self.alias = alias
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.pages = pages or PageShape()
        self.validate = validate
        self.requests: list[FakeRequest] = []
        self._collections: dict[str, _Collection] = {}
        self._canned: list[_Canned] = []
        self._idempotent: dict[str, Answer] = {}
        self._service: Service | None = None
        self._explicit = False
        self._lock = threading.RLock()
        self._register_models()
        for endpoint, rows in (data or {}).items():
            self.add(endpoint, *rows)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}/: {len(c.rows)}" for k, c in self._collections.items())
        return f"<FakeService {self.alias!r} {{{sizes}}}>"

    # -- data ----------------------------------------------------------------------------

    def _register_models(self) -> None:
        from ..models import all_models

        for model in all_models():
            meta = model._meta
            if meta.service_alias == self.alias and meta.bound_service is None:
                self._collection(meta.endpoint, meta.pk_field, meta.schema)

    def _collection(
        self, endpoint: str, pk: str | None = None, schema: type[pydantic.BaseModel] | None = None
    ) -> _Collection:
        key = _key(endpoint)
        collection = self._collections.get(key)
        if collection is None:
            collection = self._collections[key] = _Collection(key, pk or "id", [])
        if schema is not None and schema not in collection.schemas:
            collection.schemas.append(schema)
        return collection

    def _endpoint_of(self, endpoint: Any) -> str:
        meta = getattr(endpoint, "_meta", None)
        if meta is not None and isinstance(getattr(meta, "endpoint", None), str):
            self._collection(meta.endpoint, meta.pk_field, meta.schema)
            return str(meta.endpoint)
        if not isinstance(endpoint, str):
            raise TypeError(f"An endpoint is a string like 'books/' or a model, got {endpoint!r}.")
        return endpoint

    def add(self, endpoint: Any, *rows: Any) -> list[Row]:
        """Store rows (dicts or model instances) under ``endpoint``; missing ids are assigned.

        Returns the stored rows (live: changing them changes what the fake serves).
        """
        with self._lock:
            collection = self._collection(self._endpoint_of(endpoint))
            return [collection.add(_jsonable(row)) for row in rows]

    def rows(self, endpoint: Any) -> list[Row]:
        """A deep copy of the rows stored under ``endpoint`` (in insertion order)."""
        with self._lock:
            return copy.deepcopy(self._collection(self._endpoint_of(endpoint)).rows)

    def clear(self, endpoint: Any = None) -> None:
        """Remove the rows of ``endpoint`` (of every endpoint when None) and the request log."""
        with self._lock:
            targets = (
                [self._collection(self._endpoint_of(endpoint))]
                if endpoint is not None
                else list(self._collections.values())
            )
            for collection in targets:
                collection.rows.clear()
            self.requests.clear()

    def queue_response(
        self,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        endpoint: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next ``times`` matching requests (None: all) with this response.

        ``body``: dict/list as JSON, str as text. Use it for 500s, 429 with Retry-After...
        """
        with self._lock:
            self._canned.append(
                _Canned(
                    status,
                    body,
                    dict(headers or {}),
                    method.upper() if method else None,
                    _key(endpoint) if endpoint is not None else None,
                    times,
                )
            )

    # -- installing ----------------------------------------------------------------------

    def install(self, service: Service | None = None) -> FakeService:
        """Answer the alias's requests (or ``service``'s, for an explicit client)."""
        if service is not None:
            self._explicit = True
            service.use_handler(self.handle)
            self.bind(service)
        else:
            _install.push(self)
        return self

    def uninstall(self) -> None:
        """Give the service back to the network (or to the fake installed before)."""
        if self._explicit and self._service is not None:
            self._service.use_handler(None)
            self._explicit = False
        else:
            _install.pop(self)

    def bind(self, service: Service) -> None:
        """Read the base URL and dialect from ``service`` (done by :meth:`install`)."""
        self._service = service

    def __enter__(self) -> FakeService:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def _bound(self) -> Service:
        if self._service is None:
            from .._registry import services

            self._service = services[self.alias]
        return self._service

    # -- HTTP ----------------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Answer one request: the handler given to ``Service.use_handler``."""
        service = self._bound()
        base = urlsplit(service.settings.BASE_URL).path
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
        path = parts.path[len(base) :] if parts.path.startswith(base) else parts.path.lstrip("/")
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError:
            payload = body.decode("utf-8", "replace")
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            self.requests.append(FakeRequest(method, path, tuple(params), payload, lowered))
            canned = self._take_canned(method, path)
            if canned is not None:
                return canned
            key = lowered.get("idempotency-key")
            if method == "POST" and key is not None and key in self._idempotent:
                status, answer_headers, content = self._idempotent[key]
                return status, {**answer_headers, "idempotent-replayed": "true"}, content
            reply = self._route(method, url, path, params, payload, service.context.dialect)
            if method == "POST" and key is not None and reply[0] < 500:
                self._idempotent[key] = reply
            return reply

    def _take_canned(self, method: str, path: str) -> Answer | None:
        for canned in self._canned:
            if canned.method not in (None, method):
                continue
            if canned.endpoint is not None and not (path.strip("/") + "/").startswith(
                canned.endpoint + "/"
            ):
                continue
            if canned.times is not None:
                canned.times -= 1
                if canned.times <= 0:
                    self._canned.remove(canned)
            if isinstance(canned.body, str):
                text = {"content-type": "text/plain; charset=utf-8"}
                return canned.status, {**text, **canned.headers}, canned.body.encode()
            return answer(canned.status, canned.body, canned.headers)
        return None

    def _route(
        self,
        method: str,
        url: str,
        path: str,
        params: list[tuple[str, str]],
        payload: Any,
        dialect: Dialect,
    ) -> Answer:
        target = path.strip("/")
        for key in sorted(self._collections, key=len, reverse=True):
            collection = self._collections[key]
            if target == key:
                if method == "GET":
                    return self._list(collection, url, params, dialect)
                if method == "POST":
                    return self._create(collection, payload)
                return not_allowed(method)
            if target.startswith(key + "/"):
                segment = target[len(key) + 1 :]
                if "/" in segment:
                    return not_found()
                return self._detail(collection, method, unquote(segment), payload)
        return not_found()

    # -- lists ---------------------------------------------------------------------------

    def _list(
        self,
        collection: _Collection,
        url: str,
        params: list[tuple[str, str]],
        dialect: Dialect,
    ) -> Answer:
        reserved = {
            dialect.page_param,
            dialect.page_size_param,
            dialect.offset_param,
            dialect.limit_param,
            dialect.ordering_param,
            CURSOR_PARAM,
        }
        fields = collection.fields
        query = dict(params)
        try:
            filters = parse_filters(
                [(k, v) for k, v in params if k not in reserved], dialect, fields
            )
            rows = collection.rows
            for item in filters:
                test = item.matcher(collection.rows)
                if test is not None:
                    rows = [row for row in rows if test(row)]
        except BadQuery as error:
            return answer(400, error.errors)
        rows = order_rows(rows, query.get(dialect.ordering_param), fields, collection.pk)
        return paginate(
            rows,
            url,
            query,
            dialect,
            page_size=self.page_size,
            max_page_size=self.max_page_size,
            shape=self.pages,
        )

    # -- objects -------------------------------------------------------------------------

    def _detail(self, collection: _Collection, method: str, pk: str, payload: Any) -> Answer:
        row = collection.find(pk)
        if row is None:
            return not_found()
        if method in ("GET", "HEAD"):
            return answer(200, row)
        if method == "DELETE":
            collection.rows.remove(row)
            return answer(204)
        if method in ("PUT", "PATCH"):
            if not isinstance(payload, dict):
                return invalid_body(payload)
            merged = {**row, **payload, collection.pk: row[collection.pk]}
            errors, merged = self._validated(collection, merged)
            if errors:
                return answer(400, errors)
            row.clear()
            row.update(merged)
            return answer(200, row)
        return not_allowed(method)

    def _create(self, collection: _Collection, payload: Any) -> Answer:
        if not isinstance(payload, dict):
            return invalid_body(payload)
        pk = payload.get(collection.pk)
        if pk is not None and collection.find(_text(pk)) is not None:
            return answer(400, {collection.pk: [f"An object with this {collection.pk} exists."]})
        errors, row = self._validated(collection, dict(payload))
        if errors:
            return answer(400, errors)
        row[collection.pk] = pk
        return answer(201, collection.add(row))

    def _validated(self, collection: _Collection, row: Row) -> tuple[dict[str, Any], Row]:
        """The row completed with defaults by the schema of the first model defined on the
        endpoint, or DRF-shaped field errors."""
        if not self.validate or not collection.schemas:
            return {}, row
        try:
            schema = collection.schemas[0]
            data = schema.model_validate(row).model_dump(mode="json", by_alias=True)
        except pydantic.ValidationError as error:
            return _field_errors(error), row
        return {}, {**row, **data}


def _field_errors(error: pydantic.ValidationError) -> dict[str, list[str]]:
    """pydantic's errors in DRF's shape: ``{"field": ["message"]}``."""
    errors: dict[str, list[str]] = {}
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]) or "non_field_errors"
        message = "This field is required." if item["type"] == "missing" else item["msg"]
        errors.setdefault(name, []).append(message)
    return errors
