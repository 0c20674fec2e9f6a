"""HTTP answers of the fake service: JSON bodies, DRF's error shapes, and pagination in each
style a dialect can ask for (page numbers, offset/limit, cursors, none; envelopes or bare
lists with ``Link`` headers)."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .._core.dialect import Dialect

__all__ = [
    "CURSOR_PARAM",
    "Answer",
    "PageShape",
    "answer",
    "invalid_body",
    "not_allowed",
    "not_found",
    "paginate",
]

Row = dict[str, Any]
Answer = tuple[int, dict[str, str], bytes]

CURSOR_PARAM = "cursor"
_JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class PageShape:
    """How the fake paginates: DRF's shape by default, or another API's (or a faulty one's),
    so tests can reproduce what real servers do.

    * ``next``: ``"url"`` (a link, DRF), ``"number"`` (the next page's number, json-server
      1.0) or ``"none"`` (no next at all, only a total: Feathers).
    * ``total``: a total to claim instead of the real one (an API that lies).
    * ``past_end``: a page number past the end answers ``"404"`` (DRF), the ``"last"`` page
      again (json-server 1.0) or an ``"empty"`` page.
    * ``repeat_cursor``: cursor pagination hands out a fresh cursor for the same rows, for
      ever (a looping API).
    """

    next: Literal["url", "number", "none"] = "url"
    total: int | None = None
    past_end: Literal["404", "last", "empty"] = "404"
    repeat_cursor: bool = False


_NONCES = itertools.count(1)


def answer(status: int, data: Any = None, headers: Mapping[str, str] | None = None) -> Answer:
    """``(status, headers, body)`` with ``data`` as JSON (no body when None)."""
    body = b"" if data is None else json.dumps(data).encode()
    return status, {**(_JSON if data is not None else {}), **(headers or {})}, body


def not_found(detail: str = "Not found.") -> Answer:
    """DRF's 404."""
    return answer(404, {"detail": detail})


def not_allowed(method: str) -> Answer:
    """DRF's 405."""
    return answer(405, {"detail": f'Method "{method}" not allowed.'})


def invalid_body(payload: Any) -> Answer:
    """DRF's 400 for a body that is not a JSON object."""
    got = type(payload).__name__ if payload is not None else "nothing"
    return answer(
        400, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {got}."]}
    )


def _with_params(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in changes]
    query += [(k, v) for k, v in changes.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(sorted(query))))


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for name in parents:
        data = data.setdefault(name, {})
    data[last] = value


def _positive(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def paginate(
    rows: list[Row],
    url: str,
    query: dict[str, str],
    dialect: Dialect,
    *,
    page_size: int,
    max_page_size: int,
    shape: PageShape = PageShape(),
) -> Answer:
    """The page of ``rows`` the query asks for, in the dialect's pagination style and envelope
    (and the ``shape`` of the API being imitated)."""
    style = dialect.pagination
    total: int | None = len(rows)
    previous: str | None = None
    following: str | int | None = None
    if style == "none":
        return answer(200, rows)
    size_param = dialect.limit_param if style == "offset" else dialect.page_size_param
    size = _positive(query.get(size_param)) if size_param else None
    size = min(size or dialect.page_size or page_size, max_page_size)
    if style == "page":
        number = query.get(dialect.page_param, str(dialect.first_page))
        index = (int(number) if number.lstrip("-").isdigit() else -1) - dialect.first_page
        pages = max(1, -(-len(rows) // size))
        if index < 0 or (index >= pages and shape.past_end == "404"):
            return not_found("Invalid page.")
        if index >= pages:
            index = pages - 1 if shape.past_end == "last" else index
        start = index * size
        if index + 1 < pages:
            number_after = dialect.first_page + index + 1
            following = (
                number_after
                if shape.next == "number"
                else _with_params(url, **{dialect.page_param: str(number_after)})
            )
        if index > 0:
            preceding = str(dialect.first_page + index - 1)
            previous = _with_params(url, **{dialect.page_param: preceding})
    else:
        if style == "offset":
            raw = query.get(dialect.offset_param, "0")
            start = int(raw) if raw.isdigit() else 0
            moved = {dialect.offset_param: str(start + size), dialect.limit_param: str(size)}
            back = {dialect.offset_param: str(max(0, start - size))}
        else:  # cursor: an opaque token that happens to hold an offset
            start = _decode_cursor(query.get(CURSOR_PARAM))
            after = start if shape.repeat_cursor else start + size
            moved = {CURSOR_PARAM: _encode_cursor(after, fresh=shape.repeat_cursor)}
            back = {CURSOR_PARAM: _encode_cursor(max(0, start - size))}
            total = None
        if start + size < len(rows) or shape.repeat_cursor:
            following = _with_params(url, **moved)
        if start > 0:
            previous = _with_params(url, **back)
    if shape.next == "none":
        following = previous = None
    if shape.total is not None and total is not None:
        total = shape.total
    items = rows[start : start + size]
    return _envelope(items, total, following, previous, dialect)


def _envelope(
    items: list[Row],
    total: int | None,
    next_url: str | int | None,
    previous: str | None,
    dialect: Dialect,
) -> Answer:
    if dialect.items_key is None:  # a bare list, paginated by headers
        pairs = ((next_url, "next"), (previous, "prev"))
        links = [f'<{u}>; rel="{r}"' for u, r in pairs if isinstance(u, str)]
        headers = {"link": ", ".join(links)} if links else {}
        if total is not None:
            headers[(dialect.total_header or "X-Total-Count").lower()] = str(total)
        return answer(200, items, headers)
    data: dict[str, Any] = {}
    if total is not None and dialect.total_key:
        _set_path(data, dialect.total_key, total)
    if dialect.next_key:
        _set_path(data, dialect.next_key, next_url)
        if dialect.next_key == "next":
            data["previous"] = previous
    _set_path(data, dialect.items_key, items)
    return answer(200, data)


def _encode_cursor(offset: int, *, fresh: bool = False) -> str:
    text = f"o={offset}" + (f";n={next(_NONCES)}" if fresh else "")
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_cursor(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode().partition(";")[0]
        return max(0, int(text.removeprefix("o=")))
    except ValueError:
        return 0
