"""Fixtures: json-server and a Feathers app as real node processes, and settings for them.

One process per server for the whole session (started on first use); each test gets the 25
seed books back (``json_server`` / ``feathers`` fixtures). Each test module points its
aliases at its server with ``override_settings``, on top of the session's upstream settings.

Two aliases per server: ``"<server>"`` leaves the page size to the server (10 for both), as
most projects would; ``"<server>-paged"`` also sets ``PAGE_SIZE=10``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from django_api_orm._registry import services
from tests.conftest import ASYNC_TRANSPORT
from tests.realservers.servers import FeathersServer, JsonServer, NodeServer

# -- the settings of each server, as a project would write them ---------------------------------

JSON_SERVER = {
    # ?_page=2&_per_page=10 -> {"first", "prev", "next", "last", "pages", "items", "data"}
    "PAGINATION": "page",
    "PAGE_PARAM": "_page",
    "PAGE_SIZE_PARAM": "_per_page",
    "ITEMS_KEY": "data",
    "TOTAL_KEY": "items",
    "NEXT_KEY": "next",  # a page number (or null), not a URL: read as one
    # ?_sort=year,-title
    "ORDERING_PARAM": "_sort",
    "ORDERING_ASC": "{field}",
    "ORDERING_DESC": "-{field}",
    # ?year:gte=2010, ?title:contains=dune (case-insensitive), ?id:in=1,2
    "LOOKUP_FORMAT": "{field}:{lookup}",
    "LOOKUP_NAMES": {"icontains": "contains", "istartswith": "startsWith", "iendswith": "endsWith"},
    # Operators it does not know are ignored (the filter silently disappears): keep them out.
    "LOOKUPS": ["exact", "in", "gt", "gte", "lt", "lte", "icontains", "istartswith", "iendswith"],
    "TRAILING_SLASH": False,
}

FEATHERS = {
    # ?$skip=20&$limit=10 -> {"total", "limit", "skip", "data"}; $limit is capped at 50
    "PAGINATION": "offset",
    "OFFSET_PARAM": "$skip",
    "LIMIT_PARAM": "$limit",
    "MAX_PAGE_SIZE": 50,
    "ITEMS_KEY": "data",
    "TOTAL_KEY": "total",
    "NEXT_KEY": None,
    # ?year[$gte]=2010, ?id[$in][]=1&id[$in][]=2: with the "[]" a single value is a list too
    # (id[$in]=1 alone is the string "1", which the query schema refuses with a 400).
    "LOOKUP_FORMAT": "{field}[${lookup}]",
    "LOOKUP_NAMES": {"in": "in]["},
    "LOOKUPS": ["exact", "in", "gt", "gte", "lt", "lte"],
    "LIST_FORMAT": "repeat",
    "TRAILING_SLASH": False,
    # ?$sort[year]=-1&$sort[title]=1: one parameter per field
    "ORDERING_PARAM": "$sort[{field}]",
    "ORDERING_ASC": "1",
    "ORDERING_DESC": "-1",
}


def service(server: NodeServer, dialect: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "BASE_URL": f"{server.url}/",
        "RETRY_DELAY": 0,
        "ASYNC_TRANSPORT": ASYNC_TRANSPORT,
        **dialect,
        **extra,
    }


@pytest.fixture(scope="session")
def json_server_process() -> Iterator[JsonServer]:
    server = JsonServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def feathers_process() -> Iterator[FeathersServer]:
    server = FeathersServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def json_server_services(json_server_process: JsonServer) -> Iterator[None]:
    with override_settings(
        API_ORM_SERVICES={
            **settings.API_ORM_SERVICES,
            "json-server": service(json_server_process, JSON_SERVER),
            "json-server-paged": service(json_server_process, JSON_SERVER, PAGE_SIZE=10),
        }
    ):
        yield


@pytest.fixture(scope="module")
def feathers_services(feathers_process: FeathersServer) -> Iterator[None]:
    with override_settings(
        API_ORM_SERVICES={
            **settings.API_ORM_SERVICES,
            "feathers": service(feathers_process, FEATHERS),
            "feathers-paged": service(feathers_process, FEATHERS, PAGE_SIZE=10),
        }
    ):
        yield


@pytest.fixture
def json_server(json_server_process: JsonServer, json_server_services: None) -> JsonServer:
    """The session's json-server with the 25 seed books."""
    json_server_process.reset()
    # A reset may restart the process: pooled connections to the old one are dead, and a
    # retried send would count twice in the tests' request counts.
    for service in services.all():
        service.close()
    return json_server_process


@pytest.fixture
def feathers(feathers_process: FeathersServer, feathers_services: None) -> FeathersServer:
    """The session's Feathers app with the 25 seed books."""
    feathers_process.reset()
    return feathers_process
