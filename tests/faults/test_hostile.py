"""Hostile input and hostile servers: URLs user input cannot steer, headers it cannot inject,
links a server cannot use to lead the token away, and bodies that only ever become typed
errors.

Already asserted elsewhere: ``encode_segment`` on 2,000 generated strings and hostile pks
end to end, ``tests/test_core_urls.py::test_encode_segment_property``,
``::test_hostile_pk_round_trips_through_upstream``; ``same_origin`` unit cases,
``::test_same_origin``; ``Request`` refusing CR/LF/NUL, ``tests/test_transport.py::
test_request_refuses_control_characters_in_headers``; settings refusing them,
``tests/test_settings.py::test_control_characters_in_header_value`` and
``::test_control_characters_in_auth_token_without_echoing_it``; error-body parsing,
``tests/test_core_errors.py::test_parse_json_malformed_names_content_type_and_url``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
import yarl
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_api_orm import APIModel, ServiceClient
from django_api_orm import exceptions as exc
from django_api_orm._core.messages import Request
from django_api_orm._core.walk import PageWalker
from django_api_orm._drivers.base import absolute_url
from django_api_orm._registry import services
from tests.conftest import service_settings
from tests.faults import (
    ASYNC_TRANSPORTS,
    RawServer,
    Seen,
    aclosing_services,
    recorded_attempts,
    reply,
    settings_for,
)
from tests.models import Book, BookSchema, Tag
from tests.upstream_fixture import Upstream

# -- a seeded generator of hostile strings ----------------------------------------------------

HOSTILE_PIECES = [
    "/", "?", "#", "%", "%2F", "%2e%2e", "%00", ".", "..", "\\", " ", "+", "&", "=", ";", ",",
    "@", ":", "//", "http://evil.example", "\r", "\n", "\x00", "\t", "\x7f", "é", "☃", "😀",
    "\u202e", "\u200b", "\ufeff", "日本", "a", "Z", "0", "~", "-", "_", "'", '"', "<", ">",
]  # fmt: skip


def hostile_strings(count: int, *, seed: int, surrogates: bool = False) -> Iterator[str]:
    """``count`` strings of 1-8 hostile pieces (and lone surrogates when asked)."""
    rng = random.Random(seed)
    pieces = [*HOSTILE_PIECES, "\ud800", "\udfff"] if surrogates else HOSTILE_PIECES
    for _ in range(count):
        yield "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))


# -- 100,000 generated primary keys: one segment, on the service's origin ----------------------
#
# Hypothesis draws ~50-100 us per value, so 100,000 of its values cost 5-10 s before any check:
# the 100,000 come from a seeded generator (hostile pieces, code points from all of Unicode
# with lone surrogates, integers), and hypothesis adds 10,000 of its own (st.text() with
# surrogates, st.integers()) built through the full ``Service._build``.

PK_VALUES = st.one_of(st.text(st.characters(exclude_categories=())), st.integers())
PK_BATCH = 50
PK_EXAMPLES = 200
SEEDED_PKS = 100_000


def generated_pks(count: int, *, seed: int) -> Iterator[Any]:
    """Primary keys a hostile caller could pass: a quarter each of hostile-piece strings,
    random code points (any plane, surrogates included), printable ASCII and integers."""
    rng = random.Random(seed)
    hostile = hostile_strings(count, seed=seed, surrogates=True)
    for n in range(count):
        kind = n % 4
        if kind == 0:
            yield next(hostile)
        elif kind == 1:
            yield "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randint(1, 6)))
        elif kind == 2:
            yield "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randint(1, 12)))
        else:
            yield rng.randint(-(2**70), 2**70)


def check_pk(value: Any, build: Any) -> bool:
    """Build the detail URL of ``value`` as ``Tag.objects.get(pk=value)`` does, with
    ``build(path) -> httpx.URL``; True if it was refused before any request could exist."""
    dialect = services["default"].context.dialect
    try:
        path = dialect.detail_path(Tag._meta.endpoint, value)
    except exc.InvalidPrimaryKey:
        text = str(value)
        assert text in ("", ".", "..") or any(0xD800 <= ord(c) <= 0xDFFF for c in text), value
        return True
    url = build(path)
    base = httpx.URL(services["default"].wire.base_url)
    assert (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port), value
    assert url.query == b"" and url.fragment == "", value
    raw = url.raw_path.decode("ascii")
    assert raw.startswith("/api/tags/") and raw.endswith("/"), (value, raw)
    segment = raw[len("/api/tags/") : -1]
    assert segment and "/" not in segment, (value, raw)
    assert unquote(segment, errors="strict") == str(value), (value, raw)
    # aiohttp re-parses the URL with yarl, which may re-quote (``%40`` → ``@``): the same
    # origin and still one segment that decodes to the value.
    sent = yarl.URL(str(url))
    assert (sent.scheme, sent.host, sent.port) == (url.scheme, url.host, url.port)
    assert sent.raw_query_string == "" and sent.raw_path.startswith("/api/tags/"), value
    resent = sent.raw_path[len("/api/tags/") : -1]
    assert resent and "/" not in resent and unquote(resent) == str(value), (value, sent)
    return False


def full_build(path: str) -> httpx.URL:
    """The URL of the request ``Service`` really sends."""
    return httpx.URL(services["default"]._prepare(Request("GET", path)).url)


def merged_url(path: str) -> httpx.URL:
    """The URL step alone (the same URL, built without headers)."""
    return httpx.URL(absolute_url(services["default"].wire.base_url, path))


def test_100k_seeded_pks_stay_one_segment_on_the_services_origin() -> None:
    counts = {"built": 0, "refused": 0}
    for n, value in enumerate(generated_pks(SEEDED_PKS, seed=7)):
        refused = check_pk(value, merged_url)
        counts["refused" if refused else "built"] += 1
        if n % 100 == 0 and not refused:  # the shortcut is the real thing
            path = services["default"].context.dialect.detail_path("tags/", value)
            assert merged_url(path) == full_build(path)
    assert sum(counts.values()) == SEEDED_PKS
    assert 0 < counts["refused"] < SEEDED_PKS // 10
    print(f"FIGURE seeded pks: {counts}")


def test_hypothesis_pks_stay_one_segment_on_the_services_origin() -> None:
    counts = {"built": 0, "refused": 0}

    @settings(
        max_examples=PK_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.data_too_large, HealthCheck.too_slow],
    )
    @given(st.lists(PK_VALUES, min_size=PK_BATCH, max_size=PK_BATCH))
    def run(values: list[Any]) -> None:
        for value in values:
            counts["refused" if check_pk(value, full_build) else "built"] += 1

    run()
    assert sum(counts.values()) >= PK_EXAMPLES * PK_BATCH * 0.95, counts
    print(f"FIGURE hypothesis pks: {counts}")


def test_seeded_hostile_pks_stay_one_segment() -> None:
    values = hostile_strings(5_000, seed=1, surrogates=True)
    refused = sum(check_pk(value, full_build) for value in values)
    assert 0 < refused < 5_000


# -- generated lookup values: the query string round-trips exactly -----------------------------


def sent_params(queryset: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(what the plan asks for, what the built httpx request's query string decodes to)."""
    service = services["default"]
    walker = PageWalker(
        service.context, Book._meta.endpoint, queryset.query, Book._meta.query_context(service)
    )
    request = walker.first_request
    assert request is not None
    url = httpx.URL(service._prepare(request).url)
    assert url.path == "/api/books/"
    decoded = parse_qsl(url.query.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    explained = queryset.explain().splitlines()[0].split("?", 1)[1]
    assert parse_qsl(explained, keep_blank_values=True, strict_parsing=True) == decoded
    return list(request.params), decoded


@settings(max_examples=1500, deadline=None, database=None)
@given(title=st.text(min_size=1), year=st.integers(), search=st.text())
def test_generated_lookup_values_round_trip(title: str, year: int, search: str) -> None:
    queryset = Book.objects.filter(title=title, year__gte=year, author__icontains=title)
    wanted, decoded = sent_params(queryset.params(search=search))
    assert decoded == wanted
    assert ("title", title) in decoded
    assert ("year__gte", str(year)) in decoded
    assert ("author__icontains", title) in decoded
    assert ("search", search) in decoded


def test_seeded_hostile_lookup_values_round_trip() -> None:
    for value in hostile_strings(3000, seed=2):
        wanted, decoded = sent_params(Book.objects.filter(title=value))
        assert decoded == wanted
        assert decoded[0] == ("title", value)


def test_empty_lookup_value_is_refused_before_any_request(upstream: Upstream) -> None:
    with pytest.raises(exc.NotSupportedError, match="empty value"):
        Book.objects.filter(title="").count()
    assert upstream.requests() == []


@pytest.mark.parametrize("value", ["&page=99", "a&title=b", "x#frag", "100%", "+ +", "日本;"])
def test_hostile_lookup_values_reach_the_server_unchanged(upstream: Upstream, value: str) -> None:
    assert Book.objects.filter(title=value).count() == 0
    [entry] = upstream.requests()
    params = parse_qsl(entry["query"], keep_blank_values=True)
    assert params[0] == ("title", value)
    assert [k for k, _ in params].count("page") == 1


def test_lone_surrogate_in_a_lookup_value_is_a_typed_error(upstream: Upstream) -> None:
    with pytest.raises(exc.APIError):
        Book.objects.filter(title="a\ud800").count()
    assert upstream.requests() == []


# -- CR, LF and NUL: refused before anything is sent, never retried ---------------------------

INJECTIONS = [v for v in hostile_strings(400, seed=3) if any(c in v for c in "\r\n\x00")]


def test_header_injection_in_a_plan_is_refused_before_sending(upstream: Upstream) -> None:
    service = services["default"]
    refused = 0
    with recorded_attempts() as attempts:
        for value in INJECTIONS:

            def plan(value: str = value) -> Any:
                request = Request("GET", "books/1/", headers={"X-Trace": value})
                return (yield from service.context.send(request))

            with pytest.raises(exc.UnsafeRequestError):
                service.run(plan())
            refused += 1
    assert refused == len(INJECTIONS) > 50
    assert attempts == []
    assert upstream.requests() == []


@pytest.mark.parametrize("where", ["HEADERS value", "HEADERS name", "AUTH_TOKEN", "AUTH_SCHEME"])
def test_header_injection_in_settings_sends_nothing(upstream: Upstream, where: str) -> None:
    evil = "v\r\nX-Injected: 1"
    extra: dict[str, Any] = {
        "HEADERS value": {"HEADERS": {"X-A": evil}},
        "HEADERS name": {"HEADERS": {evil: "v"}},
        "AUTH_TOKEN": {"AUTH_TOKEN": evil},
        "AUTH_SCHEME": {"AUTH_TOKEN": "t", "AUTH_SCHEME": evil},
    }[where]
    configured = service_settings(upstream, **extra)
    with (
        override_settings(API_ORM_SERVICES={"default": configured}),
        pytest.raises(ImproperlyConfigured) as info,
    ):
        Book.objects.get(pk=1)
    assert "CR, LF or NUL" in str(info.value)
    assert "X-Injected" not in str(info.value) or where == "HEADERS name"
    assert upstream.requests() == []


@pytest.mark.parametrize(
    "options", [{"auth_token": "t\r\nX-Injected: 1"}, {"headers": {"X-A": "a\nX-Injected: 1"}}]
)
def test_header_injection_in_an_explicit_client_is_refused(
    upstream: Upstream, options: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        ServiceClient(f"{upstream.url}/api/", **options)
    assert upstream.requests() == []  # (whether the token is echoed: tests/faults/test_secrets)


# -- pagination links that leave the origin or loop --------------------------------------------

ROWS = [{"id": n, "title": f"Book {n:02d}", "year": 2000} for n in range(1, 11)]


@pytest.fixture
def elsewhere() -> Iterator[RawServer]:
    """Another origin (same host, another port) that records whatever reaches it."""

    def answer(seen: Seen, handler: Any) -> None:
        reply(handler, 200, json.dumps({"count": 0, "next": None, "results": []}).encode())

    with RawServer(answer) as server:
        yield server


def foreign_links(upstream: Upstream, elsewhere: RawServer) -> list[Any]:
    other = elsewhere.url.removeprefix("http://")
    own = upstream.url.removeprefix("http://")
    return [
        pytest.param(f"http://{other}/api/books/?page=2", id="other-port"),
        pytest.param(f"//{other}/api/books/?page=2", id="scheme-relative"),
        pytest.param(f"https://{own}/api/books/?page=2", id="https-same-host"),
        pytest.param(f"http://user@{other}/api/books/?page=2", id="userinfo"),
    ]


@pytest.mark.parametrize("kind", ["other-port", "scheme-relative", "https-same-host", "userinfo"])
@pytest.mark.parametrize("with_count", [False, True])
def test_next_link_to_another_origin_is_refused(
    upstream: Upstream, elsewhere: RawServer, kind: str, with_count: bool
) -> None:
    link = {p.id: p.values[0] for p in foreign_links(upstream, elsewhere)}[kind]
    envelope: dict[str, Any] = {"next": link, "previous": None, "results": ROWS}
    if with_count:
        envelope["count"] = 25  # the total is known: pages would be planned, not followed
    upstream.fault(path_prefix="/api/books/", status=200, body=envelope, times=None)
    with pytest.raises(exc.UnsafeRequestError, match="origin"):
        list(Book.objects.all())
    assert elsewhere.seen == []
    assert len(upstream.requests("/api/books/")) == 1


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_next_link_to_another_origin_is_refused(
    upstream: Upstream, elsewhere: RawServer, transport: str
) -> None:
    link = f"{elsewhere.url}/api/books/?page=2"
    envelope = {"next": link, "previous": None, "results": ROWS}
    upstream.fault(path_prefix="/api/books/", status=200, body=envelope, times=None)
    async with aclosing_services(default=service_settings(upstream, ASYNC_TRANSPORT=transport)):
        with pytest.raises(exc.UnsafeRequestError):
            await Book.objects.all().aall()
        with pytest.raises(exc.UnsafeRequestError):
            [book async for book in Book.objects.aiterator()]
    assert elsewhere.seen == []


class HeaderBook(APIModel):
    _schema_class = BookSchema
    _endpoint = "header-books/"
    _service = "header"


def test_link_header_to_another_origin_is_refused(upstream: Upstream, elsewhere: RawServer) -> None:
    link = f'<{elsewhere.url}/api/header-books/?page=2>; rel="next"'
    upstream.fault(
        path_prefix="/api/header-books/", status=200, body=ROWS, headers={"Link": link}, times=None
    )
    with pytest.raises(exc.UnsafeRequestError):
        list(HeaderBook.objects.all())
    assert elsewhere.seen == []


def test_next_link_to_itself_is_refused_after_one_repeat(upstream: Upstream) -> None:
    own = f"{upstream.url}/api/books/?page=2"
    envelope = {"next": own, "previous": None, "results": ROWS}
    upstream.fault(path_prefix="/api/books/", status=200, body=envelope, times=None)
    with pytest.raises(exc.PaginationError, match=r"Book.*(repeats|followed already)"):
        list(Book.objects.all())
    assert len(upstream.requests("/api/books/")) == 2


def test_next_links_in_a_cycle_are_refused() -> None:
    """Page 1 → 2 → 3 → 2 with the same rows: page 2 already repeats page 1's rows."""

    def answer(seen: Seen, handler: Any) -> None:
        page = dict(parse_qsl(seen.path.partition("?")[2])).get("page", "1")
        following = {"1": "2", "2": "3", "3": "2"}[page]
        envelope = {"next": f"/api/books/?page={following}", "results": ROWS}
        reply(handler, 200, json.dumps(envelope).encode())

    with (
        RawServer(answer) as server,
        override_settings(API_ORM_SERVICES={"default": settings_for(server.url)}),
        pytest.raises(exc.PaginationError, match=r"repeats|followed already"),
    ):
        list(Book.objects.all())
    assert len(server.seen) == 2


# -- bodies that are not what was promised ------------------------------------------------------

NOT_JSON = [
    pytest.param("{not json", "application/json", id="malformed-json"),
    pytest.param("<html><body><h1>Gateway</h1></body></html>", "text/html", id="html-page"),
    pytest.param("<book><id>1</id></book>", "application/xml", id="wrong-content-type"),
    pytest.param("[" * 100_000, "application/json", id="nested-100k-deep"),
    pytest.param('{"id": 1, "title": "t"', "application/json", id="truncated-json"),
]


@pytest.mark.parametrize(("body", "content_type"), NOT_JSON)
def test_detail_body_that_is_not_json(upstream: Upstream, body: str, content_type: str) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=200, body=body, content_type=content_type)
    with pytest.raises(exc.ResponseError) as info:
        Book.objects.get(pk=1)
    error = info.value
    assert type(error) is exc.ResponseError
    assert (error.method, error.status_code, error.service) == ("GET", 200, "default")
    assert error.url == f"{upstream.url}/api/books/1/"
    assert content_type in str(error)
    assert len(str(error)) < 600  # a snippet, not the whole body


@pytest.mark.parametrize(("body", "content_type"), NOT_JSON)
def test_list_body_that_is_not_json(upstream: Upstream, body: str, content_type: str) -> None:
    upstream.fault(path_prefix="/api/books/", status=200, body=body, content_type=content_type)
    with pytest.raises(exc.ResponseError) as info:
        list(Book.objects.all())
    assert info.value.url.startswith(f"{upstream.url}/api/books/?")
    assert content_type in str(info.value)


def test_body_that_is_not_utf8() -> None:
    def answer(seen: Seen, handler: Any) -> None:
        reply(handler, 200, b'\xff\xfe{"id": 1, "title": "\xe9"}')

    with (
        RawServer(answer) as server,
        override_settings(API_ORM_SERVICES={"default": settings_for(server.url)}),
        pytest.raises(exc.ResponseError) as info,
    ):
        Book.objects.get(pk=1)
    assert info.value.url.endswith("/api/books/1/")


WRONG_SHAPES = [
    pytest.param("/api/books/1/", [1, 2], "Book: expected a JSON object", id="detail-list"),
    pytest.param("/api/books/1/", "", "Book: the server sent an empty body", id="detail-empty"),
    pytest.param("/api/books/", {"results": "nope"}, "Book: unexpected list", id="results-str"),
    pytest.param("/api/books/", {"count": 3}, "Book: unexpected list", id="no-results"),
    pytest.param("/api/books/", 42, "Book: unexpected list", id="list-number"),
]


@pytest.mark.parametrize(("path", "body", "message"), WRONG_SHAPES)
def test_json_of_the_wrong_shape_names_the_model(
    upstream: Upstream, path: str, body: Any, message: str
) -> None:
    upstream.fault(path_prefix=path, status=200, body=body, content_type="application/json")
    with pytest.raises(exc.ResponseError, match=message) as info:
        Book.objects.get(pk=1) if path.endswith("1/") else list(Book.objects.all())
    assert "books/" in info.value.url


SCHEMA_MISMATCHES = [
    pytest.param({"id": 1, "title": "t", "year": "abc"}, "year", id="wrong-type"),
    pytest.param({"id": 1, "year": 2000}, "title", id="missing-field"),
    pytest.param({"id": "x", "title": "t", "year": 1}, "id", id="wrong-pk-type"),
    pytest.param({"id": 1, "title": ["t"], "year": 1}, "title", id="list-for-str"),
]


@pytest.mark.parametrize(("row", "field"), SCHEMA_MISMATCHES)
def test_schema_mismatch_names_model_and_field(
    upstream: Upstream, row: dict[str, Any], field: str
) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=200, body=row)
    with pytest.raises(exc.ResponseError) as info:
        Book.objects.get(pk=1)
    error = info.value
    assert (error.model, error.field) == ("Book", field)
    assert "Book" in str(error) and repr(field) in str(error) and "BookSchema" in str(error)
    assert "books/" in error.url


@pytest.mark.parametrize(("row", "field"), SCHEMA_MISMATCHES[:2])
def test_schema_mismatch_in_a_list_names_model_and_field(
    upstream: Upstream, row: dict[str, Any], field: str
) -> None:
    envelope = {"count": 2, "next": None, "results": [ROWS[0], {**row, "id": 2}]}
    upstream.fault(path_prefix="/api/books/", status=200, body=envelope)
    with pytest.raises(exc.ResponseError) as info:
        list(Book.objects.all())
    assert (info.value.model, info.value.field) == ("Book", field)


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_malformed_and_mismatched_bodies(upstream: Upstream, transport: str) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=200, body="{oops", content_type="text/html")
    upstream.fault(path_prefix="/api/books/2/", status=200, body={"id": 2, "year": "x"})
    async with aclosing_services(default=service_settings(upstream, ASYNC_TRANSPORT=transport)):
        with pytest.raises(exc.ResponseError, match="text/html") as malformed:
            await Book.objects.aget(pk=1)
        with pytest.raises(exc.ResponseError) as mismatched:
            await Book.objects.aget(pk=2)
    assert malformed.value.url.endswith("/api/books/1/")
    assert mismatched.value.model == "Book" and mismatched.value.field in ("title", "year")


def test_schema_mismatch_names_the_request(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/7/", status=200, body={"id": 7, "year": "x"})
    with pytest.raises(exc.ResponseError) as info:
        Book.objects.get(pk=7)
    error = info.value
    assert error.url == f"{upstream.url}/api/books/7/"
    assert (error.method, error.service) == ("GET", "default")


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error"),
    [
        (502, "<html><h1>Bad Gateway</h1></html>", "text/html", exc.ServerError),
        (400, "<html>Bad Request</html>", "text/html", exc.ValidationError),
        (404, "Not Found", "text/plain", Book.DoesNotExist),
        (500, "", None, exc.ServerError),
        (503, '{"detail": ', "application/json", exc.ServerError),
    ],
)
def test_error_pages_that_are_not_json_are_typed(
    upstream: Upstream, status: int, body: str, content_type: str | None, error: type
) -> None:
    upstream.fault(
        path_prefix="/api/books/1/", status=status, body=body, content_type=content_type, times=None
    )
    with pytest.raises(error) as info:
        Book.objects.get(pk=1)
    if isinstance(info.value, exc.HTTPStatusError):
        assert info.value.status_code == status
        assert info.value.url == f"{upstream.url}/api/books/1/"
        assert info.value.field_errors == {}


def test_query_strings_are_encoded_exactly_as_urlencode() -> None:
    # absolute_url() joins plain names and values as they are (the hot path of every list
    # request); any other string must come out as urlencode() writes it.
    from urllib.parse import urlencode

    from django_api_orm._drivers.base import encode_params

    values = list(generated_pks(2_000, seed=11))
    for name, value in zip(values, reversed(values), strict=True):
        params = [("page", "3"), (name, value), ("title__icontains", value)]
        assert outcome(encode_params, params) == outcome(urlencode, params)
    assert encode_params([("page_size", 100)]) == "page_size=100"  # type: ignore[list-item]
    assert encode_params([]) == ""


def outcome(encode: Any, params: Any) -> Any:
    """What ``encode(params)`` returns, or the type of what it raises (lone surrogates)."""
    try:
        return encode(params)
    except UnicodeEncodeError as error:
        return type(error)
