"""Test kit: run code that uses remote models without a server.

::

    from django_api_orm.testing import assert_num_requests, fake_service

    @fake_service(data={"books/": [{"id": 1, "title": "Dune", "year": 1965}]})
    def test_recent_books():
        with assert_num_requests(1):
            assert [b.title for b in Book.objects.filter(year__lt=1970)] == ["Dune"]

With pytest, the plugin's fixtures ``api_fake`` (a :class:`FakeService` for ``"default"``)
and ``api_num_requests`` (this module's :func:`assert_num_requests`) do the same.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast

from .counting import CapturedRequest, assert_num_requests, capture_requests
from .fake import FakeRequest, FakeService, PageShape

__all__ = [
    "CapturedRequest",
    "FakeRequest",
    "FakeService",
    "PageShape",
    "assert_num_requests",
    "capture_requests",
    "fake_service",
]

F = TypeVar("F", bound=Callable[..., Any])


class fake_service:  # a context manager and decorator, like override_settings
    """Answer ``alias``'s requests with a fresh :class:`FakeService` holding ``data``.

    ``with fake_service(data=...) as fake:`` gives the fake; as a decorator (sync or async
    functions), each call gets its own fresh fake. The real service is back afterwards, also
    when ``override_settings`` changed ``API_ORM_SERVICES`` meanwhile.
    """

    def __init__(
        self,
        alias: str = "default",
        data: Mapping[Any, Iterable[Any]] | None = None,
        **options: Any,
    ) -> None:
        self.alias = alias
        self.data = data
        self.options = options
        self.fake: FakeService | None = None

    def _new(self) -> FakeService:
        return FakeService(self.data, alias=self.alias, **self.options)

    def __enter__(self) -> FakeService:
        self.fake = self._new().install()
        return self.fake

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.fake is not None:
            self.fake.uninstall()
            self.fake = None

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self._new():
                    return await func(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._new():
                return func(*args, **kwargs)

        return cast(F, run)
