"""The page walker: every read that spans pages goes through one plan, in both colours.

A list query's rows ``[low:high]`` are read page by page, whatever the API's shape: a next
link or cursor, a next page *number* (json-server 1.0), only a total (Feathers), a total in a
header, a bare list. The walker never trusts the API blindly:

* **Positions, not page numbers.** Each page covers rows ``[start, start + len)``. The first
  page tells the page size the server really uses: a server that caps ``page_size=150`` at
  100 (DRF's ``max_page_size``) is walked in pages of 100, and no row is dropped.
* **A total is a hint, never a licence.** Remaining pages are planned from the total and the
  real page size, and fetched through a bounded window (at most ``MAX_CONCURRENCY`` in
  flight, started as slots free). The walk stops at the first empty or short page, and a
  page that starts past the total is never returned as rows (json-server answers a page past
  the end with its last page).
* **Bounded work.** A page whose rows were all read already, a page listing one row twice,
  or a next link/cursor already followed, raises
  :class:`~django_api_orm.exceptions.PaginationError`; rows repeated by an overlapping page
  are read once; more than ``MAX_PAGES`` requests in one evaluation raise
  :class:`~django_api_orm.exceptions.TooManyPages` (before sending, when the total says so).

Worked example: ``[30:70]`` with pages of 25 fetches page index 1 (rows 25-49), keeps rows
30-49, then plans index 2 (rows 50-74) and keeps 50-69. With offset pagination the slice maps
exactly: ``offset=30&limit=40``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from operator import attrgetter
from typing import Any
from urllib.parse import urlencode, urljoin

from .. import exceptions
from .dialect import Dialect, Page, QueryContext
from .flow import DONE, Window
from .messages import Await, Plan, Request, Rows, Start
from .plans import ServiceContext
from .query import EmptyResult, RemoteQuery
from .responses import parse_json
from .urls import check_same_origin, redact_url

__all__ = ["STREAM_PK_WINDOW", "PageWalker", "count", "fetch_page"]

# When streaming, repeated rows are looked for in this many most recent pages.
STREAM_PK_WINDOW = 8


class PageWalker:
    """Reads the rows ``[low:high]`` of one query; see the module docstring for the rules.

    ``walk()`` is the plan. With ``stream=True`` it yields each page's rows as a ``Rows``
    effect (``iterator()``, ``async for``); otherwise it collects them in :attr:`rows`.
    ``convert`` turns each page's raw rows into what is delivered (the model layer builds,
    verifies and shapes objects there). After the walk, :attr:`total` is the total the API
    claimed (if any).

    With ``read_ahead`` (the service's ``READ_AHEAD`` by default) each next page's fetch is
    started naming its request (``Start.ahead``): the sync driver then sends it while this
    page is built, checked and handed out. A refused page drops that one GET unread; the
    listing of a write passes ``read_ahead=False``, so its refused page is the last request.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        endpoint: str,
        query: RemoteQuery,
        qctx: QueryContext,
        *,
        page_size: int | None = None,
        stream: bool = False,
        convert: Callable[[list[Any]], list[Any]] | None = None,
        read_ahead: bool | None = None,
    ) -> None:
        self.ctx = ctx
        self.read_ahead = ctx.read_ahead if read_ahead is None else read_ahead
        self.convert = convert
        self.qctx = qctx
        self.endpoint = endpoint
        self.stream = stream
        dialect = ctx.dialect
        self.low, self.high = query.low, query.high
        wanted = None if self.high is None else max(0, self.high - self.low)
        asked = page_size or dialect.page_size
        if asked is None and wanted and dialect.sizes_pages:
            asked = _one_page_size(self.low, wanted, dialect)  # ask for just what is needed
        self.asked = asked
        self.size: int | None = None  # rows per page the server really uses, once known
        self.total: int | None = None
        self.rows: list[Any] = []
        self.requests = 0
        # The pks read so far: every page's when the rows are kept anyway; when streaming,
        # only the last few pages' (memory stays flat; a loop longer than that window still
        # ends at MAX_PAGES).
        self._pks: set[Any] = set()
        self._recent: deque[set[Any]] = deque()
        self._followed: set[str] = set()
        self._link_prefix: str | None = None  # see _check_link
        try:
            self.base_params = [] if query.empty else dialect.query_params(query, qctx)
        except EmptyResult:
            self.base_params, query = [], replace(query, empty=True)
        self._first_index = 0
        self.first_request: Request | None = None
        if wanted != 0 and not query.empty:
            self.first_request = self._first()

    def _first(self) -> Request:
        dialect = self.ctx.dialect
        if dialect.pagination == "offset":
            return self._request(dialect.offset_params(self.low, self.asked))
        if dialect.pagination == "page" and self.asked:
            self._first_index = self.low // self.asked
        return self._request(dialect.page_params(self._first_index, self.asked))

    def _request(self, params: list[tuple[str, str]]) -> Request:
        return Request("GET", self.endpoint, params=self.base_params + params)

    # -- the plan ----------------------------------------------------------------------------

    def walk(self) -> Plan[list[Any]]:
        """Read the rows; returns them (an empty list when streaming)."""
        request = self.first_request
        if request is None:
            return self.rows
        page = yield from self._fetch(request)
        if page is not None and page.complete:  # one unpaginated list: slice it here
            self.total = len(page.items)
            yield from self._deliver(page.items[self.low : self.high])
            return self.rows
        start = self._start_of_first(page)
        if start is None:  # the server's page size differs: ask for the slice's first page
            index = self.low // self._size()
            request = self._request(self.ctx.dialect.page_params(index, self.size))
            page = yield from self._fetch(request)
            start = index * self._size()
        kept, position = self._accept(page, start, request)
        planned = self._planned(position)
        if planned is not None:
            yield from self._walk_planned(planned, kept)
            return self.rows
        while True:  # follow next links, one page ahead of the caller
            following = None
            if page is not None and position is not None:
                following = self._next_request(page, position)
            handle = None if following is None else (yield self._start(following))
            yield from self._deliver(kept)
            if handle is None or following is None or position is None:
                return self.rows
            page = yield Await(handle)
            kept, position = self._accept(page, position, following)

    def _walk_planned(self, planned: Iterator[tuple[int, Request]], kept: list[Any]) -> Plan[None]:
        ahead = self.read_ahead  # _planned() has checked MAX_PAGES for all of them
        fetches = (Start(self._fetch_at(s, r), ahead=r if ahead else None) for s, r in planned)
        window: Window[tuple[int, Request, Page | None]] = Window(fetches, self.ctx.max_concurrency)
        yield from window.fill()
        yield from self._deliver(kept)
        while (fetched := (yield from window.take())) is not DONE:
            start, request, page = fetched
            kept, position = self._accept(page, start, request, planned=True)
            yield from self._deliver(kept)
            if position is None:
                yield from window.cancel()
                return

    def _fetch_at(self, start: int, request: Request) -> Plan[tuple[int, Request, Page | None]]:
        page = yield from self._fetch(request)
        return start, request, page

    def _start(self, request: Request) -> Start:
        """The next page's fetch, started; named ``ahead`` (the sync driver may send it while
        the caller works on this page) unless MAX_PAGES would refuse it."""
        allowed = self.read_ahead and self.requests < self.ctx.max_pages
        return Start(self._fetch(request), ahead=request if allowed else None)

    def _fetch(self, request: Request) -> Plan[Page | None]:
        if self.requests >= self.ctx.max_pages:
            self._too_many(request, self.requests + 1)
        self.requests += 1
        return (yield from fetch_page(self.ctx, request, self.qctx))

    # -- one page ----------------------------------------------------------------------------

    def _start_of_first(self, page: Page | None) -> int | None:
        """Where the first page starts, learning the server's page size on the way; None
        when the server's size differs from the one asked and the slice lies further on."""
        if page is None:
            return 0
        count, asked = len(page.items), self.asked
        pagination = self.ctx.dialect.pagination
        start = self.low if pagination == "offset" else self._first_index * (asked or 0)
        if not _has_more(page, start + count) or not count:
            return start
        self.size = count  # a page before the end: it shows the server's real page size
        if pagination == "page" and asked and count != asked and self._first_index:
            return None
        return start

    def _accept(
        self, page: Page | None, start: int, request: Request, *, planned: bool = False
    ) -> tuple[list[Any], int | None]:
        """The page's rows that belong to the slice, and the position after the page (None
        when the walk ends here)."""
        if page is None or not page.items:
            return [], None
        if page.next_url:  # even when unused: a link elsewhere means a hostile answer
            self._check_link(page.next_url)
        if page.total is not None:
            self.total = page.total
        if self.total is not None and start >= self.total:
            return [], None  # a page past the end (json-server repeats its last page)
        items = page.items
        end = start + len(items)
        fresh = self._fresh(items, request)
        first = max(0, self.low - start)
        last = len(items) if self.high is None else max(first, self.high - start)
        if isinstance(fresh, range):  # no row read before: the slice of the page as it is
            kept = items[first:last]
        else:
            kept = [items[i] for i in range(first, min(last, len(items))) if i in fresh]
        if self.high is not None and end >= self.high:
            return kept, None
        if self.total is not None and end >= self.total:
            return kept, None
        short = self.size is not None and len(items) < self.size
        if short and (planned or not (page.next_url or page.next_page is not None)):
            return kept, None
        return kept, end

    def _check_link(self, url: str) -> None:
        """Refuse a next link to another origin. A link starting with the ``scheme://host/``
        of one checked before has that very host (the authority ends at the first "/"), so
        it is not parsed again."""
        known = self._link_prefix
        if known is not None and url.startswith(known):
            return
        check_same_origin(url, self.ctx.base_url, what="the next-page link")
        scheme, sep, rest = url.partition("://")
        authority, slash, _ = rest.partition("/")
        if sep and slash and not any(c in authority for c in "?#\\"):
            self._link_prefix = f"{scheme}://{authority}/"

    def _fresh(self, items: list[Any], request: Request) -> set[int] | range:
        """The indexes of rows no earlier page held; raises when every row was read before,
        or when a page lists a row twice."""
        pks, page = _pks_of(items, self.qctx)
        seen = self._pks
        if len(page) == len(pks) and seen.isdisjoint(page):  # the usual case, checked in C
            seen |= page
            repeated: set[int] = set()
        else:  # a row without pk, or one read before: look at each
            if len(page) + pks.count(None) < len(pks):
                twice = next(pk for pk in page if pks.count(pk) > 1)
                self._error(
                    exceptions.PaginationError,
                    f"a page lists the same row twice (pk={twice!r}): its rows cannot be "
                    "told apart, and where the next page starts is unknown",
                    request,
                )
            repeated = {i for i, pk in enumerate(pks) if pk is not None and pk in seen}
            seen |= page
        if self.stream:
            self._recent.append(page)
            if len(self._recent) > STREAM_PK_WINDOW:
                seen -= self._recent.popleft()
        if not repeated:
            return range(len(items))
        if len(repeated) == len(items):
            self._error(
                exceptions.PaginationError,
                f"a page repeats rows already read (pk={pks[0]!r}): the API ignores the "
                "page it was asked for, or loops",
                request,
            )
        return set(range(len(items))) - repeated

    def _deliver(self, rows: list[Any]) -> Plan[None]:
        if not rows:
            return
        if self.convert is not None:
            rows = self.convert(rows)
        if self.stream:
            yield Rows(rows)
        else:
            self.rows += rows

    # -- what comes next ---------------------------------------------------------------------

    def _size(self) -> int:
        assert self.size is not None
        return self.size

    def _planned(self, position: int | None) -> Iterator[tuple[int, Request]] | None:
        """Every remaining page's start and request, when the total and the real page size
        make them computable (numbered pages); None means "follow the next links"."""
        dialect = self.ctx.dialect
        if (
            position is None
            or self.total is None
            or self.size is None
            or dialect.pagination not in ("page", "offset")
        ):
            return None
        size = self.size
        end = self.total if self.high is None else min(self.total, self.high)
        pages = math.ceil(max(0, end - position) / size)
        if self.requests + pages > self.ctx.max_pages:
            request = self._request(dialect.page_params(position // size, size))
            self._too_many(request, self.requests + pages)
        starts = range(position, position + pages * size, size)
        if dialect.pagination == "offset":
            return ((s, self._request(dialect.offset_params(s, size))) for s in starts)
        return ((s, self._request(dialect.page_params(s // size, size))) for s in starts)

    def _next_request(self, page: Page, position: int) -> Request | None:
        dialect = self.ctx.dialect
        if page.next_url:
            return self._follow(page.next_url, Request("GET", page.next_url))
        if page.next_page is not None:
            index = page.next_page - dialect.first_page
            request = self._request(dialect.page_params(index, self.asked))
            return self._follow(f"page {page.next_page}", request)
        size = self.size or self.asked
        if size and len(page.items) >= size and dialect.pagination in ("page", "offset"):
            # No link and no total, but a full page: the next one may hold more.
            if dialect.pagination == "offset":
                return self._request(dialect.offset_params(position, size))
            return self._request(dialect.page_params(position // size, size))
        return None

    def _follow(self, key: str, request: Request) -> Request:
        if key in self._followed:
            self._error(
                exceptions.PaginationError,
                f"the next-page link {redact_url(key)!r} was followed already: the API loops",
                request,
            )
        self._followed.add(key)
        return request

    # -- errors ------------------------------------------------------------------------------

    def _too_many(self, request: Request, needed: int) -> None:
        limit = self.ctx.max_pages
        self._error(
            exceptions.TooManyPages,
            f"reading this query needs {needed} page requests, over MAX_PAGES={limit}; "
            "slice the queryset, ask for bigger pages (iterator(chunk_size=...)), or raise "
            "the service's MAX_PAGES",
            request,
            limit=limit,
        )

    def _error(
        self, kind: type[exceptions.PaginationError], what: str, request: Request, **extra: Any
    ) -> None:
        url = urljoin(self.ctx.base_url, request.url)
        if request.params:
            url += ("&" if "?" in url else "?") + urlencode(list(request.params))
        raise kind(
            f"{self.qctx.model} on service {self.ctx.alias!r}: {what}.",
            method="GET",
            url=redact_url(url),
            service=self.ctx.alias,
            model=self.qctx.model,
            **extra,
        )


def _has_more(page: Page, end: int) -> bool:
    """Whether the API says rows exist after row ``end``."""
    if page.next_url or page.next_page is not None:
        return True
    return page.total is not None and page.total > end


def _pks_of(items: list[Any], qctx: QueryContext) -> tuple[list[Any], set[Any]]:
    """The pk of each row (a dict, or a schema instance from the fast path), and the set of
    those that are not None."""
    name = qctx.pk
    if items and not isinstance(items[0], dict):
        try:  # schema instances from the fast path: every one has the field
            pks = list(map(attrgetter(name), items))
        except AttributeError:
            pks = [getattr(row, name, None) for row in items]
    else:
        spec = qctx.fields.get(name)
        wire = spec.param if spec is not None else name
        pks = [row.get(wire) if isinstance(row, dict) else None for row in items]
    try:
        page = set(pks)
    except TypeError:  # an unhashable pk (a nested object): compared by its repr
        pks = [None if pk is None else repr(pk) for pk in pks]
        page = set(pks)
    page.discard(None)
    return pks, page


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


def _absolute(base: str, link: str) -> str:
    """``link`` resolved against ``base``; an absolute http(s) link (DRF's) as it is."""
    if link.startswith(("http://", "https://")):
        return link
    return urljoin(base, link)


def _read_page(ctx: ServiceContext, response: Any, qctx: QueryContext) -> Page:
    if qctx.fast_page is not None and "link" not in response.headers:
        fast = qctx.fast_page(response.content)
        if fast is not None:
            items, total, following = fast
            if isinstance(following, int):
                return Page(items, total, None, next_page=following)
            next_url = _absolute(response.url, following) if following else None
            return Page(items, total, next_url)
    data = parse_json(response, service=ctx.alias, exact=qctx.exact_numbers)
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


# -- the reads built on the walker ------------------------------------------------------------


def count(ctx: ServiceContext, endpoint: str, query: RemoteQuery, qctx: QueryContext) -> Plan[int]:
    """How many rows ``query`` matches: the API's total (one small request), else a walk."""
    unsliced = RemoteQuery(where=query.where, extra_params=query.extra_params, empty=query.empty)
    walker = PageWalker(ctx, endpoint, unsliced.sliced(0, 1), qctx)
    found = yield from walker.walk()
    total = walker.total
    if total is None and found:  # no total (cursor pagination): walk every page
        total = len((yield from PageWalker(ctx, endpoint, unsliced, qctx).walk()))
    total = total or 0
    high = total if query.high is None else min(total, query.high)
    return max(0, high - query.low)
