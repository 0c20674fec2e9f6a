"""Django expressions in ``update()``: ``F("views") + 1`` evaluated against each row.

A REST API cannot run ``UPDATE ... SET views = views + 1``: the library reads each matching
row, computes the new value and PATCHes it, sending ``If-Match`` when the API gave an ETag
(so a concurrent change is refused with ``ConflictError`` instead of being overwritten).
``F``, ``Value`` and arithmetic (``+ - * / %``) are understood; anything else raises
NotSupportedError before any request.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .exceptions import NotSupportedError

__all__ = ["has_expressions", "resolve", "validate"]

# Django's Combinable.ADD, SUB, MUL, DIV and MOD. django.db.models is imported by the
# functions below only: they run on expressions the caller built, so it is loaded by then.
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%%": operator.mod,
}


def has_expressions(values: Mapping[str, Any]) -> bool:
    """Whether any value is a Django expression (``F(...)``, ``F(...) + 1``...)."""
    return any(hasattr(value, "resolve_expression") for value in values.values())


def validate(expression: Any, fields: Mapping[str, Any], where: str) -> None:
    """Refuse, before any request, what :func:`resolve` cannot compute."""
    from django.db.models import F, Value
    from django.db.models.expressions import CombinedExpression

    if isinstance(expression, F):
        if expression.name not in fields and expression.name != "pk":
            raise NotSupportedError(f"{where}: F({expression.name!r}) names no field.")
    elif isinstance(expression, CombinedExpression):
        if expression.connector not in _OPERATORS:
            raise NotSupportedError(f"{where}: the operator {expression.connector!r}.")
        validate(expression.lhs, fields, where)
        validate(expression.rhs, fields, where)
    elif hasattr(expression, "resolve_expression") and not isinstance(expression, Value):
        raise NotSupportedError(
            f"{where}: {type(expression).__name__} cannot be computed from a row; only F(), "
            "Value() and + - * / % are."
        )


def resolve(expression: Any, obj: Any) -> Any:
    """The value of ``expression`` for the row ``obj``."""
    from django.db.models import F, Value
    from django.db.models.expressions import CombinedExpression

    if isinstance(expression, F):
        return obj.pk if expression.name == "pk" else getattr(obj, expression.name)
    if isinstance(expression, Value):
        return expression.value
    if isinstance(expression, CombinedExpression):
        left, right = resolve(expression.lhs, obj), resolve(expression.rhs, obj)
        return _OPERATORS[expression.connector](left, right)
    return expression
