"""``example_project/demo.py`` runs end to end: both servers, every path, exit code 0.

The demo starts the example upstream and the bookshop on free ports, drives them over HTTP,
runs a management command and calls the library in-process; it checks each result itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "example_project" / "demo.py"
TIMEOUT = 120

KEY_LINES = [
    "[ok] GET /api/books/ without the token",
    "[ok] GET /books/?year_gte=1990",
    "200 16 books, page 1 of 2",
    "[ok] GET /books/999999/ (no such book)",
    "[ok] GET /api/stats",
    "Dune: in stock -> sold out",
    "(changed by the receiver)",
    "41 books in the catalogue, 12 sold out.",
    "Books per author (async, concurrent counts):",
    "raised Book.DoesNotExist",
    "raised SynchronousOnlyOperation",
    "200, its 5 assets from the bookshop itself",  # /api/docs without a CDN
    "503 Retry-After: 5 'The upstream service is unavailable; try again later.'",
    "demo: OK, all",
]


def _run_demo() -> tuple[int, str]:
    """Run demo.py in its own process group; on timeout SIGTERM it (it stops its servers)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.Popen(
        [sys.executable, str(DEMO)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        pytest.fail(f"demo.py did not finish within {TIMEOUT} s:\n{output}")
    return proc.returncode, output


def test_demo_drives_every_path_and_exits_0() -> None:
    code, output = _run_demo()
    assert code == 0, output
    assert "[FAIL]" not in output, output
    missing = [line for line in KEY_LINES if line not in output]
    assert not missing, f"missing from the demo's output: {missing}\n{output}"
    # Messages are shown whole (wrapped), not cut off: the last one ends with its advice.
    words = " ".join(output.split())
    assert "or wrap the sync call in asgiref.sync.sync_to_async. 8. The books" in words, output
