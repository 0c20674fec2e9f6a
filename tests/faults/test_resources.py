"""Resources: short-lived event loops (``async_to_sync``, ``asyncio.run``, async signal
receivers called from sync code) must not leave sockets, loops or sessions behind.

Already asserted elsewhere: each loop's client is closed when its loop ends,
``tests/test_transport.py::test_async_to_sync_works_repeatedly`` (5 calls) and
``::test_hand_driven_loops_do_not_pile_up``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import warnings
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.dispatch import Signal
from django.test import override_settings

from django_api_orm._registry import services
from tests.conftest import service_settings
from tests.faults import ASYNC_TRANSPORTS
from tests.models import Book
from tests.upstream_fixture import Upstream

CALLS = 250


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("transport", ASYNC_TRANSPORTS)
def test_250_calls_through_loop_bridges_leave_no_descriptors(
    upstream: Upstream, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    fetched: list[int] = []
    ping = Signal()

    async def fetch(pk: int) -> None:
        fetched.append((await Book.objects.aget(pk=pk)).id or 0)

    async def receiver(sender: Any, pk: int, **kwargs: Any) -> None:
        await fetch(pk)

    bridges = [
        lambda pk: async_to_sync(fetch)(pk),
        lambda pk: asyncio.run(fetch(pk)),
        lambda pk: ping.send(sender=None, pk=pk),  # Django runs async receivers in a new loop
    ]
    ping.connect(receiver, weak=False)
    caplog.set_level(logging.WARNING, logger="asyncio")
    configured = service_settings(upstream, ASYNC_TRANSPORT=transport)
    with override_settings(API_ORM_SERVICES={"default": configured}):
        for bridge in bridges:  # warm up: lazily made executors, imports, the TLS context
            bridge(1)
        gc.collect()
        before = open_fds()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for n in range(CALLS):
                bridges[n % 3](n % 25 + 1)
            gc.collect()
        after = open_fds()
        leftover = len(services["default"]._async_drivers)
    ping.disconnect(receiver)
    assert fetched[3:] == [n % 25 + 1 for n in range(CALLS)]
    assert after - before <= 2, (before, after)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
    assert leftover == 0  # every loop's client went with its loop
    assert len(upstream.requests("/api/books/")) == CALLS + 3
    print(f"FIGURE 250 bridged calls/{transport}: fds {before} -> {after}")
