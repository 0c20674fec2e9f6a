"""The demo's HTTP part: real requests to the upstream and to the bookshop's every path.

The expected numbers follow from the upstream's seed data: 40 books, 10 of them out of
stock, 16 published in 1990 or later, 5 per author.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from .report import Report, StepFailed, expect
from .stack import Stack

__all__ = ["HttpTour"]

_BOOK_ROW = re.compile(r'<li class="book"><a href="/books/(\d+)/">([^<]*)</a>[^(]*\((\d+)\)')
_SUMMARY = re.compile(r'<p class="summary">([^<]*)</p>')
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_STOCK = re.compile(r'<dd class="stock">([^<]*)</dd>')
_NOTE = re.compile(r'<p class="note">([^<]*)</p>')
_ASSET = re.compile(r'<(?:script|link)[^>]* (?:src|href)="([^"]+)"')


def _join(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit})" if len(items) > limit else "")


def _status(response: httpx.Response, expected: int) -> None:
    expect(
        response.status_code == expected,
        f"expected HTTP {expected}, got {response.status_code}: {response.text[:300]}",
    )


def _first(pattern: re.Pattern[str], text: str, what: str) -> str:
    match = pattern.search(text)
    if match is None:
        raise StepFailed(f"no {what} in the page")
    return html.unescape(match.group(1))


def _book_line(book: dict[str, Any]) -> str:
    stock = "in stock" if book["in_stock"] else "sold out"
    return f"#{book['id']} {book['title']} ({book['author']}, {book['year']}) - {stock}"


class HttpTour:
    """Every path of the example, driven over HTTP; state flows from step to step."""

    def __init__(self, stack: Stack, report: Report, token: str | None) -> None:
        self.stack = stack
        self.report = report
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.new_book: dict[str, Any] = {}
        self.shop = httpx.Client(base_url=stack.bookshop.url, timeout=10.0, trust_env=False)
        self.upstream = httpx.Client(
            base_url=stack.upstream.url, timeout=10.0, trust_env=False, headers=self.headers
        )

    def run(self) -> None:
        """All sections but the outage, in order."""
        self.upstream_section()
        self.views_section()
        self.api_section()
        self.orders_section()

    def outage(self) -> None:
        """The last section: it stops the upstream."""
        self.outage_section()

    def close(self) -> None:
        """Close the HTTP clients (again: harmless)."""
        self.shop.close()
        self.upstream.close()

    # -- the upstream itself ---------------------------------------------------------------

    def upstream_section(self) -> None:
        """The remote API as the library sees it: DRF dialect, bearer token."""
        self.report.section("1. The upstream API (django-ninja + SQLite, DRF dialect)")
        step = self.report.step
        step("GET /api/books/ without the token", self._upstream_refuses_anonymous)
        step("GET /api/books/?year__gte=1990&ordering=-year&page_size=3", self._upstream_page)

    def _upstream_refuses_anonymous(self) -> str:
        response = httpx.get(f"{self.stack.api_url}books/", trust_env=False, timeout=10.0)
        if not self.headers:
            _status(response, 200)
            return "200 (no UPSTREAM_TOKEN set: the API is open)"
        _status(response, 401)
        return f"401 {response.json()['detail']}"

    def _upstream_page(self) -> str:
        params: dict[str, str | int] = {"year__gte": 1990, "ordering": "-year", "page_size": 3}
        response = self.upstream.get("/api/books/", params=params)
        _status(response, 200)
        data = response.json()
        expect(data["count"] == 16, f"expected 16 books since 1990, got {data['count']}")
        titles = [f"{b['title']} ({b['year']})" for b in data["results"]]
        return f"200 count={data['count']}, next={data['next']}\n{_join(titles)}"

    # -- sync HTML views ---------------------------------------------------------------------

    def views_section(self) -> None:
        """Sync views: Paginator over a remote queryset, get() and Http404."""
        self.report.section("2. Bookshop sync views (HTML; Paginator over a remote queryset)")
        step = self.report.step
        step("GET /books/", lambda: self._book_list({}, "40 books, page 1 of 4"))
        step(
            "GET /books/?year_gte=1990",
            lambda: self._book_list({"year_gte": 1990}, "16 books, page 1 of 2"),
        )
        step(
            "GET /books/?year_gte=1990&page=2",
            lambda: self._book_list({"year_gte": 1990, "page": 2}, "16 books, page 2 of 2"),
        )
        step("GET /books/12/", self._book_detail)
        step("GET /books/999999/ (no such book)", self._book_missing)

    def _book_list(self, params: dict[str, Any], summary: str) -> str:
        response = self.shop.get("/books/", params=params)
        _status(response, 200)
        found = _first(_SUMMARY, response.text, "summary")
        expect(found == summary, f"expected {summary!r}, got {found!r}")
        rows = [f"{html.unescape(t)} ({y})" for _, t, y in _BOOK_ROW.findall(response.text)]
        expect(len(rows) in {6, 10}, f"expected a page of 10 (or the last 6), got {len(rows)}")
        return f"200 {found}: {_join(rows)}"

    def _book_detail(self) -> str:
        response = self.shop.get("/books/12/")
        _status(response, 200)
        title = _first(re.compile(r'<h1 class="title">([^<]*)</h1>'), response.text, "title")
        author = _first(re.compile(r'<dd class="author">([^<]*)</dd>'), response.text, "author")
        expect(title == "Foundation", f"expected Foundation, got {title!r}")
        return f"200 {title} by {author}"

    def _book_missing(self) -> str:
        response = self.shop.get("/books/999999/")
        _status(response, 404)
        return "404 (Book.DoesNotExist -> Http404)"

    # -- async ninja routes ------------------------------------------------------------------

    def api_section(self) -> None:
        """Async django-ninja routes awaiting the library's a-twins."""
        self.report.section("3. Bookshop async API (django-ninja; aget, acreate, acount)")
        step = self.report.step
        step("GET /api/books?year_gte=2010&limit=3", self._api_list)
        step("GET /api/books/12", self._api_detail)
        step("GET /api/books/999999 (no such book)", self._api_missing)
        step("POST /api/books", self._api_create)
        step("POST /api/books (same ISBN again)", self._api_create_duplicate)
        step("GET /api/stats", lambda: self._api_stats(41, 31))
        step("GET /api/docs (Swagger UI, no CDN)", self._api_docs)

    def _api_list(self) -> str:
        response = self.shop.get("/api/books", params={"year_gte": 2010, "limit": 3})
        _status(response, 200)
        books = response.json()
        expect(len(books) == 3, f"expected 3 books, got {len(books)}")
        expect(all(b["year"] >= 2010 for b in books), "a book before 2010 slipped through")
        return "200 " + _join([f"{b['title']} ({b['year']})" for b in books])

    def _api_detail(self) -> str:
        response = self.shop.get("/api/books/12")
        _status(response, 200)
        return f"200 {_book_line(response.json())}"

    def _api_missing(self) -> str:
        response = self.shop.get("/api/books/999999")
        _status(response, 404)
        return f"404 {response.json()}"

    def _api_create(self) -> str:
        book = {
            "title": "The Long Way to a Small, Angry Planet",
            "author": "Becky Chambers",
            "year": 2014,
            "isbn": "978-0-00-100001",
        }
        response = self.shop.post("/api/books", json=book)
        _status(response, 201)
        self.new_book = response.json()
        expect(self.new_book["id"] == 41, f"expected the new book to get id 41: {self.new_book}")
        return f"201 created {_book_line(self.new_book)}"

    def _api_create_duplicate(self) -> str:
        book = {"title": "A copy", "author": "Nobody", "year": 2020, "isbn": "978-0-00-100001"}
        response = self.shop.post("/api/books", json=book)
        _status(response, 400)
        errors = response.json()["errors"]
        expect("isbn" in errors, f"expected an isbn error from upstream, got {errors}")
        return f"400 upstream's field errors passed on: {errors}"

    def _api_stats(self, books: int, in_stock: int) -> str:
        response = self.shop.get("/api/stats")
        _status(response, 200)
        stats = response.json()
        wanted = {"books": books, "in_stock": in_stock, "sold_out": books - in_stock}
        expect(stats == wanted, f"expected {wanted}, got {stats}")
        return f"200 {stats}"

    def _api_docs(self) -> str:
        response = self.shop.get("/api/docs")
        _status(response, 200)
        assets = _ASSET.findall(response.text)
        expect(any(a.endswith("swagger-ui-bundle.js") for a in assets), f"no Swagger UI: {assets}")
        remote = [a for a in assets if "//" in a]
        expect(not remote, f"assets from elsewhere (blank offline): {remote}")
        sizes = []
        for asset in assets:
            got = self.shop.get(asset)
            _status(got, 200)
            sizes.append(len(got.content))
        return f"200, its {len(assets)} assets from the bookshop itself ({sum(sizes) // 1024} KiB)"

    # -- the books API goes down -------------------------------------------------------------

    def outage_section(self) -> None:
        """The upstream stops: the middleware and the ninja handlers answer 503, not 500."""
        self.report.section("8. The books API goes down (UpstreamErrorMiddleware, ninja handlers)")
        step = self.report.step
        step("stop the upstream", self._stop_upstream)
        step("GET /books/12/ (sync view: the middleware)", lambda: self._unavailable("/books/12/"))
        step("GET /api/books/12 (async ninja route: its handler)", self._route_fails)

    def _stop_upstream(self) -> str:
        self.stack.upstream.terminate()
        self.stack.upstream.wait_stopped()
        return f"nothing listens on {self.stack.api_url} any more"

    def _unavailable(self, path: str) -> str:
        response = self.shop.get(path)
        _status(response, 503)
        retry = response.headers.get("Retry-After")
        expect(retry is not None, "no Retry-After header")
        expect("Bearer" not in response.text, "the token leaked into the answer")
        return f"503 Retry-After: {retry} {response.text.strip()!r} (after the retries)"

    def _route_fails(self) -> str:
        response = self.shop.get("/api/books/12")
        expect(response.status_code in {502, 503}, f"expected 502 or 503: {response.text}")
        return f"{response.status_code} {response.json()}"

    # -- orders and the post_save receiver --------------------------------------------------

    def orders_section(self) -> None:
        """A local Order's post_save receiver updates the remote book, sync and async."""
        self.report.section("4. Orders: post_save on a local model updates the remote book")
        step = self.report.step
        step("POST /books/1/order/ (HTML form, with CSRF)", self._order_via_form)
        step("GET upstream /api/books/1/", lambda: self._remote_stock(1))
        step("POST /api/orders {book_id: 41} (async route)", self._order_via_api)
        step("POST /api/orders {book_id: 41} again", self._order_sold_out)
        step("GET /api/stats", lambda: self._api_stats(41, 29))

    def _order_via_form(self) -> str:
        page = self.shop.get("/books/1/")
        _status(page, 200)
        before = _first(_STOCK, page.text, "stock line")
        data = {"csrfmiddlewaretoken": _first(_CSRF, page.text, "CSRF token"), "quantity": "1"}
        response = self.shop.post("/books/1/order/", data=data)
        _status(response, 302)
        after_page = self.shop.get(response.headers["location"])
        _status(after_page, 200)
        note = _first(_NOTE, after_page.text, "confirmation")
        after = _first(_STOCK, after_page.text, "stock line")
        expect(after == "sold out", f"expected the book to be sold out now, got {after!r}")
        return f"302 -> {response.headers['location']}: {note!r}\nDune: {before} -> {after}"

    def _remote_stock(self, book_id: int) -> str:
        response = self.upstream.get(f"/api/books/{book_id}/")
        _status(response, 200)
        book = response.json()
        expect(book["in_stock"] is False, f"the receiver did not update upstream: {book}")
        return f"200 {_book_line(book)}  (changed by the receiver)"

    def _order_via_api(self) -> str:
        response = self.shop.post("/api/orders", json={"book_id": 41})
        _status(response, 201)
        order = response.json()
        expect(order["book"]["in_stock"] is False, f"book still in stock: {order}")
        return f"201 order #{order['id']}; book now: {_book_line(order['book'])}"

    def _order_sold_out(self) -> str:
        response = self.shop.post("/api/orders", json={"book_id": 41})
        _status(response, 409)
        return f"409 {response.json()['detail']}"
