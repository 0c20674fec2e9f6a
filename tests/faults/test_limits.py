"""``MAX_RESPONSE_BYTES``: a body larger than the cap (counted after decompression) raises
``ResponseTooLarge`` while no more than about the cap is ever held in memory.

Bodies are served by :class:`tests.faults.RawServer`, which can stream tens of MiB without
building them, send a ``Content-Length`` it never honours, and send gzip bombs as raw bytes.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm import exceptions as exc
from django_api_orm._registry import services
from django_api_orm._settings import ServiceSettings
from tests.conftest import service_settings
from tests.faults import (
    ASYNC_TRANSPORTS,
    RawServer,
    Seen,
    aclosing_services,
    book_json,
    recorded_attempts,
    reply,
    settings_for,
    stream_reply,
)
from tests.models import Book
from tests.upstream_fixture import Upstream

MiB = 1024 * 1024
DEFAULT_CAP = 10 * MiB
HEADROOM = 20 * MiB  # the figure: peak memory under cap + 20 MiB
STREAMED = 40 * MiB
BOMB_INFLATED = 128 * MiB
CHUNK = b" " * (64 * 1024)

SYNC_AND_ASYNC = [pytest.param("sync", id="sync"), *ASYNC_TRANSPORTS]


def test_defaults() -> None:
    assert ServiceSettings(BASE_URL="https://api.example/").MAX_RESPONSE_BYTES == 10_485_760
    uncapped = ServiceSettings(BASE_URL="https://api.example/", MAX_RESPONSE_BYTES=0)
    assert uncapped.MAX_RESPONSE_BYTES == 0
    assert issubclass(exc.ResponseTooLarge, exc.ResponseError)


def peak_of(call: Callable[[], Any]) -> tuple[Any, int]:
    """``call()``'s result (or exception) and the peak of traced memory meanwhile."""
    tracemalloc.start()
    try:
        try:
            result: Any = call()
        except Exception as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def capped_get(mode: str, configured: dict[str, object]) -> tuple[Any, int]:
    """``Book.objects.get(pk=1)`` (mode "sync"), or ``aget`` in a fresh loop over the async
    transport ``mode``: its result or exception, and the peak of traced memory."""
    if mode == "sync":
        with override_settings(API_ORM_SERVICES={"default": configured}):
            return peak_of(lambda: Book.objects.get(pk=1))

    async def aget() -> Any:
        try:
            return await Book.objects.aget(pk=1)
        finally:
            await services["default"].aclose()

    with override_settings(API_ORM_SERVICES={"default": {**configured, "ASYNC_TRANSPORT": mode}}):
        return peak_of(lambda: asyncio.run(aget()))


# -- exactly at the cap -------------------------------------------------------------------------

BODY = book_json(1, title="x" * 5000)


def test_a_body_of_exactly_the_cap_passes_one_byte_more_fails(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=200, body=BODY.decode(), times=2)
    at_cap = service_settings(upstream, MAX_RESPONSE_BYTES=len(BODY))
    with override_settings(API_ORM_SERVICES={"default": at_cap}):
        assert Book.objects.get(pk=1).title == "x" * 5000
    below = service_settings(upstream, MAX_RESPONSE_BYTES=len(BODY) - 1)
    with (
        override_settings(API_ORM_SERVICES={"default": below}),
        pytest.raises(exc.ResponseTooLarge) as info,
    ):
        Book.objects.get(pk=1)
    assert_names_the_request(info.value, len(BODY) - 1)
    assert len(upstream.requests("/api/books/")) == 2  # a too-large body is not retried


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
async def test_async_body_of_exactly_the_cap_passes_one_byte_more_fails(
    upstream: Upstream, transport: str
) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=200, body=BODY.decode(), times=2)
    at_cap = service_settings(upstream, MAX_RESPONSE_BYTES=len(BODY), ASYNC_TRANSPORT=transport)
    async with aclosing_services(default=at_cap):
        assert (await Book.objects.aget(pk=1)).title == "x" * 5000
    below = {**at_cap, "MAX_RESPONSE_BYTES": len(BODY) - 1}
    async with aclosing_services(default=below):
        with pytest.raises(exc.ResponseTooLarge) as info:
            await Book.objects.aget(pk=1)
    assert_names_the_request(info.value, len(BODY) - 1)
    assert len(upstream.requests("/api/books/")) == 2


def assert_names_the_request(error: exc.ResponseTooLarge, cap: int) -> None:
    assert error.method == "GET" and "books/1/" in error.url and error.service == "default"
    assert f"{cap} bytes" in str(error)


# -- big bodies, with and without Content-Length ------------------------------------------------


class Streams:
    """Streams ``STREAMED`` bytes of JSON-ish whitespace, chunked or with a Content-Length."""

    def __init__(self, framing: str) -> None:
        self.framing = framing
        self.written = 0

    def __call__(self, seen: Seen, handler: Any) -> None:
        chunks = itertools.repeat(CHUNK, STREAMED // len(CHUNK))
        length = STREAMED if self.framing == "content-length" else None
        self.written = stream_reply(handler, chunks, length=length)


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
@pytest.mark.parametrize("mode", SYNC_AND_ASYNC)
def test_big_body_refused_within_cap_plus_headroom(mode: str, framing: str) -> None:
    answer = Streams(framing)
    with RawServer(answer) as server:
        error, peak = capped_get(mode, settings_for(server.url))  # the default cap: 10 MiB
    assert isinstance(error, exc.ResponseTooLarge), error
    assert peak < DEFAULT_CAP + HEADROOM, peak / MiB
    assert len(server.seen) == 1
    if framing == "content-length":
        assert answer.written < STREAMED  # the client hung up instead of reading it all
    print(f"FIGURE {STREAMED // MiB} MiB {framing}/{mode}: peak {peak / MiB:.1f} MiB")


def test_no_cap_when_zero() -> None:
    big = book_json(1, title="x" * (11 * MiB))

    def answer(seen: Seen, handler: Any) -> None:
        reply(handler, 200, big)

    with RawServer(answer) as server:
        with (
            override_settings(API_ORM_SERVICES={"default": settings_for(server.url)}),
            pytest.raises(exc.ResponseTooLarge),
        ):
            Book.objects.get(pk=1)  # over the default cap
        uncapped = settings_for(server.url, MAX_RESPONSE_BYTES=0)
        with override_settings(API_ORM_SERVICES={"default": uncapped}):
            assert len(Book.objects.get(pk=1).title) == 11 * MiB


# -- gzip and deflate bombs ---------------------------------------------------------------------


@functools.cache
def bomb(wbits: int) -> bytes:
    """``BOMB_INFLATED`` bytes of spaces, compressed (~1000:1); wbits 31 gzip, 15 zlib, -15
    raw deflate."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b" " * MiB
    parts = [compressor.compress(block) for _ in range(BOMB_INFLATED // MiB)]
    return b"".join([*parts, compressor.flush()])


def bomb_server(encoding: str, wbits: int) -> RawServer:
    payload = bomb(wbits)

    def answer(seen: Seen, handler: Any) -> None:
        reply(handler, 200, payload, [("Content-Encoding", encoding)])

    return RawServer(answer)


@pytest.mark.parametrize("mode", SYNC_AND_ASYNC)
def test_gzip_bomb_refused_within_cap_plus_headroom(mode: str) -> None:
    payload = bomb(31)
    assert len(payload) < DEFAULT_CAP // 50  # small on the wire, 128 MiB inflated
    with bomb_server("gzip", 31) as server:
        error, peak = capped_get(mode, settings_for(server.url))
    assert isinstance(error, exc.ResponseTooLarge), error
    assert peak < DEFAULT_CAP + HEADROOM, peak / MiB
    assert len(server.seen) == 1
    print(
        f"FIGURE gzip bomb {len(payload) // 1024} KiB -> {BOMB_INFLATED // MiB} MiB/{mode}: "
        f"peak {peak / MiB:.1f} MiB"
    )


@pytest.mark.parametrize(("encoding", "wbits"), [("deflate", 15), ("deflate", -15), ("gzip", 31)])
def test_deflate_and_gzip_bombs_refused(encoding: str, wbits: int) -> None:
    with bomb_server(encoding, wbits) as server:
        small_cap = settings_for(server.url, MAX_RESPONSE_BYTES=MiB)
        with override_settings(API_ORM_SERVICES={"default": small_cap}):
            error, peak = peak_of(lambda: Book.objects.get(pk=1))
    assert isinstance(error, exc.ResponseTooLarge), error
    assert peak < MiB + HEADROOM


def test_compressed_body_within_cap_after_inflation_passes() -> None:
    body = book_json(1, title=" " * 100_000)
    packed = zlib.compress(body, 9, wbits=31)

    def answer(seen: Seen, handler: Any) -> None:
        reply(handler, 200, packed, [("Content-Encoding", "gzip")])

    with RawServer(answer) as server:
        for cap, passes in [(len(body), True), (len(body) - 1, False)]:
            configured = settings_for(server.url, MAX_RESPONSE_BYTES=cap)
            with override_settings(API_ORM_SERVICES={"default": configured}):
                if passes:
                    assert Book.objects.get(pk=1).title == " " * 100_000
                else:
                    with pytest.raises(exc.ResponseTooLarge):
                        Book.objects.get(pk=1)
    assert len(packed) < 1000 < len(body)  # the cap counts inflated bytes, not wire bytes


def test_api_request_reports_a_too_large_attempt(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/books/1/", status=200, body=BODY.decode())
    small = service_settings(upstream, MAX_RESPONSE_BYTES=100)
    with (
        override_settings(API_ORM_SERVICES={"default": small}),
        recorded_attempts() as attempts,
        pytest.raises(exc.ResponseTooLarge),
    ):
        Book.objects.get(pk=1)
    assert len(attempts) == 1
    assert isinstance(attempts[0]["error"], exc.ResponseTooLarge)


def test_bomb_peak_stays_under_a_large_cap_plus_headroom() -> None:
    cap = 48 * MiB
    with bomb_server("gzip", 31) as server:
        error, peak = capped_get("sync", settings_for(server.url, MAX_RESPONSE_BYTES=cap))
    assert isinstance(error, exc.ResponseTooLarge), error
    assert peak < cap + HEADROOM, peak / MiB
