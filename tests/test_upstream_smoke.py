"""Smoke tests for the upstream test API itself, with plain httpx."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.upstream_fixture import CLIENT_OPTIONS, Upstream


@pytest.fixture
def client(upstream: Upstream) -> Iterator[httpx.Client]:
    """A plain httpx client on the freshly reset upstream."""
    with httpx.Client(base_url=upstream.url, timeout=10.0, **CLIENT_OPTIONS) as http:
        yield http


def ids(rows: list[dict[str, object]]) -> list[object]:
    return [row["id"] for row in rows]


def test_page_number_envelope_and_page_two(upstream: Upstream, client: httpx.Client) -> None:
    first = client.get("/api/books/").json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 25
    assert first["previous"] is None
    assert first["next"] == f"{upstream.url}/api/books/?page=2"
    assert ids(first["results"]) == list(range(1, 11))
    assert first["results"][0] == {
        "id": 1,
        "title": "Book 01",
        "year": 1981,
        "in_stock": False,
        "author": "Bob",
        "isbn": "isbn-1",
        "writer": 2,
    }
    second = client.get(first["next"]).json()
    assert ids(second["results"]) == list(range(11, 21))
    assert second["previous"] == f"{upstream.url}/api/books/"
    last = client.get("/api/books/", params={"page": 3}).json()
    assert ids(last["results"]) == list(range(21, 26))
    assert last["next"] is None
    assert client.get("/api/books/", params={"page": 4}).status_code == 404


def test_page_size_param_and_config_knob(upstream: Upstream, client: httpx.Client) -> None:
    assert len(client.get("/api/books/", params={"page_size": 100}).json()["results"]) == 25
    upstream.config(page_size=4)
    assert ids(client.get("/api/books/").json()["results"]) == [1, 2, 3, 4]
    upstream.reset()
    assert len(client.get("/api/books/").json()["results"]) == 10


def test_filters(client: httpx.Client) -> None:
    body = client.get("/api/books/", params={"year__gte": 2000}).json()
    assert ids(body["results"]) == [20, 21, 22, 23, 24, 25]
    body = client.get("/api/books/", params={"id__in": "3,5,7", "in_stock": "false"}).json()
    assert ids(body["results"]) == [3, 5, 7]
    body = client.get("/api/books/", params={"author__in": "Ada,Cy", "year__lt": 1991}).json()
    assert ids(body["results"]) == [2, 5, 7, 10]
    body = client.get("/api/plain-books/", params={"isbn__isnull": "true"}).json()
    assert ids(body) == [3, 6, 9, 12, 15, 18, 21, 24]
    body = client.get("/api/plain-books/", params={"year__range": "1990,1992"}).json()
    assert ids(body) == [10, 11, 12]
    body = client.get("/api/plain-books/", params={"title__icontains": "book 1"}).json()
    assert ids(body) == list(range(10, 20))
    bad = client.get("/api/books/", params={"year": "abc"})
    assert bad.status_code == 400
    assert bad.json() == {"year": ["Enter a number."]}


def test_ordering(client: httpx.Client) -> None:
    body = client.get("/api/plain-books/", params={"ordering": "-year"}).json()
    assert ids(body) == list(range(25, 0, -1))
    body = client.get("/api/plain-books/", params={"ordering": "author,-id", "id__lte": 6}).json()
    assert [(row["author"], row["id"]) for row in body] == [
        ("Ada", 5),
        ("Bob", 6),
        ("Bob", 1),
        ("Cy", 2),
        ("Dee", 3),
        ("Eve", 4),
    ]


def test_detail_and_404(client: httpx.Client) -> None:
    assert client.get("/api/books/7/").json()["title"] == "Book 07"
    missing = client.get("/api/books/999/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No Book matches the given query."}
    assert client.get("/api/nowhere/").json() == {"detail": "Not found."}


def test_crud_and_validation(client: httpx.Client) -> None:
    bad = client.post("/api/books/", json={"year": 2020})
    assert bad.status_code == 400
    assert bad.json() == {"title": ["This field is required."]}
    created = client.post("/api/books/", json={"title": "New", "year": 2020})
    assert created.status_code == 201
    assert created.json() == {
        "id": 26,
        "title": "New",
        "year": 2020,
        "in_stock": True,
        "author": "",
        "isbn": "",
        "writer": None,
    }
    patched = client.patch("/api/books/26/", json={"year": 2021})
    assert patched.json()["year"] == 2021
    put = client.put("/api/books/26/", json={"title": "Put", "year": 1999, "isbn": None})
    assert put.json()["isbn"] is None
    assert client.delete("/api/books/26/").status_code == 204
    assert client.get("/api/books/26/").status_code == 404


def test_reset_restarts_ids(upstream: Upstream, client: httpx.Client) -> None:
    client.post("/api/books/", json={"title": "A", "year": 1})
    client.post("/api/books/", json={"title": "B", "year": 2})
    client.delete("/api/books/1/")
    upstream.reset()
    assert client.get("/api/books/").json()["count"] == 25
    assert client.post("/api/books/", json={"title": "C", "year": 3}).json()["id"] == 26


def test_idempotency_key_creates_once(upstream: Upstream, client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "abc-123"}
    first = client.post("/api/books/", json={"title": "Once", "year": 2001}, headers=headers)
    again = client.post("/api/books/", json={"title": "Once", "year": 2001}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert client.get("/api/books/", params={"title": "Once"}).json()["count"] == 1
    assert len(upstream.requests(path_prefix="/api/books/")) == 3


def test_fault_503_then_normal(upstream: Upstream, client: httpx.Client) -> None:
    upstream.fault(
        method="GET",
        path_prefix="/api/books/",
        status=503,
        headers={"Retry-After": "1"},
        body={"detail": "Service unavailable."},
    )
    assert client.post("/api/books/", json={"title": "ok", "year": 1}).status_code == 201
    failed = client.get("/api/books/")
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "1"
    assert failed.json() == {"detail": "Service unavailable."}
    assert client.get("/api/books/").status_code == 200
    assert upstream.pending_faults() == []
    assert [r["method"] for r in upstream.requests()] == ["POST", "GET", "GET"]


def test_close_fault_drops_connection(upstream: Upstream, client: httpx.Client) -> None:
    upstream.fault(path_prefix="/api/books/", action="close")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/api/books/")
    assert client.get("/api/books/").status_code == 200
    assert len(upstream.requests()) == 2


def test_delay_fault_serves_real_view(upstream: Upstream, client: httpx.Client) -> None:
    upstream.fault(path_prefix="/api/books/1/", delay=0.3)
    started = time.perf_counter()
    assert client.get("/api/books/1/").json()["id"] == 1
    assert time.perf_counter() - started >= 0.3
    upstream.fault(path_prefix="/api/books/2/", delay=0.4)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/api/books/2/", timeout=0.1)


def test_request_log_raw_path(upstream: Upstream, client: httpx.Client) -> None:
    response = client.get("/api/tags/a%2Fb/", params={"q": "x y"}, headers={"X-Test": "1"})
    assert response.json()["id"] == "a/b"
    assert response.json()["raw_path"] == "/api/tags/a%2Fb/"
    client.patch("/api/tags/%3F%23/", json={"name": "n"})
    log = upstream.requests()
    assert [entry["raw_path"] for entry in log] == ["/api/tags/a%2Fb/", "/api/tags/%3F%23/"]
    assert log[0]["path"] == "/api/tags/a/b/"
    assert log[0]["query"] == "q=x+y"
    assert log[0]["headers"]["x-test"] == "1"
    assert log[1]["method"] == "PATCH"
    assert log[1]["body"] == '{"name":"n"}'
    assert client.delete("/api/tags/%3F%23/").json()["id"] == "?#"
    upstream.clear_requests()
    assert upstream.requests() == []


def test_header_books_link_and_total(upstream: Upstream, client: httpx.Client) -> None:
    response = client.get("/api/header-books/", params={"per_page": 10})
    assert ids(response.json()) == list(range(1, 11))
    assert response.headers["x-total-count"] == "25"
    links = response.links
    assert links["next"]["url"] == f"{upstream.url}/api/header-books/?page=2&per_page=10"
    assert "prev" not in links
    last = client.get(links["last"]["url"])
    assert ids(last.json()) == list(range(21, 26))
    assert "next" not in last.links
    assert "page=2&" in last.links["prev"]["url"]


def test_cursor_books_next(client: httpx.Client) -> None:
    first = client.get("/api/cursor-books/").json()
    assert set(first) == {"next", "previous", "results"}
    assert ids(first["results"]) == list(range(1, 11))
    second = client.get(first["next"]).json()
    assert ids(second["results"]) == list(range(11, 21))
    assert second["previous"] is not None


def test_lo_books_limit_offset(upstream: Upstream, client: httpx.Client) -> None:
    body = client.get("/api/lo-books/", params={"limit": 5, "offset": 20}).json()
    assert body["count"] == 25
    assert ids(body["results"]) == [21, 22, 23, 24, 25]
    assert body["next"] is None
    assert body["previous"] == f"{upstream.url}/api/lo-books/?limit=5&offset=15"
    assert len(client.get("/api/lo-books/").json()["results"]) == 10


def test_auth(client: httpx.Client) -> None:
    anonymous = client.get("/api/private/books/")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
    good = {"Authorization": "Bearer test-token"}
    assert client.get("/api/private/books/", headers=good).json()["count"] == 25
    bad = {"Authorization": "Bearer nope"}
    for path in ("/api/books/", "/api/private/books/", "/api/tags/x/"):
        response = client.get(path, headers=bad)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}
