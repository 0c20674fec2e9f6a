"""A primary key is exactly one URL segment, secrets stay out of URLs shown to people."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_api_orm._core.urls import (
    check_same_origin,
    detail_path,
    encode_segment,
    redact_url,
    same_origin,
)
from django_api_orm.exceptions import APIError, InvalidPrimaryKey, UnsafeRequestError
from tests.models import Tag
from tests.upstream_fixture import Upstream

HOSTILE = [
    "a/b",
    "?x=1",
    "#frag",
    "%2F",
    "\\",
    "..\\..",
    "../../admin",
    "café ☕ 日本",
    "with space",
    " ",
    "https://evil.example/x",
    "//evil.example",
    "@evil.example",
    "a;b=c",
    "+plus+",
    "...",
]

FORBIDDEN_IN_SEGMENT = "/?#\\ "


def assert_one_segment(segment: str, value: str) -> None:
    assert segment, value
    for ch in FORBIDDEN_IN_SEGMENT:
        assert ch not in segment, (value, segment)
    assert segment not in {".", ".."}, value
    assert unquote(segment) == value


# -- encode_segment / detail_path ---------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_becomes_one_segment(value: str) -> None:
    segment = encode_segment(value)
    assert_one_segment(segment, value)
    assert segment.isascii()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a/b", "a%2Fb"),
        ("?x=1", "%3Fx%3D1"),
        ("#frag", "%23frag"),
        ("%2F", "%252F"),
        ("\\", "%5C"),
        ("https://evil.example/x", "https%3A%2F%2Fevil.example%2Fx"),
        ("//evil.example", "%2F%2Fevil.example"),
        ("with space", "with%20space"),
        ("é", "%C3%A9"),
        ("...", "..."),  # not a dot-segment: may stay as it is
        ("abc-_.~", "abc-_.~"),
        (7, "7"),
        (0, "0"),
    ],
)
def test_encode_segment_exact(value: object, expected: str) -> None:
    assert encode_segment(value) == expected


@pytest.mark.parametrize("value", [None, "", True, False])
def test_unaddressable_pk_raises_invalid_primary_key(value: object) -> None:
    with pytest.raises(InvalidPrimaryKey) as info:
        encode_segment(value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, APIError)


def test_lone_surrogate_raises_invalid_primary_key() -> None:
    with pytest.raises(InvalidPrimaryKey):
        encode_segment("a\ud800b")


@pytest.mark.parametrize("value", [None, ""])
def test_detail_path_refuses_empty_pk(value: object) -> None:
    with pytest.raises(InvalidPrimaryKey):
        detail_path("books/", value)


@pytest.mark.parametrize("value", HOSTILE)
def test_detail_path_adds_exactly_one_segment(value: str) -> None:
    path = detail_path("tags/", value)
    assert path.startswith("tags/")
    assert path.endswith("/")
    middle = path[len("tags/") : -1]
    assert "/" not in middle
    assert unquote(middle) == value


def test_detail_path_trailing_slash_and_missing_endpoint_slash() -> None:
    assert detail_path("books/", 7) == "books/7/"
    assert detail_path("books", 7) == "books/7/"
    assert detail_path("books/", 7, trailing_slash=False) == "books/7"
    assert detail_path("books", "a..b", trailing_slash=False) == "books/a..b"


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segments_are_refused(value: str, upstream: Upstream) -> None:
    # Percent-encoding does not protect them: yarl (the aiohttp transport) resolves %2E%2E.
    with pytest.raises(InvalidPrimaryKey, match="relative path step"):
        encode_segment(value)
    with pytest.raises(InvalidPrimaryKey):
        Tag.objects.get(pk=value)
    assert upstream.requests() == []


def test_unaddressable_pk_sends_no_request(upstream: Upstream) -> None:
    with pytest.raises(InvalidPrimaryKey):
        Tag.objects.get(pk="")
    assert upstream.requests() == []


@settings(max_examples=2000, deadline=None, database=None)
@given(st.text(min_size=1).filter(lambda v: v not in {".", ".."}))
def test_encode_segment_property(value: str) -> None:
    segment = encode_segment(value)
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert segment not in {".", ".."}
    assert unquote(segment) == value


# -- redact_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://api.example/x?token=abc&page=2",
            "https://api.example/x?token=***&page=2",
        ),
        (
            "https://api.example/x?access_token=abc&api_key=k&client_secret=s&password=p",
            "https://api.example/x?access_token=***&api_key=***&client_secret=***&password=***",
        ),
        ("https://api.example/x?X-Amz-Signature=ff", "https://api.example/x?X-Amz-Signature=***"),
        ("https://api.example/x?Authorization=Bearer+t", "https://api.example/x?Authorization=***"),
        ("https://api.example/x?page=2&ordering=-id", "https://api.example/x?page=2&ordering=-id"),
        ("https://user:hunter2@api.example/x", "https://api.example/x"),
        ("https://user:p@ss@api.example:8443/x", "https://api.example:8443/x"),
        ("https://api.example/x#secret-fragment", "https://api.example/x"),
        ("books/7/?token=abc", "books/7/?token=***"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_keeps_nothing_secret() -> None:
    url = "https://alice:s3cr3t@api.example/x?token=t0k3n&sig=abc123&page=1"
    redacted = redact_url(url)
    for secret in ("alice", "s3cr3t", "t0k3n", "abc123"):
        assert secret not in redacted
    assert "page=1" in redacted


def test_redact_url_survives_unparseable_input() -> None:
    assert redact_url("http://[::1") == "<unparseable url>"


# -- same_origin --------------------------------------------------------------------------------

BASE = "http://api.example/api/"


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("books/?page=2", True),
        ("/api/books/?page=2", True),
        ("http://api.example/api/books/?page=2", True),
        ("http://API.EXAMPLE/other/", True),
        ("http://api.example:80/api/", True),
        ("https://api.example/api/", False),
        ("http://api.example:8080/api/", False),
        ("http://evil.example/api/", False),
        ("//evil.example/api/", False),
        ("http://api.example.evil.example/", False),
        ("http://api.example@evil.example/", False),
    ],
)
def test_same_origin(url: str, same: bool) -> None:
    assert same_origin(url, BASE) is same


def test_same_origin_default_https_port() -> None:
    assert same_origin("https://api.example:443/x", "https://api.example/")
    assert not same_origin("https://api.example:444/x", "https://api.example/")


def test_check_same_origin_raises_with_redacted_url() -> None:
    with pytest.raises(UnsafeRequestError) as info:
        check_same_origin("http://evil.example/?token=leak", BASE, what="the next-page link")
    assert "leak" not in str(info.value)
    assert "evil.example" in str(info.value)
    check_same_origin("books/?page=2", BASE, what="the next-page link")  # no error


# -- end to end: the live upstream sees exactly one segment ---------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_pk_round_trips_through_upstream(upstream: Upstream, value: str) -> None:
    tag = Tag.objects.get(pk=value)
    assert tag.id == value
    log = upstream.requests()
    assert len(log) == 1, "exactly one request, and it reached our origin"
    entry = log[0]
    assert entry["method"] == "GET"
    raw_path: str = entry["raw_path"]
    assert raw_path.startswith("/api/tags/")
    rest = raw_path[len("/api/tags/") :]
    assert rest.endswith("/")
    segment = rest[:-1]
    assert segment and "/" not in segment, raw_path
    assert unquote(segment) == value
    assert tag.raw_path == raw_path
    assert entry["query"] == ""
    assert entry["headers"]["host"] == upstream.url.removeprefix("http://")


@pytest.mark.parametrize("value", ["...", "a/../b", "https://evil.example/x", "//evil.example"])
async def test_hostile_pk_round_trips_async(upstream: Upstream, value: str) -> None:
    tag = await Tag.objects.aget(pk=value)
    assert tag.id == value
    [entry] = upstream.requests()
    assert entry["raw_path"].startswith("/api/tags/")
    assert entry["raw_path"].count("/") == 4  # /api/tags/<one segment>/
