"""Reading a response body with a size cap that also holds for compressed bodies.

httpx inflates a whole network chunk at once, so a gzip bomb (a few KiB on the wire, GiBs
inflated) would be in memory before any check. Here the raw bytes are inflated with
``zlib``'s ``max_length``, so no more than ``cap`` bytes are ever produced.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

__all__ = ["ACCEPT_ENCODING", "BodyTooLarge", "CappedBody"]

# Only what CappedBody can inflate step by step is asked for.
ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The body went past the cap."""


class CappedBody:
    """Collects body chunks, inflating gzip/deflate, refusing more than ``cap`` bytes."""

    def __init__(self, cap: int, content_encoding: str) -> None:
        self.cap = cap
        self.size = 0
        self.chunks: list[bytes] = []
        encoding = content_encoding.strip().lower()
        # wbits 47 = 32 + 15: zlib detects a gzip or zlib header by itself.
        self._inflate = (
            zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None
        )
        self._raw_deflate = encoding == "deflate"

    @property
    def plain(self) -> bool:
        """Whether the body comes as it is (no encoding to inflate)."""
        return self._inflate is None

    def feed(self, data: bytes) -> None:
        """Add raw bytes from the wire; raises BodyTooLarge past the cap."""
        if self._inflate is None:
            self._add(data)
            return
        while data:
            try:
                # At most 1 MiB per call: zlib doubles its output buffer while it fills it,
                # so one call for the whole cap would briefly cost twice the cap.
                out = self._inflate.decompress(data, min(self.cap + 1 - self.size, 1 << 20))
            except zlib.error:
                if not self._raw_deflate or self.size:
                    raise
                # "deflate" without the zlib header, as some servers send it.
                self._inflate, self._raw_deflate = zlib.decompressobj(-15), False
                continue
            self._add(out)
            data = self._inflate.unconsumed_tail

    def feed_all(self, chunks: Iterable[bytes]) -> bytes:
        """Feed every chunk and return the body."""
        for chunk in chunks:
            self.feed(chunk)
        return self.body()

    def body(self) -> bytes:
        """The (inflated) body read so far."""
        if self._inflate is not None:
            self._add(self._inflate.flush())
        return b"".join(self.chunks)

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise BodyTooLarge
        if data:
            self.chunks.append(data)
