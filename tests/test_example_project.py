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

from tests.upstream_fixture import Upstream

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


TOOLBAR_SCRIPT = """
import json, re
import django
from django.test import Client

django.setup()
client = Client(HTTP_HOST="127.0.0.1")  # REMOTE_ADDR 127.0.0.1 is in INTERNAL_IPS
page = client.get("/books/", {"year_gte": "2000"})
request_id = re.search(r'data-request-id="([0-9a-f]+)"', page.content.decode()).group(1)
query = {"request_id": request_id, "panel_id": "APIRequestsPanel"}
panel = client.get("/__debug__/render_panel/", query).json()
print(json.dumps({"status": page.status_code, "panel": panel["content"]}))
"""


def test_debug_toolbar_panel_in_the_example_project(upstream: Upstream, tmp_path: Path) -> None:
    """DJANGO_DEBUG=1: the bookshop shows the toolbar with the page's API requests."""
    import json

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="bookshop.settings",
        DJANGO_DEBUG="1",
        BOOKS_API_URL=f"{upstream.url}/api/",
        BOOKSHOP_DB=str(tmp_path / "db.sqlite3"),
    )
    done = subprocess.run(
        [sys.executable, "-c", TOOLBAR_SCRIPT],
        cwd=REPO_ROOT / "example_project" / "bookshop",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    panel = result["panel"]
    assert panel.count('<tr class="djdt-api-request">') == 2  # the count, then the page
    assert "Book.objects.count" in panel and "year__gte=2000" in panel
