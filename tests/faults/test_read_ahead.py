"""Sync read-ahead (``READ_AHEAD``, the pycurl driver): a page walk puts the next page's GET
on the wire while the caller works, and still means exactly what it says.

Against a scripted server on 127.0.0.1: the request ahead really is on the wire before the
caller asks for it; a caller slower than ``TIMEOUT`` gets no spurious timeout; a stalled
page ahead times out from when it is needed; a failed page ahead is retried; stopping early
drops it and frees its connection; ``MAX_PAGES`` and the listing of a write are never passed
by reading ahead; the other sync drivers, and ``READ_AHEAD=False``, send one request at a
time.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from django_api_orm import exceptions as exc
from django_api_orm._registry import services
from tests.faults import (
    SYNC_TRANSPORTS,
    RawServer,
    Seen,
    book_json,
    recorded_attempts,
    reply,
    settings_for,
)
from tests.models import Book

PER_PAGE = 3


def page_of(seen: Seen) -> int:
    return int(parse_qs(urlsplit(seen.path).query).get("page", ["1"])[0])


def pages(
    count: int | None,
    last: int,
    *,
    before: Callable[[int, Seen], None] = lambda number, seen: None,
    close: bool = False,
    say_close: bool = True,
    **fields: Any,
) -> Callable[[Seen, Any], None]:
    """DRF pages of ``PER_PAGE`` books up to page ``last``, 404 past it (``count``: the total
    the pages claim, None for none); ``before(number, seen)`` runs first (a delay, a
    failure); ``close``: the server closes the connection after each answer, saying so with
    ``Connection: close`` unless ``say_close`` is False."""

    def answer(seen: Seen, handler: Any) -> None:
        number = page_of(seen)
        before(number, seen)
        if number > last:
            handler.close_connection = close
            reply(handler, 404, b'{"detail": "Invalid page."}')
            return
        first = (number - 1) * PER_PAGE + 1
        rows = [
            {"id": pk, "title": f"Book {pk}", "year": 2000, **fields}
            for pk in range(first, first + PER_PAGE)
        ]
        base = f"http://127.0.0.1:{handler.server.server_address[1]}/api/books/"
        body: dict[str, Any] = {
            "next": f"{base}?page={number + 1}&page_size={PER_PAGE}" if number < last else None,
            "previous": None,
            "results": rows,
        }
        if count is not None:
            body["count"] = count
        if close:
            handler.close_connection = True
        said = [("Connection", "close")] if close and say_close else []
        reply(handler, 200, json.dumps(body).encode(), said)

    return answer


@contextlib.contextmanager
def walking(
    answer: Callable[[Seen, Any], None], transport: str = "pycurl", **extra: Any
) -> Iterator[RawServer]:
    """A scripted server, and the ``default`` service on it (``extra``: its settings)."""
    with RawServer(answer) as server:
        configured = settings_for(server.url, SYNC_TRANSPORT=transport, **extra)
        with override_settings(API_ORM_SERVICES={"default": configured}):
            yield server


def requests_seen(server: RawServer, at_least: int, within: float = 1.0) -> int:
    """How many requests the server has received, waiting up to ``within`` seconds for
    ``at_least`` (the request ahead travels while the test holds the iterator still)."""
    ends = time.monotonic() + within
    while len(server.seen) < at_least and time.monotonic() < ends:
        time.sleep(0.01)
    return len(server.seen)


def rows(stream: Iterator[Book], n: int) -> list[int]:
    return [next(stream).pk for _ in range(n)]


# -- the request ahead is on the wire --------------------------------------------------------


@pytest.mark.parametrize("count", [None, 12], ids=["next-links", "planned"])
def test_the_next_page_is_on_the_wire_before_the_caller_asks(count: int | None) -> None:
    with walking(pages(count, 4)) as server:
        stream = Book.objects.iterator(chunk_size=PER_PAGE)
        assert rows(stream, 1) == [1]
        assert requests_seen(server, 2) == 2  # page 2 went out while we held row 1
        time.sleep(0.1)
        assert len(server.seen) == 2  # one page ahead, not more
        assert [1, *rows(stream, 11)] == list(range(1, 13))
        assert list(stream) == []
    # Pages ahead may travel on two connections, so the server may see them out of order.
    # Without a total, a full last page makes the walk probe the next one (a 404 here).
    assert sorted(page_of(seen) for seen in server.seen) == [1, 2, 3, 4, *([5] * (not count))]


@pytest.mark.parametrize("transport", [t for t in SYNC_TRANSPORTS if t.values[0] != "pycurl"])
def test_the_other_sync_drivers_send_one_request_at_a_time(transport: str) -> None:
    with walking(pages(None, 3), transport) as server:
        stream = Book.objects.iterator(chunk_size=PER_PAGE)
        assert rows(stream, 1) == [1]
        assert requests_seen(server, 2, within=0.3) == 1
        assert len(list(stream)) == 8


def test_read_ahead_off_sends_one_request_at_a_time() -> None:
    with walking(pages(None, 3), READ_AHEAD=False) as server:
        stream = Book.objects.iterator(chunk_size=PER_PAGE)
        assert rows(stream, 1) == [1]
        assert requests_seen(server, 2, within=0.3) == 1
        assert len(list(stream)) == 8


def test_the_server_works_while_the_caller_does() -> None:
    def slow(number: int, seen: Seen) -> None:
        time.sleep(0.15)

    with walking(pages(None, 6, before=slow)):
        started = time.monotonic()
        for book in Book.objects.iterator(chunk_size=PER_PAGE):
            if book.pk % PER_PAGE == 0:
                time.sleep(0.15)  # the caller's work on each page
        elapsed = time.monotonic() - started
    # One page after another: 6 x (0.15 + 0.15) = 1.8 s. Overlapped: about 6 x 0.15 + 0.15.
    assert elapsed < 1.5, elapsed


@pytest.mark.parametrize("say", [True, False], ids=["connection-close", "silent-close"])
def test_pages_ahead_on_connections_the_server_closes(say: bool) -> None:
    # Said: the next request opens a new connection. Silent: the client may find the kept
    # connection dead only when it sends; the retry policy resends (never libcurl itself).
    with walking(pages(None, 4, close=True, say_close=say)) as server:
        assert [b.pk for b in Book.objects.iterator(chunk_size=PER_PAGE)] == list(range(1, 13))
    numbers = [page_of(seen) for seen in server.seen]
    assert sorted(set(numbers)) == [1, 2, 3, 4, 5]
    if say:
        assert len(numbers) == 5 and server.connections == 5
    else:
        assert len(numbers) <= 10  # at most one resend per page


# -- deadlines count from when the page is needed --------------------------------------------


@pytest.mark.parametrize("timeout", [0.3, {"total": 0.3, "read": 0.2}], ids=["total", "read-phase"])
def test_a_caller_slower_than_the_timeout_gets_no_spurious_timeout(timeout: Any) -> None:
    with walking(pages(None, 3), TIMEOUT=timeout) as server:
        got = []
        for book in Book.objects.iterator(chunk_size=PER_PAGE):
            got.append(book.pk)
            if book.pk % PER_PAGE == 0:
                time.sleep(0.5)  # the page ahead waits, answered, far past TIMEOUT
    assert got == list(range(1, 10))
    assert sorted(page_of(seen) for seen in server.seen) == [1, 2, 3, 4]  # 4: the 404 probe


def test_a_stalled_page_ahead_times_out_from_when_it_is_needed() -> None:
    release = threading.Event()

    def stall(number: int, seen: Seen) -> None:
        if number == 2:
            release.wait(5)

    with walking(pages(None, 3, before=stall), TIMEOUT=0.5, MAX_RETRIES=0):
        try:
            stream = Book.objects.iterator(chunk_size=PER_PAGE)
            assert rows(stream, 3) == [1, 2, 3]
            time.sleep(0.3)  # page 2 is on the wire meanwhile, unanswered
            started = time.monotonic()
            with pytest.raises(exc.APITimeoutError) as info:
                next(stream)
            waited = time.monotonic() - started
        finally:
            release.set()
    assert 0.4 < waited < 1.5, waited  # the whole TIMEOUT, counted from the ask
    assert info.value.method == "GET" and "page=2" in info.value.url


# -- failures, retries and signals -----------------------------------------------------------


def test_a_page_ahead_that_fails_is_retried_and_reported_in_the_callers_thread() -> None:
    failed: set[int] = set()

    def flaky(number: int, seen: Seen) -> None:
        if number == 2 and number not in failed:
            failed.add(number)
            raise _Reply(503)

    with walking(_answering(pages(None, 3, before=flaky)), MAX_RETRIES=2) as server:
        threads: set[int] = set()
        with recorded_attempts() as attempts:
            from django_api_orm import signals

            def note(sender: Any, **kwargs: Any) -> None:
                threads.add(threading.get_ident())

            signals.api_request.connect(note, weak=False, dispatch_uid="ahead.thread")
            try:
                got = [book.pk for book in Book.objects.iterator(chunk_size=PER_PAGE)]
            finally:
                signals.api_request.disconnect(dispatch_uid="ahead.thread")
    assert got == list(range(1, 10))
    assert [page_of(seen) for seen in server.seen] == [1, 2, 2, 3, 4]
    assert [a["status_code"] for a in attempts] == [200, 503, 200, 200, 404]
    assert threads == {threading.get_ident()}


def test_stopping_early_drops_the_page_ahead_and_frees_its_connection() -> None:
    with walking(pages(None, 5)) as server:
        stream = Book.objects.iterator(chunk_size=PER_PAGE)
        assert rows(stream, 2) == [1, 2]
        assert requests_seen(server, 2) == 2
        stream.close()  # what a `break` out of a for loop does
        driver = services["default"].sync_driver()
        assert driver._busy == 0  # type: ignore[attr-defined]
        # The pool still works: the dropped connection was closed, not reused.
        assert Book.objects.iterator(chunk_size=PER_PAGE).__next__().pk == 1
    assert [page_of(seen) for seen in server.seen] == [1, 2, 1, 2]


@pytest.mark.parametrize("connections", [1, 2])
def test_a_page_ahead_never_takes_the_connection_the_loop_needs(connections: int) -> None:
    def answer(seen: Seen, handler: Any) -> None:
        if "/books/?" in seen.path:
            pages(None, 3)(seen, handler)
        else:  # a detail GET from inside the loop
            reply(handler, 200, book_json(seen.path.rstrip("/").rsplit("/", 1)[-1]))

    limits = {"MAX_CONNECTIONS": connections, "MAX_KEEPALIVE_CONNECTIONS": connections}
    with walking(answer, TIMEOUT=2, **limits) as server:
        started = time.monotonic()
        for book in Book.objects.iterator(chunk_size=PER_PAGE):
            assert Book.objects.get(pk=book.pk).pk == book.pk  # the same pool, in the loop
        elapsed = time.monotonic() - started
    assert elapsed < 1.5  # no wait for a connection held by the page ahead
    # With one connection nothing is read ahead; with two, the spare one is used for it.
    detail = [s for s in server.seen if "/books/?" not in s.path]
    assert len(detail) == 9


# -- bounds: MAX_PAGES and writes ------------------------------------------------------------


def test_reading_ahead_never_passes_max_pages() -> None:
    with walking(pages(None, 1000), MAX_PAGES=3) as server:
        with pytest.raises(exc.TooManyPages):
            list(Book.objects.iterator(chunk_size=PER_PAGE))
        time.sleep(0.1)
    assert [page_of(seen) for seen in server.seen] == [1, 2, 3]


def test_the_listing_of_a_write_does_not_read_ahead() -> None:
    # The API ignores year__gte: page 1 holds a row of 2000, and delete() refuses it.
    with walking(pages(None, 3)) as server:
        with pytest.raises(exc.FilterIgnored):
            Book.objects.filter(year__gte=2010).delete()
        time.sleep(0.1)
    assert [(seen.method, page_of(seen)) for seen in server.seen] == [("GET", 1)]


def test_a_refused_page_drops_the_page_ahead_unread() -> None:
    with walking(pages(None, 3)) as server:
        with pytest.raises(exc.FilterIgnored):
            list(Book.objects.filter(year__gte=2010).iterator(chunk_size=PER_PAGE))
        assert services["default"].sync_driver()._busy == 0  # type: ignore[attr-defined]
    assert all(seen.method == "GET" for seen in server.seen)
    assert len(server.seen) <= 2  # page 1, and at most the one page ahead


class _Reply(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def _answering(answer: Callable[[Seen, Any], None]) -> Callable[[Seen, Any], None]:
    """``answer``, where a :class:`_Reply` raised by it becomes that (empty) status."""

    def wrapped(seen: Seen, handler: Any) -> None:
        try:
            answer(seen, handler)
        except _Reply as status:
            reply(handler, status.status, b"{}")

    return wrapped
