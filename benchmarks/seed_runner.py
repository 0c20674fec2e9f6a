"""The seed's PyPI package (``django-api-orm==0.1.0``) driven from ``run.py``.

It shares the import name ``django_api_orm`` with this repository, so it lives in its own
venv (``.venv-seed``, made by ``make bench``) and runs in its own process: ``run.py`` starts
``.venv-seed/bin/python -I benchmarks/seed_runner.py BASE_URL`` and sends one command a line;
each answer is one JSON line with the seconds the work took in this process (wall and CPU),
so that the seed takes its turn in the same round-robin as the in-process variants.

Commands: ``get N`` (sync ``Book.objects.get(id=i)``, N times), ``aget N`` (the async
twin, one at a time), ``gather N`` (N ``aget`` gathered), ``quit``. The seed has no detail
lookup by primary key: its ``get(id=i)`` asks ``books/?id=i&limit=2``, which the benchmark
server answers with that one row (one request, one row, as the library's ``get(pk=i)``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import pydantic

from django_api_orm import (  # the seed's package, from .venv-seed
    APIModel,
    AsyncAPIModel,
    AsyncServiceClient,
    ServiceClient,
    register_async_models,
    register_models,
)


class BookSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    year: int
    in_stock: bool = True
    author: str = ""
    isbn: str | None = None


class Book(APIModel):
    _schema_class = BookSchema
    _endpoint = "books/"


class ABook(AsyncAPIModel):
    _schema_class = BookSchema
    _endpoint = "books/"


def main() -> None:
    base_url = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    client = ServiceClient(base_url=base_url)
    register_models(client, Book)
    loop = asyncio.new_event_loop()
    aclient = AsyncServiceClient(base_url=base_url)
    register_async_models(aclient, ABook)
    objects: Any = ABook.objects

    async def agets(n: int) -> None:
        for i in range(n):
            await objects.get(id=i % rows + 1)

    async def gathered(n: int) -> None:
        await asyncio.gather(*(objects.get(id=i % rows + 1) for i in range(n)))

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, _, count = line.strip().partition(" ")
        if command == "quit":
            break
        n = int(count or 1)
        wall, cpu = time.perf_counter(), time.process_time()
        if command == "get":
            for i in range(n):
                Book.objects.get(id=i % rows + 1)
        elif command == "aget":
            loop.run_until_complete(agets(n))
        elif command == "gather":
            loop.run_until_complete(gathered(n))
        print(
            json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}),
            flush=True,
        )
    client.close()
    loop.run_until_complete(aclient.close())
    loop.close()


if __name__ == "__main__":
    main()
