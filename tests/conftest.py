"""Fixtures shared by the whole suite: the live upstream and settings that point at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.upstream_fixture import Upstream, upstream, upstream_server  # noqa: F401

# `API_ORM_TEST_SYNC_TRANSPORT=httpx API_ORM_TEST_ASYNC_TRANSPORT=httpx make test` runs the
# suite over httpx 0.28's pools (any driver name of docs/settings.md works).
SYNC_TRANSPORT = os.environ.get("API_ORM_TEST_SYNC_TRANSPORT", "auto")
ASYNC_TRANSPORT = os.environ.get("API_ORM_TEST_ASYNC_TRANSPORT", "auto")


def service_settings(server: Upstream, **extra: object) -> dict[str, object]:
    """A service dict for the live upstream; tests add keys with ``extra``."""
    return {
        "BASE_URL": f"{server.url}/api/",
        "RETRY_DELAY": 0,
        "SYNC_TRANSPORT": SYNC_TRANSPORT,
        "ASYNC_TRANSPORT": ASYNC_TRANSPORT,
        **extra,
    }


@pytest.fixture(scope="session", autouse=True)
def api_services(upstream_server: Upstream) -> Iterator[None]:  # noqa: F811
    """Point API_ORM_SERVICES at the live upstream for the whole session."""
    with override_settings(
        API_ORM_SERVICES={
            "default": service_settings(upstream_server),
            "private": service_settings(upstream_server, AUTH_TOKEN="test-token"),
            # The pagination styles of tests/test_dialects.py.
            "lo": service_settings(upstream_server, PAGINATION="offset"),
            "cursor": service_settings(upstream_server, PAGINATION="cursor"),
            "header": service_settings(upstream_server, DIALECT="link-header"),
            "paged": service_settings(upstream_server, PAGE_SIZE=10, PAGE_SIZE_PARAM=None),
        }
    ):
        yield
