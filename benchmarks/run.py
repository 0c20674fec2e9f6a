"""Benchmarks of django-api-orm against raw httpx + pydantic code, measured in the same run.

``python benchmarks/run.py`` (``make bench``) prints the table and writes
``benchmarks/results.md``; ``--quick`` runs a tiny version of every figure (CI smoke, < 60 s,
writes nothing unless ``--results`` is given). Bars are reported, not enforced: the exit code
is 0 even when one fails, unless ``--strict``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import json
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

if not __package__:  # `python benchmarks/run.py`: import the package, not its loose modules
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx
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
    alternate,
    async_alternate,
    machine,
    markdown,
    table,
)
from benchmarks.server import BenchServer, server_stack

HAVE_AIOHTTP = importlib.util.find_spec("httpx_aiohttp") is not None
PAGE = 100  # rows per page in B4
RESULTS_FILE = Path(__file__).resolve().parent / "results.md"
Book = Any  # the model class, defined after Django is configured
AsyncRun = Callable[[], Awaitable[Any]]


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


FULL = Sizes(
    gets=200,
    reps=30,
    concurrency=100,
    wall_reps=7,
    bridge_calls=100,
    rows=10_000,
    async_reps=3,
    big_rows=100_000,
    chunk=1000,
)
QUICK = Sizes(
    gets=50,
    reps=3,
    concurrency=100,
    wall_reps=2,
    bridge_calls=10,
    rows=1_000,
    async_reps=1,
    big_rows=10_000,
    chunk=1000,
)


# -- servers and Django ------------------------------------------------------------------------


@contextlib.contextmanager
def servers(sizes: Sizes) -> Iterator[dict[str, BenchServer]]:
    """The four upstreams, started in parallel, stopped on exit."""
    specs = {
        "fast": {"delay_ms": 0, "rows": sizes.rows},
        "slow100": {"delay_ms": 100, "rows": sizes.rows},
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
    """Configure Django with one service per server (``*_preview``: see aiohttp_preview)."""
    configure_django(
        {
            "default": service(up["fast"].api_url),
            "preview": service(up["fast"].api_url),
            "slow100": service(up["slow100"].api_url),
            "slow100_preview": service(up["slow100"].api_url),
            "slow20": service(up["slow20"].api_url, PAGE_SIZE=PAGE),
        }
    )
    return book_model()


def aiohttp_preview(alias: str) -> bool:
    """Give service ``alias`` an ``httpx_aiohttp.AiohttpTransport`` client on the running loop.

    A preview of the library with the transport of encode/httpx#3215, without changing the
    library: its client for this loop is built while ``httpx.AsyncHTTPTransport`` is swapped.
    False when that did not take (the library's internals changed): no preview lines then.
    """
    try:
        from httpx_aiohttp import AiohttpTransport

        from django_api_orm.registry import services

        with mock.patch.object(httpx, "AsyncHTTPTransport", AiohttpTransport):
            client = services[alias].async_client()
    except (ImportError, AttributeError, KeyError, TypeError):
        return False
    return isinstance(getattr(client, "_transport", None), AiohttpTransport)


def aiohttp_client(base_url: str) -> httpx.AsyncClient:
    """A raw ``httpx.AsyncClient`` over aiohttp (default limits: 100 connections)."""
    from httpx_aiohttp import AiohttpTransport

    return httpx.AsyncClient(base_url=base_url, transport=AiohttpTransport(), trust_env=False)


# -- raw baselines -----------------------------------------------------------------------------


def raw_get(client: httpx.Client, pk: int) -> BookSchema:
    """What code without the library does: pooled GET, status check, pydantic."""
    response = client.get(f"books/{pk}/")
    response.raise_for_status()
    return BookSchema.model_validate_json(response.content)


async def araw_get(client: httpx.AsyncClient, pk: int) -> BookSchema:
    """:func:`raw_get` with an ``httpx.AsyncClient``."""
    response = await client.get(f"books/{pk}/")
    response.raise_for_status()
    return BookSchema.model_validate_json(response.content)


def raw_pages(client: httpx.Client, page_size: int) -> list[BookSchema]:
    """Every row, following ``next`` links; each page validated in one pydantic call."""
    rows: list[BookSchema] = []
    url: str | None = f"books/?page=1&page_size={page_size}"
    while url:
        response = client.get(url)
        response.raise_for_status()
        page = BookPage.model_validate_json(response.content)
        rows += page.results
        url = page.next
    return rows


async def araw_pages(client: httpx.AsyncClient, page_size: int) -> list[BookSchema]:
    """:func:`raw_pages`, one page after another, with an ``httpx.AsyncClient``."""
    rows: list[BookSchema] = []
    url: str | None = f"books/?page=1&page_size={page_size}"
    while url:
        response = await client.get(url)
        response.raise_for_status()
        page = BookPage.model_validate_json(response.content)
        rows += page.results
        url = page.next
    return rows


async def araw_pages_concurrent(
    client: httpx.AsyncClient, page_size: int, limit: int = 10
) -> list[BookSchema]:
    """Page 1 gives the total; the other pages are then fetched ``limit`` at a time."""
    semaphore = asyncio.Semaphore(limit)

    async def fetch(number: int) -> BookPage:
        async with semaphore:
            response = await client.get(f"books/?page={number}&page_size={page_size}")
        response.raise_for_status()
        return BookPage.model_validate_json(response.content)

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
    names: tuple[str, str] = ("library", "raw"),
    unit: str = "call",
) -> Result:
    """``names[0] / names[1]`` (median of paired ratios); ``bar=None``: a contrast line."""
    ratio = samples.ratio(*names)
    return Result(
        figure,
        what,
        per_call(samples.median(names[0]), calls, unit),
        per_call(samples.median(names[1]), calls, unit),
        f"{ratio:.2f}x",
        "" if bar is None else f"≤ {bar:.2f}x",
        None if bar is None else ratio <= bar,
    )


def cpu_result(
    figure: str,
    samples: Samples,
    calls: int,
    names: tuple[str, str] = ("library", "raw"),
    unit: str = "call",
) -> Result:
    """The same runs as ``figure``, counting only this process's CPU time (no waiting)."""
    return Result(
        f"{figure}.cpu",
        "same runs, client CPU time only",
        per_call(samples.median(names[0], cpu=True), calls, unit),
        per_call(samples.median(names[1], cpu=True), calls, unit),
        f"{samples.ratio(*names, cpu=True):.2f}x",
    )


def runs(sizes: Sizes, what: str) -> str:
    """``"get(pk=i), 15 runs x 200 calls"``."""
    return f"{what}, {sizes.reps} runs x {sizes.gets} calls"


# -- B1: sync get ------------------------------------------------------------------------------


def b1(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """Sequential ``get(pk=i)`` against raw pooled ``httpx.Client`` + pydantic."""
    ids = [i % sizes.rows + 1 for i in range(sizes.gets)]
    with httpx.Client(base_url=base_url, trust_env=False) as client:

        def library() -> None:
            for pk in ids:
                book.objects.get(pk=pk)

        def raw() -> None:
            for pk in ids:
                raw_get(client, pk)

        samples = alternate({"library": library, "raw": raw}, sizes.reps)
    what = runs(sizes, "get(pk=i) sequential")
    return [
        ratio_result("B1", what, samples, sizes.gets, 1.15),
        cpu_result("B1", samples, sizes.gets),
    ]


# -- B2: async aget, one at a time -------------------------------------------------------------


def _aget_loop(get: Callable[..., Awaitable[Any]], ids: list[int]) -> AsyncRun:
    async def run() -> None:
        for pk in ids:
            await get(pk=pk)

    return run


def _araw_loop(client: httpx.AsyncClient, ids: list[int]) -> AsyncRun:
    async def run() -> None:
        for pk in ids:
            await araw_get(client, pk)

    return run


async def _b2(book: Book, base_url: str, sizes: Sizes) -> Samples:
    ids = [i % sizes.rows + 1 for i in range(sizes.gets)]
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=base_url, trust_env=False)
        )
        variants = {
            "library": _aget_loop(book.objects.aget, ids),
            "raw": _araw_loop(client, ids),
        }
        if HAVE_AIOHTTP:
            aio = await stack.enter_async_context(aiohttp_client(base_url))
            variants["raw_aiohttp"] = _araw_loop(aio, ids)
            if aiohttp_preview("preview"):
                preview = book.objects.using("preview")
                variants["library_aiohttp"] = _aget_loop(preview.aget, ids)
        return await async_alternate(variants, sizes.reps)


def b2(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """Sequential ``await aget(pk=i)`` against raw ``httpx.AsyncClient`` + pydantic."""
    samples = asyncio.run(_b2(book, base_url, sizes))
    n = sizes.gets
    results = [
        ratio_result("B2", runs(sizes, "aget(pk=i) one at a time"), samples, n, 1.0),
        cpu_result("B2", samples, n),
    ]
    if "raw_aiohttp" in samples:
        results.append(
            ratio_result("B2.a", "raw: AiohttpTransport vs httpx's own", samples, n, None,
                         ("raw_aiohttp", "raw"))
        )  # fmt: skip
    if "library_aiohttp" in samples:
        results += [
            ratio_result("B2.b", "library on AiohttpTransport (preview) vs raw httpx", samples,
                         n, None, ("library_aiohttp", "raw")),
            ratio_result("B2.c", "library vs raw, both on AiohttpTransport", samples, n, None,
                         ("library_aiohttp", "raw_aiohttp")),
        ]  # fmt: skip
    return results


# -- B3: 100 concurrent aget against a 100 ms API ----------------------------------------------


def _gather_gets(get: Callable[..., Awaitable[Any]], ids: list[int]) -> AsyncRun:
    async def run() -> None:
        await asyncio.gather(*(get(pk=pk) for pk in ids))

    return run


def _gather_raw(client: httpx.AsyncClient, ids: list[int]) -> AsyncRun:
    async def run() -> None:
        await asyncio.gather(*(araw_get(client, pk) for pk in ids))

    return run


async def _b3(book: Book, base_url: str, sizes: Sizes) -> tuple[Samples, dict[str, float]]:
    ids = list(range(1, sizes.concurrency + 1))
    qs = book.objects.using("slow100")
    async with contextlib.AsyncExitStack() as stack:
        default = await stack.enter_async_context(
            httpx.AsyncClient(base_url=base_url, trust_env=False)
        )
        wide = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        keepalive = await stack.enter_async_context(
            httpx.AsyncClient(base_url=base_url, trust_env=False, limits=wide)
        )
        variants = {
            "library": _gather_gets(qs.aget, ids),
            "raw": _gather_raw(default, ids),
            "raw_keepalive": _gather_raw(keepalive, ids),
        }
        if HAVE_AIOHTTP:
            aio = await stack.enter_async_context(aiohttp_client(base_url))
            variants["raw_aiohttp"] = _gather_raw(aio, ids)
            if aiohttp_preview("slow100_preview"):
                preview = book.objects.using("slow100_preview")
                variants["library_aiohttp"] = _gather_gets(preview.aget, ids)
        samples = await async_alternate(variants, sizes.wall_reps)
        bridge = await _bridge(qs, ids, sizes.bridge_calls)
    return samples, bridge


async def _bridge(qs: Any, ids: list[int], serial_calls: int) -> dict[str, float]:
    """Django's bridge: ``sync_to_async(get)`` gathered; timed once each (they are slow)."""
    started = time.perf_counter()
    await asyncio.gather(*(sync_to_async(qs.get, thread_sensitive=False)(pk=pk) for pk in ids))
    threads = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(sync_to_async(qs.get)(pk=pk) for pk in ids[:serial_calls]))
    return {"threads": threads, "serial": time.perf_counter() - started}


def b3(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """Wall time of ``sizes.concurrency`` gathered aget() against a 100 ms API."""
    samples, bridge = asyncio.run(_b3(book, base_url, sizes))
    n = sizes.concurrency
    t = {name: samples.median(name) for name in samples}
    results = [
        Result("B3", f"{n} x aget() gathered, 100 ms API", wall(t["library"]), wall(t["raw"]),
               wall(t["library"]), "≤ 0.150 s", t["library"] <= 0.15),
        Result("B3.a", "raw httpx with 100 keep-alive connections (default: 20)", "",
               wall(t["raw_keepalive"]), wall(t["raw_keepalive"])),
    ]  # fmt: skip
    if "raw_aiohttp" in t:
        preview = t.get("library_aiohttp")
        results.append(
            Result("B3.b", "on AiohttpTransport (library: preview)",
                   "" if preview is None else wall(preview), wall(t["raw_aiohttp"]),
                   wall(t["raw_aiohttp"] if preview is None else preview))
        )  # fmt: skip
    results += [
        Result("B3.c", f"sync_to_async(get, thread_sensitive=False) x{n}",
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
    """``list(iterator(chunk_size=100))`` and ``list(all())`` against a raw page loop."""
    rows = sizes.rows
    with httpx.Client(base_url=base_url, trust_env=False) as client:
        _expect_rows(list(book.objects.iterator(chunk_size=PAGE)), rows, "iterator()")
        _expect_rows(list(book.objects.all()), rows, "all()")
        _expect_rows(raw_pages(client, PAGE), rows, "raw_pages()")
        samples = alternate(
            {
                "iterator": lambda: list(book.objects.iterator(chunk_size=PAGE)),
                "all": lambda: list(book.objects.all()),
                "raw": lambda: raw_pages(client, PAGE),
            },
            sizes.reps,
        )
    pages = rows // PAGE
    what = f"list(iterator(chunk_size={PAGE})), {rows:,} rows, {sizes.reps} runs"
    return [
        ratio_result("B4", what, samples, pages, 1.2, ("iterator", "raw"), "page"),
        cpu_result("B4", samples, pages, ("iterator", "raw"), "page"),
        ratio_result(
            "B4.a", "list(all()), same rows (PAGE_SIZE unset)", samples, pages, None,
            ("all", "raw"), "page",
        ),
    ]  # fmt: skip


async def _b4_async(book: Book, base_url: str, sizes: Sizes) -> Samples:
    qs = book.objects.using("slow20")
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        checks = {
            "async for all()": [b async for b in qs.all()],
            "araw_pages()": await araw_pages(client, PAGE),
            "araw_pages_concurrent()": await araw_pages_concurrent(client, PAGE),
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
            "raw": lambda: araw_pages(client, PAGE),
            "raw_concurrent": lambda: araw_pages_concurrent(client, PAGE),
        }
        return await async_alternate(variants, sizes.async_reps, warmup=0)


def b4_async(book: Book, base_url: str, sizes: Sizes) -> list[Result]:
    """``async for`` over all rows against raw pages fetched one after another (20 ms API)."""
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
    "pooled httpx client, `raise_for_status()`, then pydantic `model_validate_json` on the "
    "body (B4: one page-envelope model per page).",
    "The server is a pure ASGI app under uvicorn in its own process (its own GIL), on "
    "127.0.0.1; JSON bodies are cached, so mostly the client is measured.",
    "B3 / B4b are wall times against a server that sleeps 100 / 20 ms per request. B3.a: raw "
    "httpx with 100 keep-alive connections (httpx keeps 20 by default, so 80 of the 100 "
    "connections are reopened every round). B2.b, B2.c and B3.b preview the library on "
    "`httpx_aiohttp.AiohttpTransport` (encode/httpx#3215) by swapping the transport class "
    "while its client is built; the library itself is unchanged.",
    "B3.c / B3.d use Django's bridge: `sync_to_async(get)` serialises every call on one "
    "thread (thread_sensitive=True, the default); thread_sensitive=False uses the loop's "
    "default executor (min(32, cores + 4) threads).",
    "B5 runs in a fresh process: the baseline is VmRSS right before the iteration (after one "
    "warm-up page, `gc.collect()`), the peak is VmHWM reset just before it.",
]

FIGURES = ("B1", "B2", "B3", "B4", "B5")


def run_figures(
    up: dict[str, BenchServer], book: Book, sizes: Sizes, only: set[str]
) -> list[Result]:
    """Run the selected figures, printing each one's lines as they come."""
    steps: dict[str, Callable[[], list[Result]]] = {
        "B1": lambda: b1(book, up["fast"].api_url, sizes),
        "B2": lambda: b2(book, up["fast"].api_url, sizes),
        "B3": lambda: b3(book, up["slow100"].api_url, sizes),
        "B4": lambda: (
            b4_sync(book, up["fast"].api_url, sizes) + b4_async(book, up["slow20"].api_url, sizes)
        ),
        "B5": lambda: b5(up["big"].api_url, sizes),
    }
    results: list[Result] = []
    for name, step in steps.items():
        if name not in only:
            continue
        started = time.perf_counter()
        lines = step()
        print(f"{name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
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
    print()
    print(table(results))
    print(f"\n{time.perf_counter() - began:.0f} s in all", file=sys.stderr)
    output = args.results or (None if args.quick else RESULTS_FILE)
    if output is not None:
        output.write_text(markdown(results, info, NOTES), encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    failed = [r.figure for r in results if r.passed is False]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
