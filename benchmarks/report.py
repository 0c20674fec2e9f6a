"""Timing helpers (alternating runs, medians) and the result table (terminal and Markdown)."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = [
    "Result",
    "Samples",
    "Timed",
    "alternate",
    "async_alternate",
    "machine",
    "markdown",
    "table",
]

Variants = dict[str, Callable[[], Any]]
AsyncVariants = dict[str, Callable[[], Awaitable[Any]]]


class Samples:
    """Seconds of each run by variant, wall-clock and this process's CPU time; run ``i`` of
    every variant ran in the same round."""

    def __init__(self, names: list[str]) -> None:
        self.wall: dict[str, list[float]] = {name: [] for name in names}
        self.cpu: dict[str, list[float]] = {name: [] for name in names}

    def __iter__(self) -> Iterator[str]:
        return iter(self.wall)

    def __contains__(self, name: object) -> bool:
        return name in self.wall

    def add(self, name: str, wall: float, cpu: float) -> None:
        """Record one run."""
        self.wall[name].append(wall)
        self.cpu[name].append(cpu)

    def median(self, name: str, *, cpu: bool = False) -> float:
        """The median seconds of ``name``."""
        return statistics.median((self.cpu if cpu else self.wall)[name])

    def ratio(self, name: str, baseline: str, *, cpu: bool = False) -> float:
        """Median over runs of ``name / baseline``: paired, so load drift cancels."""
        times = self.cpu if cpu else self.wall
        pairs = zip(times[name], times[baseline], strict=True)
        return statistics.median(mine / theirs for mine, theirs in pairs)


@dataclass
class Result:
    """One line of the table. ``passed`` is None for figures shown for contrast only."""

    figure: str
    what: str
    library: str
    raw: str
    value: str
    bar: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        """PASS, FAIL, or ``-`` for contrast lines."""
        if self.passed is None:
            return "-"
        return "PASS" if self.passed else "FAIL"


def _rotation(names: list[str], rep: int) -> list[str]:
    shift = rep % len(names)
    return names[shift:] + names[:shift]


def alternate(variants: Variants, reps: int, *, warmup: int = 1) -> Samples:
    """Time each variant ``reps`` times: warm each up, then run them round-robin, rotating
    which goes first, so that drift (other load, CPU clocks, caches) hits all alike.

    A variant that returns a ``Timed`` (it ran elsewhere: the seed package's process)
    supplies its own wall and CPU seconds.
    """
    for _ in range(warmup):
        for run in variants.values():
            run()
    samples = Samples(list(variants))
    for rep in range(reps):
        for name in _rotation(list(variants), rep):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            outcome = variants[name]()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if isinstance(outcome, Timed):
                wall, cpu = outcome.wall, outcome.cpu
            samples.add(name, wall, cpu)
            del outcome  # its rows must not live on into (and tax) the next variant's run
    return samples


async def async_alternate(variants: AsyncVariants, reps: int, *, warmup: int = 1) -> Samples:
    """:func:`alternate` for coroutine functions, inside the running event loop."""
    for _ in range(warmup):
        for run in variants.values():
            await run()
    samples = Samples(list(variants))
    for rep in range(reps):
        for name in _rotation(list(variants), rep):
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            outcome = await variants[name]()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if isinstance(outcome, Timed):
                wall, cpu = outcome.wall, outcome.cpu
            samples.add(name, wall, cpu)
            del outcome  # its rows must not live on into (and tax) the next variant's run
    return samples


@dataclass(frozen=True)
class Timed:
    """Seconds measured by the variant itself (in another process)."""

    wall: float
    cpu: float


# -- machine -------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine(server: str) -> dict[str, str]:
    """What the figures were measured on."""
    packages = (
        "pycurl",
        "aiohttp",
        "httpx2",
        "httpcore2",
        "httpx",
        "httpcore",
        "pydantic",
        "Django",
        "sniffio",
    )
    return {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _cpu_model(),
        "Cores": str(os.cpu_count()),
        "OS": f"{platform.system()} {platform.release()}",
        "Load average at start (1/5/15 min)": load(),
        "Python": platform.python_version(),
        **{package: _version(package) for package in packages},
        "Server": server,
    }


def load() -> str:
    """The load averages now (1/5/15 min)."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


# -- rendering -----------------------------------------------------------------------------------

HEADERS = ("Figure", "What", "Library", "Raw", "Ratio / value", "Bar", "Result")


def _cells(result: Result) -> tuple[str, ...]:
    return (
        result.figure,
        result.what,
        result.library,
        result.raw,
        result.value,
        result.bar,
        result.verdict,
    )


def table(results: list[Result]) -> str:
    """A plain-text table for the terminal."""
    rows = [HEADERS, *(_cells(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown(
    results: list[Result], info: dict[str, str], notes: list[str], gaps: Sequence[str] = ()
) -> str:
    """``results.md``: the machine, the table and notes."""
    out = ["# django-api-orm benchmark results", ""]
    out += [f"- **{key}**: {value}" for key, value in info.items()]
    out += ["", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for result in results:
        cells = [cell.replace("|", "\\|") or " " for cell in _cells(result)]
        out.append("| " + " | ".join(cells) + " |")
    if gaps:
        out += ["", "## Gaps", ""] + [f"- {gap}" for gap in gaps]
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"
