"""pytest plugin of django-api-orm (registered through the ``pytest11`` entry point).

Fixtures:

- ``api_fake``: a :class:`~django_api_orm.testing.FakeService` answering the ``"default"``
  service for the test; add rows with ``api_fake.add("books/", {...})``.
- ``api_num_requests``: :func:`~django_api_orm.testing.assert_num_requests`, used as
  ``with api_num_requests(2): ...``.

Nothing here touches Django at import: the kit is imported when a fixture is used, after
pytest-django has configured the settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django_api_orm.testing import FakeService, assert_num_requests

__all__ = ["api_fake", "api_num_requests"]


@pytest.fixture
def api_fake() -> Iterator[FakeService]:
    """An empty in-memory API for the ``"default"`` service, removed after the test."""
    from django_api_orm.testing import FakeService

    fake = FakeService(alias="default").install()
    try:
        yield fake
    finally:
        fake.uninstall()


@pytest.fixture
def api_num_requests() -> type[assert_num_requests]:
    """``with api_num_requests(n, service=None): ...`` fails unless n requests are made."""
    from django_api_orm.testing import assert_num_requests

    return assert_num_requests
