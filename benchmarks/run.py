"""Benchmarks of django-api-orm against raw client code, measured in the same run.

``python benchmarks/run.py`` (``make bench``) prints the table and writes
``benchmarks/results.md``; ``--quick`` runs a tiny version of every figure (CI smoke, < 90 s,
writes nothing unless ``--results`` is given). Each figure is reported against the raw
client on the **same transport** and against the **fastest raw client** of the run; the
seed's PyPI package (``django-api-orm==0.1.0``, in ``.venv-seed``) runs beside us in its own
process when that venv exists. Bars are reported, not enforced: the exit code is 0 even when
one fails, unless ``--strict``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # `python benchmarks/run.py`: import the package, not its loose modules
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aiohttp
import httpx
import httpx2
import pycurl
from asgiref.sync import sync_to_async

from benchmarks.common import (
    REPO_ROOT,
    BookPage,
    BookSchema,
    book_model,
    configure_django,
    service,
)
from benchmarks.report import (
    Result,
    Samples,
    Timed,
    alternate,
    async_alternate,
    load,
    machine,
    markdown,
    table,
)
from benchmarks.server import BenchServer, server_stack

PAGE = 100  # rows per page in B4
RESULTS_FILE = Path(__file__).resolve().parent / "results.md"
SEED_PYTHON = REPO_ROOT / ".venv-seed" / "bin" / "python"
Book = Any  # the model class, defined after Django is configured
AsyncRun = Callable[[], Awaitable[Any]]
# The library's services: the default drivers (pycurl, aiohttp), and each other stack.
STACKS = {"": {}, "_httpx2": {"SYNC_TRANSPORT": "httpx2", "ASYNC_TRANSPORT": "httpx2"},
          "_httpx": {"SYNC_TRANSPORT": "httpx", "ASYNC_TRANSPORT": "httpx"}}  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does."""

    gets: int  # B1/B2: sequential get()/aget() calls per timed run
    reps: int  # B1/B2/B4: timed runs of each variant (after one warm-up run)
    concurrency: int  # B3: concurrent aget() calls
    wall_reps: int  # B3: timed rounds of each variant
    bridge_calls: int  # B3: sync_to_async(get) calls with thread_sensitive=True (serial!)
    rows: int  # B4: rows iterated
    async_reps: int  # B4b: timed runs (each one takes up to rows/PAGE * 20 ms)
    big_rows: int  # B5: rows iterated in the fresh process
    chunk: int  # B5: iterator(chunk_size=...)
    cold_runs: int  # B6: fresh processes per cold-start figure


FULL = Sizes(
    gets=200,
    reps=21,
    concurrency=1000,
    wall_reps=5,
    bridge_calls=100,
    rows=10_000,
    async_reps=3,
    big_rows=100_000,
    chunk=1000,
    cold_runs=7,
)
QUICK = Sizes(
    gets=30,
    reps=3,
    concurrency=200,
    wall_reps=2,
    bridge_calls=10,
    rows=1_000,
    async_reps=1,
    big_rows=10_000,
    chunk=1000,
    cold_runs=1,
)


# -- servers and Django ------------------------------------------------------------------------


@contextlib.contextmanager
def servers(sizes: Sizes) -> Iterator[dict[str, BenchServer]]:
    """The four upstreams, started in parallel, stopped on exit."""
    specs = {
        "fast": {"delay_ms": 0, "rows": sizes.rows},
        "slow50": {"delay_ms": 50, "rows": sizes.rows},
        "slow20": {"delay_ms": 20, "rows": sizes.rows},
        "big": {"delay_ms": 0, "rows": sizes.big_rows},
    }
    with contextlib.ExitStack() as stack:
        started: dict[str, BenchServer] = {}
        for name, spec in specs.items():
            server = BenchServer(**spec)
            stack.callback(server.stop)
            server.launch()
            started[name] = server
        for server in started.values():
            server.wait_ready()
        yield started


def setup_django(up: dict[str, BenchServer]) -> Book:
    """One service per server and per HTTP stack (``default``, ``default_httpx2``, ...)."""
    configured: dict[str, dict[str, Any]] = {}
    for suffix, drivers in STACKS.items():
        configured["default" + suffix] = service(up["fast"].api_url, **drivers)
        configured["slow50" + suffix] = service(up["slow50"].api_url, **drivers)
        configured["slow20" + suffix] = service(up["slow20"].api_url, PAGE_SIZE=PAGE, **drivers)
    # B4.d: the sync walk one request at a time, as the raw page loop goes.
    configured["default_sequential"] = service(up["fast"].api_url, READ_AHEAD=False)
    configure_django(configured)
    return book_model()


# -- the seed package, in its own process -------------------------------------------------------


class Seed:
    """``benchmarks/seed_runner.py`` under ``.venv-seed``: one command, one timed answer."""

    def __init__(self, base_url: str, rows: int) -> None:
        self._proc = subprocess.Popen(
            [str(SEED_PYTHON), "-I", str(Path(__file__).with_name("seed_runner.py")),
             base_url, str(rows)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/",
        )  # fmt: skip
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the seed runner exited")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(self, command: str, count: int) -> Timed:
        """Run ``command`` ``count`` times in the seed's process; its own timing."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{command} {count}\n")
        self._proc.stdin.flush()
        answer = self._read()
        return Timed(answer["wall"], answer["cpu"])

    def close(self) -> None:
        """Stop the process."""
        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.write("quit\n")
            self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


@contextlib.contextmanager
def seed(base_url: str, rows: int) -> Iterator[Seed | None]:
    """The seed runner, or None when ``.venv-seed`` is missing (``make bench`` makes it)."""
    if not SEED_PYTHON.exists():
        yield None
        return
    runner = Seed(base_url, rows)
    try:
        yield runner
    finally:
        runner.close()


# -- raw baselines: what code without the library does --------------------------------------------


class RawCurl:
    """One pooled libcurl handle: GET, status check, pydantic on the body."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.curl = pycurl.Curl()
        self.curl.setopt(pycurl.NOSIGNAL, 1)

    def get(self, path: str) -> bytes:
        chunks: list[bytes] = []
        self.curl.setopt(pycurl.URL, self.base_url + path)
        self.curl.setopt(pycurl.WRITEFUNCTION, chunks.append)
        self.curl.perform()
        if self.curl.getinfo(pycurl.RESPONSE_CODE) >= 400:
            raise RuntimeError("HTTP error")
        return b"".join(chunks)

    def close(self) -> None:
        self.curl.close()


class RawCurlAhead:
    """One libcurl handle driven through its multi interface: a request is put on the wire
    (:meth:`begin`) and its answer read later (:meth:`finish`), in the same thread."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.curl = pycurl.Curl()
        self.curl.setopt(pycurl.NOSIGNAL, 1)
        self.multi = pycurl.CurlMulti()
        self.chunks: list[bytes] = []

    def _pump(self) -> int:
        while True:
            status, running = self.multi.perform()
            if status != pycurl.E_CALL_MULTI_PERFORM:
                return int(running)

    def begin(self, path: str) -> None:
        self.chunks = []
        self.curl.setopt(pycurl.URL, self.base_url + path)
        self.curl.setopt(pycurl.WRITEFUNCTION, self.chunks.append)
        self.multi.add_handle(self.curl)
        self._pump()

    def finish(self) -> bytes:
        while self._pump():
            self.multi.select(1.0)
        _, _, failed = self.multi.info_read()
        self.multi.remove_handle(self.curl)
        if failed or self.curl.getinfo(pycurl.RESPONSE_CODE) >= 400:
            raise RuntimeError("HTTP error")
        return b"".join(self.chunks)

    def close(self) -> None:
        self.multi.close()
        self.curl.close()


def raw_pages_ahead(curl: RawCurlAhead, page_size: int) -> list[BookSchema]:
    """:func:`raw_pages` reading one page ahead: the next page's request goes out as soon as
    its link is known, before this page's rows are added."""
    rows: list[BookSchema] = []
    curl.begin(f"books/?page=1&page_size={page_size}")
    while True:
        page = BookPage.model_validate_json(curl.finish())
        if page.next:
            curl.begin(page.next.removeprefix(curl.base_url))
        rows += page.results
        if not page.next:
            return rows


def raw_getter(kind: str, base_url: str, stack: contextlib.ExitStack) -> Callable[[str], bytes]:
    """``get(path) -> body`` on a pooled raw client of ``kind``."""
    if kind == "pycurl":
        curl = RawCurl(base_url)
        stack.callback(curl.close)
        return curl.get
    module: Any = httpx2 if kind == "httpx2" else httpx
    client = stack.enter_context(module.Client(base_url=base_url, trust_env=False))

    def get(path: str) -> bytes:
        response = client.get(path)
        response.raise_for_status()
        content: bytes = response.content
        return content

    return get


async def araw_getter(
    kind: str, base_url: str, stack: contextlib.AsyncExitStack
) -> Callable[[str], Awaitable[bytes]]:
    """``await get(path) -> body`` on a pooled raw async client of ``kind``."""
    if kind == "aiohttp":
        session = await stack.enter_async_context(aiohttp.ClientSession(base_url))

        async def aio_get(path: str) -> bytes:
            async with session.get(path) as response:
                response.raise_for_status()
                return await response.read()

        return aio_get
    module: Any = httpx2 if kind == "httpx2" else httpx
    client = await stack.enter_async_context(module.AsyncClient(base_url=base_url, trust_env=False))

    async def get(path: str) -> bytes:
        response = await client.get(path)
        response.raise_for_status()
        content: bytes = response.content
        return content

    return get


def raw_pages(get: Callable[[str], bytes], page_size: int, base_url: str) -> list[BookSchema]:
    """Every row, following ``next`` links; each page validated in one pydantic call."""
    rows: list[BookSchema] = []
    url: str | None = f"books/?page=1&page_size={page_size}"
    while url:
        page = BookPage.model_validate_json(get(url.removeprefix(base_url)))
        rows += page.results
        url = page.next
    return rows


async def araw_pages(get: Callable[[str], Awaitable[bytes]], page_size: int, base: str) -> Any:
    """:func:`raw_pages` with an async getter, one page after another."""
    rows: list[BookSchema] = []
    url: str | None = f"books/?page=1&page_size={page_size}"
    while url:
        page = BookPage.model_validate_json(await get(url.removeprefix(base)))
        rows += page.results
        url = page.next
    return rows


async def araw_pages_concurrent(
    get: Callable[[str], Awaitable[bytes]], page_size: int, limit: int = 10
) -> list[BookSchema]:
    """Page 1 gives the total; the other pages are then fetched ``limit`` at a time."""
    semaphore = asyncio.Semaphore(limit)

    async def fetch(number: int) -> BookPage:
        async with semaphore:
            body = await get(f"books/?page={number}&page_size={page_size}")
        return BookPage.model_validate_json(body)

    first = await fetch(1)
    pages = -(-first.count // page_size)
    rest = await asyncio.gather(*(fetch(n) for n in range(2, pages + 1)))
    return [row for page in (first, *rest) for row in page.results]


# -- result lines ------------------------------------------------------------------------------


def per_call(seconds: float, calls: int, unit: str = "call") -> str:
    """``"312 µs/call"``."""
    return f"{seconds / calls * 1e6:.0f} µs/{unit}"


def wall(seconds: float) -> str:
    """``"0.123 s"``."""
    return f"{seconds:.3f} s"


def ratio_result(
    figure: str,
    what: str,
    samples: Samples,
    calls: int,
    bar: float | None,
    names: tuple[str, str],
    unit: str = "call",
    *,
    cpu: bool = False,
) -> Result:
    """``names[0] / names[1]`` (median of paired ratios); ``bar=None``: a contrast line."""
    ratio = samples.ratio(*names, cpu=cpu)
    return Result(
        figure,
        what,
        per_call(samples.median(names[0], cpu=cpu), calls, unit),
        per_call(samples.median(names[1], cpu=cpu), calls, unit),
        f"{ratio:.2f}x",
        "" if bar is None else f"≤ {bar:.2f}x",
        None if bar is None else ratio <= bar,
    )


def fastest(samples: Samples, prefix: str = "raw_") -> str:
    """The raw variant with the lowest median time in this run."""
    return min((n for n in samples if n.startswith(prefix)), key=samples.median)


def label(name: str) -> str:
    """``raw_pycurl`` → ``raw pycurl``."""
    return name.replace("_", " ")


def runs(sizes: Sizes, what: str) -> str:
    """``"get(pk=i), 21 runs x 200 calls"``."""
    return f"{what}, {sizes.reps} runs x {sizes.gets} calls"


# -- B1: sync get ------------------------------------------------------------------------------


def b1(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """Sequential ``get(pk=i)``: the library on each sync driver, each raw client, the seed."""
    ids = [i % sizes.rows + 1 for i in range(sizes.gets)]
    with contextlib.ExitStack() as stack, seed(base_url, sizes.rows) as seeded:
        variants: dict[str, Callable[[], Any]] = {}
        for suffix, kind in (("", "pycurl"), ("_httpx2", "httpx2"), ("_httpx", "httpx")):
            objects = book.objects.using("default" + suffix)
            get = raw_getter(kind, base_url, stack)

            def library(objects: Any = objects) -> None:
                for pk in ids:
                    objects.get(pk=pk)

            def raw(get: Callable[[str], bytes] = get) -> None:
                for pk in ids:
                    BookSchema.model_validate_json(get(f"books/{pk}/"))

            variants[f"library_{kind}"] = library
            variants[f"raw_{kind}"] = raw
        if seeded is not None:
            variants["seed"] = lambda: seeded.run("get", sizes.gets)
        samples = alternate(variants, sizes.reps)
    n = sizes.gets
    best = fastest(samples)
    results = [
        ratio_result("B1", runs(sizes, f"get(pk=i), library (pycurl) vs fastest raw "
                                       f"({label(best)})"),
                     samples, n, 1.5, ("library_pycurl", best)),
        ratio_result("B1.cpu", "same runs, client CPU time only", samples, n, None,
                     ("library_pycurl", best), cpu=True),
        ratio_result("B1.a", "library vs raw, both on pycurl (same transport)", samples, n, None,
                     ("library_pycurl", "raw_pycurl")),
        ratio_result("B1.b", "library vs raw, both on httpx2", samples, n, None,
                     ("library_httpx2", "raw_httpx2")),
        ratio_result("B1.c", "library vs raw, both on httpx 0.28", samples, n, None,
                     ("library_httpx", "raw_httpx")),
        ratio_result("B1.d", "raw httpx2 vs fastest raw", samples, n, None,
                     ("raw_httpx2", best)),
        ratio_result("B1.e", "raw httpx 0.28 vs fastest raw", samples, n, None,
                     ("raw_httpx", best)),
    ]  # fmt: skip
    if "seed" in samples:
        results += [
            ratio_result("B1.s", "seed 0.1.0 get(id=i) (httpx 0.28) vs library", samples, n, None,
                         ("seed", "library_pycurl")),
            ratio_result("B1.s2", "seed 0.1.0 vs fastest raw", samples, n, None, ("seed", best)),
        ]  # fmt: skip
    return results


# -- B2: async aget, one at a time -------------------------------------------------------------


def _aget_loop(get: Callable[..., Awaitable[Any]], ids: list[int]) -> AsyncRun:
    async def run() -> None:
        for pk in ids:
            await get(pk=pk)

    return run


def _araw_loop(get: Callable[[str], Awaitable[bytes]], ids: list[int]) -> AsyncRun:
    async def run() -> None:
        for pk in ids:
            BookSchema.model_validate_json(await get(f"books/{pk}/"))

    return run


async def _b2(book: Book, base_url: str, sizes: Sizes, seeded: Seed | None) -> Samples:
    ids = [i % sizes.rows + 1 for i in range(sizes.gets)]
    async with contextlib.AsyncExitStack() as stack:
        variants: dict[str, AsyncRun] = {}
        for suffix, kind in (("", "aiohttp"), ("_httpx2", "httpx2"), ("_httpx", "httpx")):
            objects = book.objects.using("default" + suffix)
            variants[f"library_{kind}"] = _aget_loop(objects.aget, ids)
            variants[f"raw_{kind}"] = _araw_loop(await araw_getter(kind, base_url, stack), ids)
        if seeded is not None:

            async def seed_run() -> Timed:
                return seeded.run("aget", sizes.gets)

            variants["seed"] = seed_run
        return await async_alternate(variants, sizes.reps)


def b2(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """Sequential ``await aget(pk=i)``: the library on each async driver, each raw client."""
    with seed(base_url, sizes.rows) as seeded:
        samples = asyncio.run(_b2(book, base_url, sizes, seeded))
    n = sizes.gets
    best = fastest(samples)
    results = [
        ratio_result("B2", runs(sizes, "aget(pk=i) one at a time, library vs raw, both on aiohttp"),
                     samples, n, 1.2, ("library_aiohttp", "raw_aiohttp")),
        ratio_result("B2.cpu", "same runs, client CPU time only", samples, n, None,
                     ("library_aiohttp", "raw_aiohttp"), cpu=True),
        ratio_result("B2.a", f"library (aiohttp) vs fastest raw ({label(best)})", samples, n,
                     None, ("library_aiohttp", best)),
        ratio_result("B2.b", "library vs raw, both on httpx2", samples, n, None,
                     ("library_httpx2", "raw_httpx2")),
        ratio_result("B2.c", "library vs raw, both on httpx 0.28", samples, n, None,
                     ("library_httpx", "raw_httpx")),
    ]  # fmt: skip
    if "seed" in samples:
        results.append(
            ratio_result("B2.s", "seed 0.1.0 aget (httpx 0.28) vs library", samples, n, None,
                         ("seed", "library_aiohttp"))
        )  # fmt: skip
    return results


# -- B3: 1,000 concurrent aget against a 50 ms API ----------------------------------------------


def _gather_gets(get: Callable[..., Awaitable[Any]], ids: list[int]) -> AsyncRun:
    async def run() -> None:
        await asyncio.gather(*(get(pk=pk) for pk in ids))

    return run


def _gather_raw(get: Callable[[str], Awaitable[bytes]], ids: list[int]) -> AsyncRun:
    async def one(pk: int) -> None:
        BookSchema.model_validate_json(await get(f"books/{pk}/"))

    async def run() -> None:
        await asyncio.gather(*(one(pk) for pk in ids))

    return run


async def _b3(book: Book, base_url: str, sizes: Sizes, seeded: Seed | None) -> Samples:
    ids = [i % sizes.rows + 1 for i in range(sizes.concurrency)]
    async with contextlib.AsyncExitStack() as stack:
        variants: dict[str, AsyncRun] = {}
        for suffix, kind in (("", "aiohttp"), ("_httpx2", "httpx2")):
            objects = book.objects.using("slow50" + suffix)
            variants[f"library_{kind}"] = _gather_gets(objects.aget, ids)
            variants[f"raw_{kind}"] = _gather_raw(await araw_getter(kind, base_url, stack), ids)
        if seeded is not None:

            async def seed_run() -> Timed:
                return seeded.run("gather", sizes.concurrency)

            variants["seed"] = seed_run
        return await async_alternate(variants, sizes.wall_reps)


async def _bridge(qs: Any, ids: list[int], serial_calls: int) -> dict[str, float]:
    """Django's bridge: ``sync_to_async(get)`` gathered; timed once each (they are slow)."""
    started = time.perf_counter()
    await asyncio.gather(*(sync_to_async(qs.get, thread_sensitive=False)(pk=pk) for pk in ids))
    threads = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(sync_to_async(qs.get)(pk=pk) for pk in ids[:serial_calls]))
    return {"threads": threads, "serial": time.perf_counter() - started}


def b3(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """Wall and CPU time of ``sizes.concurrency`` gathered aget() against a 50 ms API."""
    with seed(base_url, sizes.rows) as seeded:
        samples = asyncio.run(_b3(book, base_url, sizes, seeded))
    bridge = asyncio.run(_bridge(book.objects.using("slow50"), list(range(1, 101)),
                                 sizes.bridge_calls))  # fmt: skip
    n = sizes.concurrency
    t = {name: samples.median(name) for name in samples}
    what = f"{n:,} x aget() gathered, 50 ms API, {sizes.wall_reps} rounds"
    results = [
        Result("B3", f"{what}: wall, library vs raw, both on aiohttp", wall(t["library_aiohttp"]),
               wall(t["raw_aiohttp"]), f"{samples.ratio('library_aiohttp', 'raw_aiohttp'):.2f}x",
               "≤ 1.50x", samples.ratio("library_aiohttp", "raw_aiohttp") <= 1.5),
        ratio_result("B3.cpu", "same rounds: client CPU per request", samples, n, 1.5,
                     ("library_aiohttp", "raw_aiohttp"), "req", cpu=True),
        Result("B3.a", "wall, library vs raw, both on httpx2", wall(t["library_httpx2"]),
               wall(t["raw_httpx2"]), f"{samples.ratio('library_httpx2', 'raw_httpx2'):.2f}x"),
        ratio_result("B3.b", "CPU per request, both on httpx2", samples, n, None,
                     ("library_httpx2", "raw_httpx2"), "req", cpu=True),
    ]  # fmt: skip
    if "seed" in samples:
        results += [
            Result("B3.s", "wall, seed 0.1.0 (httpx 0.28 pool) vs library", wall(t["seed"]),
                   wall(t["library_aiohttp"]), f"{samples.ratio('seed', 'library_aiohttp'):.2f}x"),
            ratio_result("B3.s2", "CPU per request, seed 0.1.0 vs library", samples, n, None,
                         ("seed", "library_aiohttp"), "req", cpu=True),
        ]  # fmt: skip
    results += [
        Result("B3.c", "sync_to_async(get, thread_sensitive=False) x100",
               wall(bridge["threads"]), "", wall(bridge["threads"])),
        Result("B3.d", f"sync_to_async(get) x{sizes.bridge_calls} (Django's default)",
               wall(bridge["serial"]), "", wall(bridge["serial"])),
    ]  # fmt: skip
    return results


# -- B4: iterate rows in pages of 100 ----------------------------------------------------------


def _expect_rows(rows: list[Any], count: int, what: str) -> None:
    if len(rows) != count:
        raise RuntimeError(f"{what} returned {len(rows)} rows, expected {count}")


def b4_sync(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """``list(iterator(chunk_size=100))`` against a raw page loop on the same transport."""
    rows = sizes.rows
    with contextlib.ExitStack() as stack:
        variants: dict[str, Callable[[], Any]] = {}
        for suffix, kind in (("", "pycurl"), ("_httpx2", "httpx2")):
            objects = book.objects.using("default" + suffix)
            get = raw_getter(kind, base_url, stack)
            variants[f"library_{kind}"] = lambda o=objects: list(o.iterator(chunk_size=PAGE))
            variants[f"raw_{kind}"] = lambda g=get: raw_pages(g, PAGE, base_url)
        variants["all"] = lambda: list(book.objects.all())
        sequential = book.objects.using("default_sequential")
        variants["library_sequential"] = lambda: list(sequential.iterator(chunk_size=PAGE))
        ahead = RawCurlAhead(base_url)
        stack.callback(ahead.close)
        variants["raw_pycurl_ahead"] = lambda: raw_pages_ahead(ahead, PAGE)
        for name, run in variants.items():
            _expect_rows(run(), rows, name)
        samples = alternate(variants, sizes.reps)
    pages = rows // PAGE
    what = f"list(iterator(chunk_size={PAGE})), {rows:,} rows, {sizes.reps} runs"
    return [
        ratio_result("B4", f"{what}: library vs raw, both on pycurl", samples, pages, 1.1,
                     ("library_pycurl", "raw_pycurl"), "page"),
        ratio_result("B4.cpu", "same runs, client CPU time only", samples, pages, None,
                     ("library_pycurl", "raw_pycurl"), "page", cpu=True),
        ratio_result("B4.a", "list(all()) (PAGE_SIZE unset) vs raw on pycurl", samples, pages,
                     None, ("all", "raw_pycurl"), "page"),
        ratio_result("B4.b", "library vs raw, both on httpx2", samples, pages, None,
                     ("library_httpx2", "raw_httpx2"), "page"),
        ratio_result("B4.c", f"library (pycurl) vs fastest raw ({label(fastest(samples))})",
                     samples, pages, None, ("library_pycurl", fastest(samples)), "page"),
        ratio_result("B4.d", "READ_AHEAD=False (one request at a time) vs raw on pycurl",
                     samples, pages, None, ("library_sequential", "raw_pycurl"), "page"),
        ratio_result("B4.e", "library vs a raw loop reading one page ahead (libcurl multi)",
                     samples, pages, None, ("library_pycurl", "raw_pycurl_ahead"), "page"),
    ]  # fmt: skip


async def _b4_async(book: Book, base_url: str, sizes: Sizes) -> Samples:
    qs = book.objects.using("slow20")
    async with contextlib.AsyncExitStack() as stack:
        get = await araw_getter("aiohttp", base_url, stack)
        base = base_url
        checks = {
            "async for all()": [b async for b in qs.all()],
            "araw_pages()": await araw_pages(get, PAGE, base),
            "araw_pages_concurrent()": await araw_pages_concurrent(get, PAGE),
        }
        for what, rows in checks.items():
            _expect_rows(rows, sizes.rows, what)

        async def library() -> None:
            [b async for b in qs.all()]

        async def aiterator() -> None:
            [b async for b in qs.aiterator(chunk_size=PAGE)]

        variants: dict[str, AsyncRun] = {
            "library": library,
            "aiterator": aiterator,
            "raw": lambda: araw_pages(get, PAGE, base),
            "raw_concurrent": lambda: araw_pages_concurrent(get, PAGE),
        }
        return await async_alternate(variants, sizes.async_reps, warmup=0)


def b4_async(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """``async for`` over all rows against raw aiohttp pages one after another (20 ms API)."""
    samples = asyncio.run(_b4_async(book, base_url, sizes))
    t = {name: samples.median(name) for name in samples}
    speedup = {name: 1 / samples.ratio(name, "raw") for name in samples}
    what = f"async for all(), {sizes.rows:,} rows, 20 ms API, x{sizes.async_reps}"
    return [
        Result("B4b", what, wall(t["library"]), wall(t["raw"]),
               f"{speedup['library']:.2f}x faster", "≥ 3x faster", speedup["library"] >= 3),
        Result("B4b.a", f"aiterator(chunk_size={PAGE})", wall(t["aiterator"]), wall(t["raw"]),
               f"{speedup['aiterator']:.2f}x faster"),
        Result("B4b.b", "raw: page 1, then 10 pages at a time", "", wall(t["raw_concurrent"]),
               f"{speedup['raw_concurrent']:.2f}x faster"),
    ]  # fmt: skip


# -- B5: peak RSS while streaming ----------------------------------------------------------------


def probe(base_url: str, mode: str, chunk: int) -> dict[str, Any]:
    """Run :mod:`benchmarks.rss_probe` in a fresh interpreter; its JSON line."""
    cmd = [sys.executable, "-m", "benchmarks.rss_probe", "--base-url", base_url]
    cmd += ["--mode", mode, "--chunk", str(chunk)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"rss_probe {mode} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def mib(kib: float) -> str:
    """``"12.3 MiB"``."""
    return f"{kib / 1024:.1f} MiB"


def b5(base_url: str, sizes: Sizes) -> list[Result]:
    """Peak RSS growth while iterating ``big_rows`` rows, each run in a fresh process."""
    runs = {
        mode: probe(base_url, mode, chunk)
        for mode, chunk in (("lib", sizes.chunk), ("raw", sizes.chunk), ("lib-list", sizes.chunk))
    }
    for mode, run in runs.items():
        _expect_rows([None] * run["rows"], sizes.big_rows, f"rss_probe {mode}")
    growth = {mode: run["peak_kib"] - run["baseline_kib"] for mode, run in runs.items()}
    n, c = f"{sizes.big_rows:,}", sizes.chunk
    return [
        Result("B5", f"peak RSS - start, iterator(chunk_size={c}), {n} rows",
               mib(growth["lib"]), mib(growth["raw"]), mib(growth["lib"]), "≤ 30 MiB",
               growth["lib"] <= 30 * 1024),
        Result("B5.a", f"peak RSS - start, list(all()), {n} rows (no streaming)",
               mib(growth["lib-list"]), "", mib(growth["lib-list"])),
        Result("B5.b", "seconds of those runs (library / raw / list(all()))",
               wall(runs["lib"]["seconds"]), wall(runs["raw"]["seconds"]),
               wall(runs["lib-list"]["seconds"])),
    ]  # fmt: skip


# -- B6: cold start -----------------------------------------------------------------------------


def cold(mode: str, base_url: str | None = None, python: Path | None = None) -> float:
    """Milliseconds of one :mod:`benchmarks.cold` measurement in a fresh interpreter."""
    return cold_run(mode, base_url, python)["ms"]


def cold_run(
    mode: str, base_url: str | None = None, python: Path | None = None
) -> dict[str, float]:
    """Every figure of one :mod:`benchmarks.cold` run in a fresh interpreter (``ms``...)."""
    cmd = [str(python or sys.executable), "-m", "benchmarks.cold", mode]
    if base_url:
        cmd += ["--base-url", base_url]
    # With bytecode caches, as deployed: PYTHONDONTWRITEBYTECODE would add compiling every
    # module to each figure (b6 runs each mode once first, so the caches exist).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          env=env)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.cold {mode} failed:\n{done.stderr}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {key: value for key, value in found.items() if key != "mode"}


def seed_import_ms() -> float | None:
    """``import django_api_orm`` of the seed package (it needs no Django), in ms."""
    if not SEED_PYTHON.exists():
        return None
    code = (
        "import time; t = time.perf_counter(); import django_api_orm; "
        "print((time.perf_counter() - t) * 1000)"
    )
    done = subprocess.run([str(SEED_PYTHON), "-I", "-c", code], cwd="/", capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    return float(done.stdout.strip()) if done.returncode == 0 else None


def b6(base_url: str, sizes: Sizes) -> list[Result]:
    """Cold start, each measured in ``cold_runs`` fresh processes (medians)."""
    n = sizes.cold_runs
    modes = {mode: base_url if mode.startswith("first") else None
             for mode in ("import", "import-setup", "first-get", "first-aget")}  # fmt: skip
    for mode, url in modes.items():
        cold(mode, url)  # writes the bytecode caches
    medians = {
        mode: statistics.median(cold(mode, url) for _ in range(n)) for mode, url in modes.items()
    }
    cold("import-own")
    own_runs = [cold_run("import-own") for _ in range(n)]
    medians["import-own"] = statistics.median(run["ms"] for run in own_runs)
    medians["deps"] = statistics.median(run["deps_ms"] for run in own_runs)
    ms = {mode: f"{value:.1f} ms" for mode, value in medians.items()}
    results = [
        Result("B6", "from django_api_orm import APIModel, Manager, QuerySet after import django "
               f"(median of {n} processes)",
               ms["import"], "", ms["import"], "≤ 100 ms", medians["import"] <= 100),
        Result("B6.a", "the same after django.setup() with contrib.auth (django.db.models loaded)",
               ms["import-setup"], "", ms["import-setup"], "≤ 100 ms",
               medians["import-setup"] <= 100),
        Result("B6.d", "the library's own share: the same import once pydantic and Django's "
               "signal dispatcher are loaded", ms["import-own"], "", ms["import-own"]),
        Result("B6.e", "in those processes: importing pydantic's BaseModel and django.dispatch",
               ms["deps"], "", ms["deps"]),
        Result("B6.b", "first get(pk=1) after django.setup() (connect included)", ms["first-get"],
               "", ms["first-get"], "≤ 5 ms", medians["first-get"] <= 5),
        Result("B6.c", "longest event-loop callback, first aget then 50 gathered",
               ms["first-aget"], "", ms["first-aget"], "≤ 10 ms", medians["first-aget"] <= 10),
    ]  # fmt: skip
    seed_ms = seed_import_ms()
    if seed_ms is not None:
        results.append(Result("B6.s", "import of the seed 0.1.0 package (no Django)",
                              f"{seed_ms:.1f} ms", "", f"{seed_ms:.1f} ms"))  # fmt: skip
    return results


# -- profiling -----------------------------------------------------------------------------------


def _print_profile(name: str, profiler: cProfile.Profile, top: int) -> None:
    print(f"\n== profile: {name}: top {top} by own time ==")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    print(f"== profile: {name}: django_api_orm functions by cumulative time ==")
    stats.sort_stats("cumulative").print_stats("django_api_orm", top)


def _profiled(run: Callable[[], Any]) -> cProfile.Profile:
    run()  # warm
    profiler = cProfile.Profile()
    profiler.runcall(run)
    return profiler


async def _aprofiled(run: AsyncRun) -> cProfile.Profile:
    await run()  # warm
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        await run()
    finally:
        profiler.disable()
    return profiler


def profile_library(book: Book, sizes: Sizes, top: int = 25) -> None:
    """cProfile of the library's B1, B2 and B4 runs (one run each, after a warm one)."""
    ids = [i % sizes.rows + 1 for i in range(sizes.gets * 5)]

    def gets() -> None:
        for pk in ids:
            book.objects.get(pk=pk)

    _print_profile("B1 get()", _profiled(gets), top)
    aget_run = _aget_loop(book.objects.aget, ids)
    _print_profile("B2 aget()", asyncio.run(_aprofiled(aget_run)), top)
    pages = _profiled(lambda: list(book.objects.iterator(chunk_size=PAGE)))
    _print_profile("B4 iterator()", pages, top)


# -- main ----------------------------------------------------------------------------------------

NOTES = [
    "Ratios compare the library with raw code timed in the same process: the variants run "
    "round-robin (the order rotating every run) after a warm-up run; a ratio is the median "
    "of the per-run ratios (paired, so load drift cancels), times are medians. Raw code = "
    "a pooled client of the named stack, a status check, then pydantic "
    "`model_validate_json` on the body (B4: one page-envelope model per page).",
    "Each figure is shown against the raw client on the same transport (like for like) and "
    "against the fastest raw client of the run. The library's default drivers are pycurl "
    "(sync) and aiohttp (async); `library_httpx2` / `library_httpx` lines use "
    "SYNC_TRANSPORT / ASYNC_TRANSPORT to run on the other stacks.",
    "The seed package (`django-api-orm==0.1.0` from PyPI, on httpx 0.28) runs in its own "
    "process from `.venv-seed` (it shares the import name), driven by "
    "`benchmarks/seed_runner.py`: it takes its turn in the same round-robin and reports its "
    "own wall and CPU seconds. Its `get(id=i)` is a list request `books/?id=i&limit=2` (it "
    "has no lookup by primary key), answered with that one row. It does not paginate, so it "
    "has no B4 line.",
    "The servers are a pure ASGI app under uvicorn, each in its own process, on 127.0.0.1; "
    "JSON bodies are cached, so mostly the client is measured. B3 / B4b are wall times "
    "against a server that sleeps 50 / 20 ms per request.",
    "B3.c / B3.d use Django's bridge: `sync_to_async(get)` serialises every call on one "
    "thread (thread_sensitive=True, the default); thread_sensitive=False uses the loop's "
    "default executor.",
    "The machine (2 cores) is shared with other engineers' test runs: the load averages at "
    "the start and the end of the run are in the header above; paired ratios cancel most of "
    "the drift, absolute times do not.",
    "B5 runs in a fresh process: the baseline is VmRSS right before the iteration (after one "
    "warm-up page, `gc.collect()`), the peak is VmHWM reset just before it. B6 runs "
    "`benchmarks/cold.py` in fresh processes; B6.c times every callback the loop runs "
    "(wall time, around each run) and reports the longest; earlier tables took it from "
    "asyncio's debug mode, whose own stack capture at each task start it included.",
]

# Where a bar is missed, where the time goes (cProfile of the library's runs, `--profile`).
GAPS = [
    "Ratios move between runs on this shared 2-core VM by up to a tenth, at the same load "
    "(0.7-1.2 in these runs, the benchmark's own included): four full runs of this code, "
    "minutes apart, read B1 1.36x / 1.45x / 1.41x / 1.40x, B2 1.20x / 1.22x / 1.25x / 1.27x, "
    "B3.cpu 1.62x / 1.47x / 1.53x / 1.37x, B4 0.92x / 0.83x / 0.88x / 0.87x, B6 151 / 116 / "
    "107 / 120 ms (this table is the fourth). A bar within a tenth of its ratio may pass in one run and fail in the next; the "
    "ranges are what to read.",
    "B1 (sync get ≤ 1.5x the fastest raw client, pycurl): passes in every run (1.36-1.45x). "
    "A warm get(pk) runs about 20 µs of the library's Python (in-process, no network); against "
    "the network that costs three to four times as much CPU (B1.cpu), as code run after each "
    "wait for the socket runs with cold caches. What remains is spread over some 40 functions "
    "of the queryset, the plan, the driver and the model instance, none above 3 µs.",
    "B2 (sequential aget ≤ 1.2x raw aiohttp): met in one run of four (1.20-1.27x; 1.22-1.29x "
    "in the four runs of the previous session). Measured layer by layer in one process: the "
    "driver is 6% over raw aiohttp (its deadline, asyncio.timeout_at, is 6.5 µs warm against "
    "3 µs for a bare timer; aiohttp's own total timeout would round deadlines of 5 s and more "
    "up to whole seconds), the send plan with its retry policy 1.5% more, running the plan "
    "5% more, the queryset (lookup parsing, the query context, the model instance, the pk "
    "check) 8% more; no single function above 3 µs. B3's wall time passes with room "
    "(1.07-1.10x); its CPU per request (1.37-1.62x) passes in two runs of four, at a load "
    "near 1.0 (1.28-1.56x, three runs of four, in the previous session at 0.2-0.9).",
    "B4 (iterate 10k rows ≤ 1.1x a raw page loop on the same transport): met in every run "
    "(0.83-0.92x), by reading one page ahead. A sync walk on pycurl puts the next page's GET "
    "on the wire (libcurl's multi interface, in the caller's thread) while it parses, builds "
    "and checks the current page and while the caller works on it; with the total known the "
    "request for page k+1 leaves before page k's body is parsed. The server's time then "
    "overlaps the library's, which a page loop that waits for each page cannot do. One "
    "request at a time (B4.d, READ_AHEAD=False) the library is still 1.28-1.48x the raw "
    "loop: a fixed cost per page (the driver around libcurl 35-50 µs over a bare perform, "
    "the plan and page walker 50-70 µs) and its CPU (B4.cpu 1.27-1.46x) remain, hidden "
    "behind the server's time rather than removed. A raw loop that reads ahead by hand "
    "(B4.e; it can send page k+1 only once page k's link is parsed) gains nearly nothing, "
    "as raw code has little to overlap: the library is 0.82-0.89x of it. On httpx2 (B4.b, "
    "one request at a time) 0.93-0.99x.",
    "B5: the page walker's repeated-row check holds the pks of the last 8 pages only when "
    "streaming: 4.1-5.8 MiB against raw code's 3.5-4 MiB.",
    "B6 (import ≤ 100 ms after Django): missed in all four runs (107-151 ms; 94-137 ms in the "
    "previous session); after django.setup() (B6.a: what a project's models module pays, "
    "since Django imports models during setup) 79-115 ms, met in two runs of four. "
    "Cold imports are the noisiest figure here: the seed package's own import read 110-208 ms "
    "in the same hour, and the code of the start of this session, run alternately with this "
    "code, read 150 / 132 ms against 111 / 102 ms. Of B6, pydantic's model machinery and "
    "Django's signal dispatcher (with asyncio) take 73-108 ms (B6.e): the library's own share "
    "is 25-37 ms (B6.d). Deferring pydantic until the first model class would pass B6 and only "
    "move the cost into the project's models module, which imports pydantic for its schemas. "
    "B6.b (first get, 3.7-4.8 ms) and B6.c (longest loop callback, 1.4-2.3 ms) pass: ready() "
    "imports the drivers and builds the TLS context (only for https services) off any loop.",
    "This run's server had neither httptools nor uvloop (uvicorn on h11/asyncio), so every "
    "raw time is higher than with them; ratios are what to compare.",
]

FIGURES = ("B1", "B2", "B3", "B4", "B5", "B6")


def run_figures(
    up: dict[str, BenchServer], book: Book, sizes: Sizes, only: set[str]
) -> list[Result]:
    """Run the selected figures, printing each one's lines as they come."""
    steps: dict[str, Callable[[], list[Result]]] = {
        "B1": lambda: b1(book, up["fast"].api_url, sizes),
        "B2": lambda: b2(book, up["fast"].api_url, sizes),
        "B3": lambda: b3(book, up["slow50"].api_url, sizes),
        "B4": lambda: (
            b4_sync(book, up["fast"].api_url, sizes) + b4_async(book, up["slow20"].api_url, sizes)
        ),
        "B5": lambda: b5(up["big"].api_url, sizes),
        "B6": lambda: b6(up["fast"].api_url, sizes),
    }
    results: list[Result] = []
    for name, step in steps.items():
        if name not in only:
            continue
        started = time.perf_counter()
        lines = step()
        print(f"{name} done in {time.perf_counter() - started:.1f} s (load {load()})",
              file=sys.stderr)  # fmt: skip
        results += lines
    return results


def library_revision() -> str:
    """The git commit the library was measured at, marked when the tree has local changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "django_api_orm"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (+ uncommitted changes)" if dirty else commit


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI smoke")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a bar fails")
    parser.add_argument("--only", default=",".join(FIGURES), help="e.g. B1,B3")
    parser.add_argument("--results", type=Path, help="Markdown output (full run: results.md)")
    parser.add_argument("--profile", action="store_true", help="cProfile the library's B1/B2/B4")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run, print, write results.md; the exit code is 1 only with --strict and a failed bar."""
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    only = {name.strip().upper() for name in args.only.split(",")}
    began = time.perf_counter()
    info = {**machine(server_stack()), "django-api-orm": library_revision()}
    with servers(sizes) as up:
        book = setup_django(up)
        results = run_figures(up, book, sizes, only)
        if args.profile:
            profile_library(book, sizes)
    info["Load average at the end (1/5/15 min)"] = load()
    print()
    print(table(results))
    print(f"\n{time.perf_counter() - began:.0f} s in all", file=sys.stderr)
    output = args.results or (None if args.quick else RESULTS_FILE)
    if output is not None:
        output.write_text(markdown(results, info, NOTES, GAPS), encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    failed = [r.figure for r in results if r.passed is False]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
