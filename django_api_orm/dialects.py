"""The public home of dialects: subclass :class:`Dialect` to teach the library a new API.

See docs/dialects.md; name your class in a service's ``DIALECT`` setting by dotted path.
"""

from ._core.dialect import Dialect, DRFDialect, LinkHeaderDialect, Page, QueryContext
from ._core.query import Condition, FieldSpec, RemoteQuery, Where

__all__ = [
    "Condition",
    "DRFDialect",
    "Dialect",
    "FieldSpec",
    "LinkHeaderDialect",
    "Page",
    "QueryContext",
    "RemoteQuery",
    "Where",
]
