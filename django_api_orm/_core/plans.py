"""Plans: generators that yield effects and compute a result from the responses.

A plan never does I/O itself. ``yield from send(...)`` hands one request (with retries) to
whichever driver runs the plan; ``yield Gather([...])`` lets the async driver run sub-plans
concurrently. The queryset's sync and async methods run the very same plans.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin

from .. import exceptions
from .breaker import CircuitBreaker
from .dialect import Dialect, Page, QueryContext
from .messages import Gather, Plan, Request, Response
from .query import EmptyResult, RemoteQuery
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
    breaker: CircuitBreaker | None = None

    def send(self, request: Request) -> Plan[Response]:
        """Send with this service's retry policy and breaker; errors name the service."""
        return send(request, self.retry, service=self.alias, breaker=self.breaker)


def request_json(ctx: ServiceContext, request: Request) -> Plan[Any]:
    """Send ``request`` and return its decoded JSON body (None for an empty body)."""
    response = yield from ctx.send(request)
    return parse_json(response, service=ctx.alias)


def _read_page(ctx: ServiceContext, response: Response, qctx: QueryContext) -> Page:
    if qctx.fast_page is not None and "link" not in response.headers:
        fast = qctx.fast_page(response.content)
        if fast is not None:
            items, total, next_url = fast
            return Page(items, total, urljoin(response.url, next_url) if next_url else None)
    data = parse_json(response, service=ctx.alias)
    try:
        return ctx.dialect.parse_page(data, response.headers, response.url)
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
    """Walks the pages of one query's slice: which requests to send, which rows to keep.

    With a page size ``P`` (configured, or asked for), rows ``[low:high]`` start on page
    index ``low // P``; the rows before ``low`` on that page are dropped. Worked example:
    ``[30:70]`` with ``P=25`` fetches pages 2 and 3 (rows 25-74), skips 5 and keeps 40.
    With offset pagination the slice maps exactly: ``offset=30&limit=40``. Without a page
    size the walk asks for the first page and learns the size from it.

    After the first page, :meth:`plan_rest` lists every remaining request when the total is
    known and pages are numbered (so the async driver can fetch them concurrently);
    otherwise the walk follows ``next`` links one by one.
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
        self.endpoint = endpoint
        dialect = ctx.dialect
        self.low, self.high = query.low, query.high
        self.wanted = None if self.high is None else max(0, self.high - self.low)
        size = page_size or dialect.page_size
        if size is None and self.wanted and dialect.sizes_pages:
            size = _one_page_size(self.low, self.wanted, dialect)  # ask for just what is needed
        self.size = size
        self.taken = 0
        self.first = True
        self.seen: set[str] = set()
        if dialect.pagination == "offset":
            self.index, self.skip = 0, 0
            first_params = dialect.offset_params(self.low, size)
        elif dialect.pagination == "page" and size:
            self.index, self.skip = self.low // size, self.low % size
            first_params = dialect.page_params(self.index, size)
        else:
            self.index, self.skip = 0, self.low
            first_params = dialect.page_params(0, size)
        self.request: Request | None = None
        try:
            self.base_params = [] if query.empty else dialect.query_params(query, qctx)
        except EmptyResult:
            self.base_params, query = [], replace(query, empty=True)
        if self.wanted != 0 and not query.empty:
            self.request = Request("GET", endpoint, params=self.base_params + first_params)

    def take(self, page: Page | None, *, follow: bool = True) -> list[Any]:
        """The rows of ``page`` that belong to the slice; sets :attr:`request` to the next."""
        first, self.first = self.first, False
        self.request = None
        if page is None:
            return []
        if page.complete and first:  # an unpaginated list: the slice is applied here
            self.taken = len(page.items[self.low : self.high])
            return page.items[self.low : self.high]
        items = page.items
        if self.size is None and page.next_url and items:
            self.size = len(items)  # learnt from a full page
        if self.skip:
            items, self.skip = items[self.skip :], max(0, self.skip - len(items))
        if self.wanted is not None:
            items = items[: self.wanted - self.taken]
        self.taken += len(items)
        if follow and not self.done and page.next_url and page.items:
            self.request = self._follow(page.next_url)
        return items

    @property
    def done(self) -> bool:
        """True once the slice is complete."""
        return self.wanted is not None and self.taken >= self.wanted

    def plan_rest(self, first: Page | None) -> list[Request] | None:
        """Every remaining request, when the first page's total makes them computable.

        None means "follow the next links" (cursor pagination, no total, no page size).
        """
        dialect = self.ctx.dialect
        if (
            first is None
            or self.request is None
            or first.total is None
            or not self.size
            or dialect.pagination not in ("page", "offset")
        ):
            return None
        end = first.total if self.high is None else min(first.total, self.high)
        if dialect.pagination == "offset":
            start = self.low + len(first.items)
            offsets = range(start, end, self.size)
            params = [dialect.offset_params(offset, self.size) for offset in offsets]
        else:
            last_index = (end - 1) // self.size
            indexes = range(self.index + 1, last_index + 1)
            params = [dialect.page_params(index, self.size) for index in indexes]
        if len(params) > MAX_PAGES:
            return None
        self.request = None
        return [Request("GET", self.endpoint, params=self.base_params + p) for p in params]

    def _follow(self, url: str) -> Request:
        check_same_origin(url, self.ctx.base_url, what="the next-page link")
        if url in self.seen or len(self.seen) >= MAX_PAGES:
            raise exceptions.UnsafeRequestError(
                f"{self.qctx.model}: the next-page link {redact_url(url)!r} repeats; "
                "refusing to loop."
            )
        self.seen.add(url)
        return Request("GET", url)


def _one_page_size(low: int, wanted: int, dialect: Dialect) -> int:
    """The smallest page size that holds rows ``[low:low+wanted]`` on one numbered page.

    Worked example: ``[5:15]`` (10 rows). Size 10 splits it over pages 1 and 2 (rows 0-9,
    10-19), and so do sizes 11 to 14; size 15 holds rows 0-14 on page 1: one request.
    ``low + wanted`` always fits, so a slice costs one request below ``max_page_size``.
    """
    limit = dialect.max_page_size
    if dialect.pagination != "page":
        return min(wanted, limit)
    high = low + wanted
    for size in range(wanted, min(high, limit) + 1):
        if low // size == (high - 1) // size:
            return size
    return min(wanted, limit)


def fetch_page(ctx: ServiceContext, request: Request, qctx: QueryContext) -> Plan[Page | None]:
    """One page, or None when a page number ran past the end (DRF answers 404)."""
    try:
        response = yield from ctx.send(request)
    except exceptions.NotFound:
        # DRF answers 404 for a page number past the end; page 1 (or offset 0) missing
        # means the endpoint itself is wrong, which must not look like an empty list.
        dialect = ctx.dialect
        first = {(dialect.page_param, str(dialect.first_page)), (dialect.offset_param, "0")}
        paged = {dialect.page_param, dialect.offset_param}
        if any(k in paged and (k, v) not in first for k, v in request.params):
            return None
        raise
    return _read_page(ctx, response, qctx)


def fetch_rows(
    ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext
) -> Plan[list[Any]]:
    """The raw rows of ``query``'s slice with the fewest requests the API allows.

    When the first page tells the total, the other pages are fetched together (the async
    driver runs them concurrently, up to the service's ``MAX_CONCURRENCY``).
    """
    walk = PageWalk(ctx, endpoint, query, qctx)
    if walk.request is None:
        return []
    first = yield from fetch_page(ctx, walk.request, qctx)
    rows = walk.take(first)
    planned = walk.plan_rest(first)
    if planned:
        pages = yield Gather([fetch_page(ctx, request, qctx) for request in planned])
        for page in pages:
            rows += walk.take(page, follow=False)
    while walk.request is not None:
        page = yield from fetch_page(ctx, walk.request, qctx)
        rows += walk.take(page)
    return rows


def first_two(
    ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext
) -> Plan[tuple[list[Any], int]]:
    """Up to two matching rows and how many match in all, for ``get()``."""
    walk = PageWalk(ctx, endpoint, query.sliced(0, 2), qctx)
    if walk.request is None:
        return [], 0
    page = yield from fetch_page(ctx, walk.request, qctx)
    if page is None:
        return [], 0
    rows = walk.take(page)
    if page.complete:
        return rows, len(page.items)
    total = page.total if page.total is not None else len(page.items)
    return rows, total


def count(ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext) -> Plan[int]:
    """How many rows ``query`` matches, from the API's total: one small request."""
    unsliced = RemoteQuery(where=query.where, extra_params=query.extra_params, empty=query.empty)
    walk = PageWalk(ctx, endpoint, unsliced.sliced(0, 1), qctx)
    if walk.request is None:
        return 0
    page = yield from fetch_page(ctx, walk.request, qctx)
    if page is None:
        total = 0
    elif page.total is not None:
        total = page.total
    elif page.complete:
        total = len(page.items)
    else:  # no total (cursor pagination): walk the pages
        rows = yield from fetch_rows(ctx, endpoint, unsliced, qctx)
        total = len(rows)
    high = total if query.high is None else min(total, query.high)
    return max(0, high - query.low)


def exists(
    ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext
) -> Plan[bool]:
    """Whether ``query`` matches anything, asking for one row at most."""
    rows = yield from fetch_rows(ctx, endpoint, query.sliced(0, 1), qctx)
    return bool(rows)
