"""What the benchmark scripts share: the Django set-up, the ``Book`` model and its schema."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pydantic

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python benchmarks/run.py` puts benchmarks/ first instead
    sys.path.insert(0, str(REPO_ROOT))

__all__ = ["BookPage", "BookSchema", "book_model", "configure_django", "service"]


class BookSchema(pydantic.BaseModel):
    """One book as the API sends it (the same fields as ``tests/models.py``)."""

    id: int | None = None
    title: str
    year: int
    in_stock: bool = True
    author: str = ""
    isbn: str | None = None


class BookPage(pydantic.BaseModel):
    """A DRF page envelope, for the raw baselines (validated in one ``model_validate_json``)."""

    count: int
    next: str | None = None
    previous: str | None = None
    results: list[BookSchema]


def service(base_url: str, **extra: Any) -> dict[str, Any]:
    """An ``API_ORM_SERVICES`` entry for a benchmark server: no retry delay, defaults else."""
    return {"BASE_URL": base_url, "RETRY_DELAY": 0, **extra}


def configure_django(services: dict[str, dict[str, Any]]) -> None:
    """``settings.configure(...)`` with ``django_api_orm`` installed, then ``django.setup()``."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmarks-not-secret",
        USE_TZ=True,
        INSTALLED_APPS=["django_api_orm"],
        DATABASES={},
        API_ORM_SERVICES=services,
    )
    django.setup()


_BOOK: Any = None


def book_model() -> Any:
    """The ``Book`` remote model (defined once, after :func:`configure_django`)."""
    global _BOOK
    if _BOOK is None:
        from django_api_orm import APIModel

        class Book(APIModel):
            _schema_class = BookSchema
            _endpoint = "books/"

        _BOOK = Book
    return _BOOK
