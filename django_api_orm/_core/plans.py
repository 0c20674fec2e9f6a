"""Plans: generators that yield effects and compute a result from the responses.

A plan never does I/O itself. ``yield from send(...)`` hands one request (with retries) to
whichever driver runs the plan; ``yield Gather([...])`` lets the async driver run sub-plans
concurrently. The queryset's sync and async methods run the very same plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import exceptions
from .dialect import Dialect, Page, QueryContext
from .messages import Plan, Request, Response
from .query import RemoteQuery
from .responses import parse_json
from .retry import RetryPolicy, send
from .urls import check_same_origin, redact_url

__all__ = [
    "PageWalk",
    "ServiceContext",
    "count",
    "exists",
    "fetch_page",
    "fetch_rows",
    "first_two",
    "request_json",
]

# A runaway `next` chain is cut off here rather than followed for ever.
MAX_PAGES = 100_000
# A slice asks for at most this many rows per page.
MAX_SLICE_PAGE = 1000


@dataclass(frozen=True)
class ServiceContext:
    """Everything a plan needs to know about the service it talks to."""

    alias: str
    base_url: str
    dialect: Dialect
    retry: RetryPolicy
    max_concurrency: int = 10

    def send(self, request: Request) -> Plan[Response]:
        """Send with this service's retry policy; errors name the service."""
        return send(request, self.retry, service=self.alias)


def request_json(ctx: ServiceContext, request: Request) -> Plan[Any]:
    """Send ``request`` and return its decoded JSON body (None for an empty body)."""
    response = yield from ctx.send(request)
    return parse_json(response, service=ctx.alias)


def _list_request(
    ctx: ServiceContext,
    endpoint: str,
    query: RemoteQuery,
    qctx: QueryContext,
    page: int,
    page_size: int | None,
) -> Request:
    params = ctx.dialect.query_params(query, qctx) + ctx.dialect.page_params(page, page_size)
    return Request("GET", endpoint, params=params)


def _read_page(ctx: ServiceContext, response: Response, qctx: QueryContext) -> Page:
    data = parse_json(response, service=ctx.alias)
    try:
        return ctx.dialect.parse_page(data, response.headers)
    except ValueError as error:
        raise exceptions.ResponseError(
            f"{qctx.model}: unexpected list response: {error}",
            method=response.method,
            url=redact_url(response.url),
            service=ctx.alias,
            status_code=response.status_code,
            model=qctx.model,
        ) from None


class PageWalk:
    """Walks the pages of one query's slice: which request next, which rows of each page.

    With a known page size ``P``, rows ``[low:high]`` start on page ``low // P + 1``; the
    rows before ``low`` on that page are dropped. Worked example: ``[30:70]`` with ``P=25``
    fetches pages 2 and 3 (rows 25-74), skips 5 and keeps 40. Without a known page size the
    walk starts at page 1 and follows ``next`` links until it has enough rows; when the API
    takes a page-size parameter, a slice asks for just the rows it needs.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        endpoint: str,
        query: RemoteQuery,
        qctx: QueryContext,
        *,
        page_size: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.qctx = qctx
        low, high = query.low, query.high
        size = page_size or ctx.dialect.page_size
        if size is None and high is not None and ctx.dialect.page_size_param:
            size = min(high, MAX_SLICE_PAGE)
            first_page, self.skip = 1, low
        elif size:
            first_page, self.skip = low // size + 1, low % size
        else:
            first_page, self.skip = 1, low
        self.low, self.high = low, high
        self.wanted = None if high is None else max(0, high - low)
        self.taken = 0
        self.seen: set[str] = set()
        self.request: Request | None = None
        if self.wanted != 0:
            self.request = _list_request(ctx, endpoint, query, qctx, first_page, size)

    def take(self, page: Page | None) -> list[Any]:
        """The rows of ``page`` that belong to the slice; sets :attr:`request` to the next."""
        self.request = None
        if page is None:
            return []
        if page.complete:  # an unpaginated list: the slice is applied here
            return page.items[self.low : self.high]
        items = page.items
        if self.skip:
            items, self.skip = items[self.skip :], max(0, self.skip - len(items))
        if self.wanted is not None:
            items = items[: self.wanted - self.taken]
        self.taken += len(items)
        done = self.wanted is not None and self.taken >= self.wanted
        if not done and page.next_url and page.items:
            self.request = self._follow(page.next_url)
        return items

    def _follow(self, url: str) -> Request:
        check_same_origin(url, self.ctx.base_url, what="the next-page link")
        if url in self.seen or len(self.seen) >= MAX_PAGES:
            raise exceptions.UnsafeRequestError(
                f"{self.qctx.model}: the next-page link {redact_url(url)!r} repeats; "
                "refusing to loop."
            )
        self.seen.add(url)
        return Request("GET", url)


def fetch_page(ctx: ServiceContext, request: Request, qctx: QueryContext) -> Plan[Page | None]:
    """One page, or None when a page number ran past the end (DRF answers 404)."""
    try:
        response = yield from ctx.send(request)
    except exceptions.NotFound:
        if any(k == ctx.dialect.page_param for k, _ in request.params):
            return None
        raise
    return _read_page(ctx, response, qctx)


def fetch_rows(
    ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext
) -> Plan[list[Any]]:
    """The raw rows of ``query``'s slice, fetching as few pages as the API allows."""
    walk = PageWalk(ctx, endpoint, query, qctx)
    rows: list[Any] = []
    while walk.request is not None:
        page = yield from fetch_page(ctx, walk.request, qctx)
        rows += walk.take(page)
    return rows


def first_two(
    ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext
) -> Plan[tuple[list[Any], int]]:
    """Up to two matching rows and how many match in all, for ``get()``."""
    sliced = query.sliced(0, 2)
    request = _list_request(ctx, endpoint, sliced, qctx, 1, 2)
    page = yield from fetch_page(ctx, request, qctx)
    if page is None:
        return [], 0
    if page.complete:
        return page.items[:2], len(page.items)
    total = page.total if page.total is not None else len(page.items)
    return page.items[:2], total


def count(ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext) -> Plan[int]:
    """How many rows ``query`` matches, from the API's total: one small request."""
    unsliced = RemoteQuery(where=query.where, extra_params=query.extra_params)
    request = _list_request(ctx, endpoint, unsliced, qctx, 1, 1)
    page = yield from fetch_page(ctx, request, qctx)
    if page is None:
        total = 0
    elif page.total is not None:
        total = page.total
    else:  # no total: walk the pages
        rows = yield from fetch_rows(ctx, endpoint, unsliced, qctx)
        total = len(rows)
    high = total if query.high is None else min(total, query.high)
    return max(0, high - query.low)


def exists(
    ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext
) -> Plan[bool]:
    """Whether ``query`` matches anything, without fetching the rows."""
    if not query.is_sliced:
        request = _list_request(ctx, endpoint, query, qctx, 1, 1)
        page = yield from fetch_page(ctx, request, qctx)
        return bool(page and page.items)
    rows = yield from fetch_rows(ctx, endpoint, query.sliced(0, 1), qctx)
    return bool(rows)
