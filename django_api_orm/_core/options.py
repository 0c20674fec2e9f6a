"""Service options, each declared once: as a dataclass field made with :func:`option`.

The fields of :class:`~.dialect.Dialect` (how the API is spoken) and of
:class:`~.plans.ServiceContext` (how plans behave) that are options carry their meaning,
bounds and checks here. :func:`options_of` lists them; the ``API_ORM_SERVICES`` setting takes
each as its UPPERCASE key (``page_size`` → ``"PAGE_SIZE"``) and validates it from the same
declaration (``django_api_orm._settings``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Option", "check_lookups", "option", "options_of"]

_MARK = "api_orm_option"


@dataclass(frozen=True, slots=True)
class Option:
    """One option: keyword ``name``, setting ``key``, type, default and validation."""

    name: str
    type: Any
    default: Any  # dataclasses.MISSING when a factory makes it
    factory: Callable[[], Any] | None
    doc: str
    ge: float | None = None
    check: Callable[[Any], Any] | None = None  # a further check: returns the value or raises

    @property
    def key(self) -> str:
        """The key of ``API_ORM_SERVICES``: ``page_size`` → ``PAGE_SIZE``."""
        return self.name.upper()


def option(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    factory: Callable[[], Any] | None = None,
    ge: float | None = None,
    check: Callable[[Any], Any] | None = None,
) -> Any:
    """A dataclass field that is a service option (a default, or a ``factory`` making one)."""
    spec = {"doc": doc, "ge": ge, "check": check}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={_MARK: spec})
    return dataclasses.field(default=default, metadata={_MARK: spec})


def options_of(cls: type) -> tuple[Option, ...]:
    """The options declared on a dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return tuple(
        Option(
            name=f.name,
            type=hints[f.name],
            default=f.default,
            factory=None if f.default_factory is dataclasses.MISSING else f.default_factory,
            **f.metadata[_MARK],
        )
        for f in dataclasses.fields(cls)
        if _MARK in f.metadata
    )


def check_lookups(known: frozenset[str]) -> Callable[[Any], Any]:
    """A check refusing lookups outside ``known``."""

    def check(lookups: Any) -> Any:
        unknown = sorted(set(lookups) - known)
        if unknown:
            raise ValueError(f"unknown lookups {unknown}; known: {sorted(known)}")
        return lookups

    return check
