"""Fork safety: a child process (gunicorn's pre-fork workers, multiprocessing) never touches
the pooled clients it inherited: it opens its own, and the parent's keep working.

``Service._forget_parent_clients`` is the mechanism; here it is checked with a real fork.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import warnings
from typing import Any

import pytest
from django.test import override_settings

from django_api_orm._registry import services
from tests.conftest import service_settings
from tests.models import Book
from tests.upstream_fixture import Upstream

CHILD_TIMEOUT = 15.0


def run_in_child(work: Any) -> dict[str, Any]:
    """Fork; the child runs ``work()`` and sends its JSON result (or error) through a pipe."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python warns that forking a process with threads may deadlock; the child only
        # uses the library, which is what is under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            try:
                payload = {"ok": True, **work()}
            except BaseException as error:
                payload = {"ok": False, "error": repr(error)}
            os.write(write_end, json.dumps(payload).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    deadline = time.monotonic() + CHILD_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)
    with os.fdopen(read_end, "rb") as pipe:
        raw = pipe.read()
    assert os.waitstatus_to_exitcode(status) == 0
    result: dict[str, Any] = json.loads(raw)
    assert result["ok"], result
    return result


def test_child_uses_its_own_client_and_parent_keeps_its_own(upstream: Upstream) -> None:
    service = services["default"]
    assert Book.objects.get(pk=1).id == 1  # the parent's client is open, its pool warm
    parent_client = service.sync_driver()
    parent_connections = parent_client.connections()

    def child() -> dict[str, Any]:
        book = Book.objects.get(pk=2)
        mine = services["default"].sync_driver()
        async_book = asyncio.run(Book.objects.aget(pk=3))
        return {
            "pid": os.getpid(),
            "book": book.id,
            "async_book": async_book.id,
            "client": id(mine),
            "is_parents": mine is parent_client,
            "parents_closed": parent_client.closed,
        }

    result = run_in_child(child)
    assert result["pid"] != os.getpid()
    assert (result["book"], result["async_book"]) == (2, 3)
    assert result["is_parents"] is False
    assert result["client"] != id(parent_client)
    assert result["parents_closed"] is False  # the child did not close the shared sockets
    # The parent still works, on the same client and pool.
    assert Book.objects.get(pk=4).id == 4
    assert service.sync_driver() is parent_client
    assert parent_client.connections() == parent_connections
    paths = [e["path"] for e in upstream.requests("/api/books/")]
    assert paths == [f"/api/books/{pk}/" for pk in (1, 2, 3, 4)]


def test_child_forked_before_any_use_works(upstream: Upstream) -> None:
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        result = run_in_child(lambda: {"count": Book.objects.count()})
        assert result["count"] == 25
        assert Book.objects.count() == 25
