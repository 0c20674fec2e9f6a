"""B6's fresh processes: what the first moments cost. Prints one JSON line.

``python -m benchmarks.cold import`` times ``from django_api_orm import APIModel, Manager,
QuerySet`` (what a project's models module does; the package itself resolves these names
lazily, so a bare ``import django_api_orm`` costs next to nothing) right after
``import django``; ``import-setup`` the same after ``django.setup()`` of a project with
``django.contrib.auth`` (so ``django.db.models`` is loaded, as in most projects);
``import-own`` the same once pydantic (which every remote model's schema needs) and
Django's signal dispatcher (loaded by ``django.setup()``) are imported, so the library's own
share, reporting theirs as ``deps_ms``; ``first-get --base-url URL`` times the first
``get(pk=1)`` after ``django.setup()`` (its ``ready()`` has warmed the drivers);
``first-aget --base-url URL`` runs the first ``aget`` and 50 more gathered and reports
the longest callback the loop ran (each timed around its run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _configure(base_url: str | None, apps: list[str]) -> None:
    from django.conf import settings

    services = {"default": {"BASE_URL": base_url, "RETRY_DELAY": 0}} if base_url else {}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="cold-start-not-secret",
        USE_TZ=True,
        INSTALLED_APPS=apps,
        DATABASES={},
        API_ORM_SERVICES=services,
    )


def main(argv: list[str] | None = None) -> None:
    """Measure one mode."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "mode", choices=("import", "import-setup", "import-own", "first-get", "first-aget")
    )
    parser.add_argument("--base-url")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"mode": args.mode}
    if args.mode == "import":
        import django

        result["ms"] = _import_ms()
    elif args.mode == "import-own":
        import django

        started = time.perf_counter()
        import django.dispatch  # (loaded by django.setup() in every project)
        import pydantic

        pydantic.BaseModel  # noqa: B018  (pydantic loads its model machinery lazily)
        result["deps_ms"] = (time.perf_counter() - started) * 1000
        result["ms"] = _import_ms()
    elif args.mode == "import-setup":
        import django

        _configure(None, ["django.contrib.auth", "django.contrib.contenttypes"])
        django.setup()
        result["ms"] = _import_ms()
    else:
        import django

        _configure(args.base_url, ["django_api_orm"])
        django.setup()
        from benchmarks.common import book_model

        book = book_model()
        if args.mode == "first-get":
            started = time.perf_counter()
            book.objects.get(pk=1)
            result["ms"] = (time.perf_counter() - started) * 1000
        else:
            result["ms"] = _longest_callback(book)
    print(json.dumps(result))


def _import_ms() -> float:
    """Milliseconds of importing the names a models module uses."""
    started = time.perf_counter()
    from django_api_orm import APIModel, Manager, QuerySet  # noqa: F401

    return (time.perf_counter() - started) * 1000


def _longest_callback(book: Any) -> float:
    """The longest callback (wall ms) the loop ran, timed around each one: asyncio's debug
    mode would add its own cost to every callback (a stack capture at each task start)."""
    import asyncio

    took: list[float] = []
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.events.Handle) -> None:
        started = time.perf_counter()
        try:
            original(handle)
        finally:
            took.append((time.perf_counter() - started) * 1000)

    async def run() -> None:
        await book.objects.aget(pk=1)
        await asyncio.gather(*(book.objects.aget(pk=pk) for pk in range(1, 51)))

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        asyncio.run(run())
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
    return max(took, default=0.0)


if __name__ == "__main__":
    sys.exit(main())
