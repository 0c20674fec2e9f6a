"""B5's fresh process: how much the resident set grows while iterating every row of the API.

``python -m benchmarks.rss_probe --base-url URL --mode lib --chunk 1000`` prints one JSON
line: the row count, the RSS right before the iteration, the peak RSS during it and the
seconds it took. The peak is the kernel's ``VmHWM`` after resetting it (``5`` written to
``/proc/self/clear_refs``) right before the iteration; where that is refused, a thread
samples ``VmRSS`` every millisecond instead.

Modes: ``lib`` streams ``Book.objects.iterator(chunk_size=chunk)``; ``raw`` follows ``next``
links with ``httpx.Client`` and validates each page with pydantic, keeping nothing;
``lib-list`` materialises ``list(Book.objects.all())`` (for contrast: no streaming).
"""

from __future__ import annotations

import argparse
import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.common import BookPage, book_model, configure_django, service

__all__ = ["main"]


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") <= _status_kib("VmRSS") + 64


@contextmanager
def _peak_rss() -> Iterator[dict[str, int]]:
    """Yields a dict that holds ``baseline_kib`` now and ``peak_kib`` on exit."""
    gc.collect()
    result = {"baseline_kib": _status_kib("VmRSS"), "peak_kib": 0}
    if _reset_peak():
        yield result
        result["peak_kib"] = _status_kib("VmHWM")
        return
    done = threading.Event()
    peak = [result["baseline_kib"]]

    def sample() -> None:
        while not done.wait(0.001):
            peak[0] = max(peak[0], _status_kib("VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result["peak_kib"] = max(peak[0], _status_kib("VmRSS"))


def _lib_stream(chunk: int) -> tuple[Callable[[], int], Callable[[], None]]:
    book = book_model()

    def warm() -> None:
        rows = book.objects.iterator(chunk_size=chunk)
        next(rows)
        rows.close()

    def run() -> int:
        count = 0
        for _ in book.objects.iterator(chunk_size=chunk):
            count += 1
        return count

    return run, warm


def _lib_list(chunk: int) -> tuple[Callable[[], int], Callable[[], None]]:
    book = book_model()
    kept: list[Any] = []

    def run() -> int:
        kept.extend(book.objects.all())  # kept alive until the peak is read
        return len(kept)

    def warm() -> None:
        list(book.objects.all()[:chunk])

    return run, warm


def _raw(base_url: str, chunk: int) -> tuple[Callable[[], int], Callable[[], None]]:
    import httpx

    client = httpx.Client(base_url=base_url, trust_env=False)
    first = f"books/?page=1&page_size={chunk}"

    def fetch(url: str) -> BookPage:
        response = client.get(url)
        response.raise_for_status()
        return BookPage.model_validate_json(response.content)

    def run() -> int:
        count, url = 0, first
        while url:
            page = fetch(url)
            count += len(page.results)
            url = page.next or ""
        return count

    def warm() -> None:
        fetch(first)

    return run, warm


def main(argv: list[str] | None = None) -> None:
    """Measure one mode and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--mode", choices=("lib", "raw", "lib-list"), default="lib")
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args(argv)
    configure_django({"default": service(args.base_url, PAGE_SIZE=args.chunk)})
    if args.mode == "lib":
        run, warm = _lib_stream(args.chunk)
    elif args.mode == "lib-list":
        run, warm = _lib_list(args.chunk)
    else:
        run, warm = _raw(args.base_url, args.chunk)
    warm()  # imports, the pooled connection, pydantic's first validation: not the iteration's
    with _peak_rss() as memory:
        started = time.perf_counter()
        rows = run()
        seconds = time.perf_counter() - started
    print(json.dumps({"mode": args.mode, "rows": rows, "seconds": seconds, **memory}))


if __name__ == "__main__":
    main()
