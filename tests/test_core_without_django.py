"""Import hygiene: the sans-IO core needs no Django (it imports without it and never names
it), and importing the model layer loads no driver, no settings model and no Django ORM."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import FieldError
from django.db.models import Q

import django_api_orm._core as core
from django_api_orm import exceptions
from django_api_orm._core.conditions import AND, OR, Condition, Where
from django_api_orm._core.query import FieldSpec, parse_lookup
from django_api_orm.queryset import where_of

CORE = Path(core.__file__).parent
MODULES = sorted(path.stem for path in CORE.glob("*.py") if path.stem != "__init__")

# A meta-path finder that makes `import django` (and any django.*) fail.
BLOCK_DJANGO = """
import importlib, sys

class NoDjango:
    def find_spec(self, name, path=None, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError(f"{name} is blocked")
        return None

sys.meta_path.insert(0, NoDjango())
"""


def test_every_core_module_imports_without_django() -> None:
    code = BLOCK_DJANGO + "\n".join(
        [
            *(f"importlib.import_module('django_api_orm._core.{name}')" for name in MODULES),
            "import django_api_orm, django_api_orm.exceptions, django_api_orm.dialects",
            "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], sys.modules",
            "from django_api_orm._core.query import FieldSpec, parse_lookup",
            "from django_api_orm.exceptions import FieldError",
            "try:",
            "    parse_lookup('nope', 1, {'id': FieldSpec('id')}, 'id')",
            "except FieldError as error:",
            "    print(type(error).__module__)",
        ]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "django_api_orm.exceptions"  # the stand-in FieldError


def test_the_model_layer_loads_no_driver_settings_or_django_orm() -> None:
    code = (
        "import sys, django\n"
        "from django_api_orm import APIModel, AsyncManager, Manager, QuerySet\n"
        "deferred = ('django.db', 'django_api_orm._transport', 'django_api_orm._settings',"
        " 'django_api_orm._drivers', 'aiohttp', 'pycurl', 'httpx', 'httpcore', 'opentelemetry')\n"
        "print(sorted(m for m in sys.modules if m.startswith(deferred)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", MODULES)
def test_no_core_module_names_django(name: str) -> None:
    tree = ast.parse((CORE / f"{name}.py").read_text())
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [module for module in imported if module.split(".")[0] == "django"]


def test_the_core_raises_djangos_field_error_when_django_is_installed() -> None:
    assert exceptions.FieldError is FieldError
    with pytest.raises(FieldError, match="Cannot resolve keyword 'nope'"):
        parse_lookup("nope", 1, {"id": FieldSpec("id")}, "id")


# -- the condition tree ----------------------------------------------------------------------

FIELDS = {"id": FieldSpec("id"), "year": FieldSpec("year"), "title": FieldSpec("title")}
YEAR = Condition("year", "gte", 1990)
TITLE = Condition("title", "exact", "Dune")


def test_q_objects_become_the_same_tree() -> None:
    where = where_of([~Q(year__gte=1990) | Q(title="Dune")], {"pk": 7}, FIELDS, "id")
    # Q squashes the one-child Q(title=...) into the OR, as the tree keeps it
    or_node = Where((Where((YEAR,), AND, True), TITLE), OR)
    assert where == Where((or_node, Condition("id", "exact", 7)))


def test_keywords_are_sorted_and_none_is_isnull_as_in_django() -> None:
    where = where_of([], {"year__gte": 1990, "title": None}, FIELDS, "id")
    assert where.children == (Condition("title", "isnull", True), YEAR)


def test_where_operators_build_new_trees() -> None:
    a, b = Where((YEAR,)), Where((TITLE,))
    assert (a & b) == Where((a, b), AND)
    assert (a | b) == Where((a, b), OR)
    assert ~a == Where((YEAR,), AND, True) and not a.negated
    assert (Where() & a) is a and (a & Where()) is a
    assert not Where() and a
    assert hash(a & b) == hash(Where((a, b)))


def test_xor_is_refused() -> None:
    with pytest.raises(exceptions.NotSupportedError, match="XOR"):
        where_of([Q(year=1) ^ Q(title="x")], {}, FIELDS, "id")


def test_positional_arguments_must_be_q_objects() -> None:
    with pytest.raises(TypeError, match="must be Q objects"):
        where_of([{"year": 1}], {}, FIELDS, "id")  # type: ignore[list-item]
