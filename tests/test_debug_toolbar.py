"""The django-debug-toolbar panel: each page lists its own outgoing requests.

Pages in tests/toolbar_views.py, rendered through the toolbar's middleware with Django's test
clients; the panel's content comes from the toolbar's own ``render_panel`` view.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

from django_api_orm import _observe
from tests.conftest import service_settings
from tests.models import Book
from tests.upstream_fixture import Upstream

pytestmark = pytest.mark.usefixtures("toolbar")

ROW = re.compile(r'<tr class="djdt-api-request">(.*?)</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


@pytest.fixture
def toolbar() -> Any:
    with override_settings(MIDDLEWARE=["debug_toolbar.middleware.DebugToolbarMiddleware"]):
        yield
    assert _observe._observers == ()  # every page unsubscribed


def request_id(page: Any) -> str:
    found = re.search(r'data-request-id="([0-9a-f]+)"', page.content.decode())
    assert found, "the toolbar was not inserted"
    return found.group(1)


def panel_content(page: Any) -> str:
    query = {"request_id": request_id(page), "panel_id": "APIRequestsPanel", "djdt": "1"}
    content: str = Client().get("/__debug__/render_panel/", query).json()["content"]
    return content


def rows(page: Any) -> list[list[str]]:
    """The table's rows: call, method, URL (path and query), status, attempts, time, error."""
    table = []
    for row in ROW.findall(panel_content(page)):
        cells = [html.unescape(TAG.sub("", cell)).strip() for cell in CELL.findall(row)]
        cells[2] = cells[2].split("/api/", 1)[-1]
        table.append(cells)
    return table


def subtitle(page: Any) -> str:
    found = re.search(r"(\d+ requests? in [\d.]+ ms)", page.content.decode())
    assert found, "no nav subtitle"
    return found.group(1)


def test_sync_page_lists_its_requests(upstream: Upstream) -> None:
    page = Client().get("/toolbar/sync/", {"djdt": "1"})
    assert page.status_code == 200
    table = rows(page)
    assert [row[:5] for row in table] == [
        ["Book.objects.get", "GET", "books/7/", "200", "1"],
        ["Book.objects.count", "GET", "books/?author=Ada&page=1&page_size=1", "200", "1"],
        ["Book.objects.get", "GET", "books/999/", "404", "1"],
    ]
    assert all(float(row[5]) > 0 for row in table) and [row[6] for row in table] == [""] * 3
    assert re.fullmatch(r"3 requests in \d+\.\d ms", subtitle(page))


async def test_async_page_lists_its_requests(upstream: Upstream) -> None:
    page = await AsyncClient().get("/toolbar/async/", {"djdt": "1"})
    assert page.status_code == 200
    table = await asyncio.to_thread(rows, page)
    assert [row[:5] for row in table] == [
        ["Book.objects.aiterator", "GET", "books/?author=Ada&page=1&page_size=3", "200", "1"],
        ["Book.objects.acount", "GET", "books/?author=Ada&page=1&page_size=1", "200", "1"],
    ]


def test_retries_are_attempts_of_one_row(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/7/", status=503, times=2)
    page = Client().get("/toolbar/sync/", {"djdt": "1"})
    first = rows(page)[0]
    assert first[:5] == ["Book.objects.get", "GET", "books/7/", "200", "3"]
    assert len(rows(page)) == 3


def test_failed_requests_show_the_error_and_no_status(upstream: Upstream) -> None:
    from tests.conftest import service_settings

    dead = service_settings(upstream, MAX_RETRIES=1)
    dead["BASE_URL"] = f"http://127.0.0.1:{_free_port()}/api/"
    with override_settings(API_ORM_SERVICES={"default": dead}):
        page = Client().get("/toolbar/down/", {"djdt": "1"})
        content = panel_content(page)
        [row] = rows(page)
    assert row[:2] == ["Book.objects.count", "GET"]
    assert row[2].startswith("books/?api_key=***&") and row[3:5] == ["—", "2"]
    assert row[6].startswith("APIConnectionError: [default] Connection refused")
    assert "s3cret" not in content


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_concurrent_pages_do_not_mix(upstream: Upstream) -> None:
    client = AsyncClient()
    ada, eve = await asyncio.gather(
        client.get("/toolbar/async/", {"djdt": "1", "author": "Ada", "delay": "0.2"}),
        client.get("/toolbar/async/", {"djdt": "1", "author": "Eve", "delay": "0"}),
    )
    ada_rows, eve_rows = await asyncio.gather(
        asyncio.to_thread(rows, ada), asyncio.to_thread(rows, eve)
    )
    assert [row[2] for row in ada_rows] == [
        "books/?author=Ada&page=1&page_size=3",
        "books/?author=Ada&page=1&page_size=1",
    ]
    assert all("author=Eve" in row[2] for row in eve_rows) and len(eve_rows) == 2


def test_requests_of_other_threads_do_not_leak_in(upstream: Upstream) -> None:
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            Book.objects.filter(author="Eve").count()

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        page = Client().get("/toolbar/sync/", {"djdt": "1"})
    finally:
        stop.set()
        worker.join()
    assert len(rows(page)) == 3
    assert not any("Eve" in row[2] for row in rows(page))


async def test_page_without_requests(upstream: Upstream) -> None:
    page = await AsyncClient().get("/toolbar/quiet/", {"djdt": "1"})
    content = await asyncio.to_thread(panel_content, page)
    assert "No API requests were made by this page." in content
    assert subtitle(page) == "0 requests in 0.0 ms"


def test_no_toolbar_no_receiver(upstream: Upstream) -> None:
    from django_api_orm import signals

    Client().get("/toolbar/sync/")  # the toolbar is not shown: nothing subscribes
    assert _observe._observers == ()
    assert not signals.api_request.has_listeners()


def test_refused_answers_are_noted(upstream: Upstream) -> None:
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        page = Client().get("/toolbar/refused/", {"djdt": "1"})
        table = rows(page)
    assert [row[:2] for row in table] == [
        ["NarrowBook.objects.delete", "GET"],
        ["NarrowBook.objects.count", "—"],
    ]
    assert table[0][7].startswith("verification: the API ignored title__startswith")
    assert table[1][7].startswith("refused before sending:")
    assert [e["method"] for e in upstream.requests()] == ["GET"]  # nothing deleted
