"""No Django settings at all: the seed's scripts, FastAPI and aiohttp apps (issue 12).

Each case runs in a subprocess without ``DJANGO_SETTINGS_MODULE``: the seed's "Complete
Example" verbatim (only its ``base_url`` points at a local users API), and the
"Without Django settings" section of docs/seeds.md (a sync script, a FastAPI app, an aiohttp
app) against the test upstream.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.exceptions import ImproperlyConfigured

from django_api_orm import _registry as api_registry
from django_api_orm import _settings as api_settings
from tests.standalone.users_api import UsersAPI
from tests.test_docs import snippets
from tests.upstream_fixture import Upstream

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "standalone" / "seed_complete_example.py"
SEEDS_PAGE = ROOT / "docs" / "seeds.md"
SECTION = "## Without Django settings"
TIMEOUT = 60


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    # The package is importable from anywhere (installed); ``tests`` only from the root.
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_seed_complete_example_runs_as_a_script(tmp_path: Path) -> None:
    with UsersAPI(token="your-token-here") as api:
        script = tmp_path / "main.py"
        source = EXAMPLE.read_text(encoding="utf-8")
        assert source.count('base_url="https://api.example.com"') == 1
        script.write_text(source.replace("https://api.example.com", api.url), encoding="utf-8")
        done = _run([str(script)], cwd=tmp_path)
        log = list(api.log)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Created 3 users" in out
    for line in ("Alice - alice@example.com", "Bob - bob@example.com", "Charlie - charlie@"):
        assert line in out
    assert "Total users: 3, Active: 3" in out
    assert "Updated Alice's email" in out and "Deleted Alice" in out
    assert sorted(log[:3]) == ["POST /api/v1/users/"] * 3
    detail = log[-1].split()[1]  # /api/v1/users/<Alice's id>/
    assert log[-3:] == [f"GET {detail}", f"PATCH {detail}", f"DELETE {detail}"]


RUNNER = """
import sys
from pathlib import Path

from tests.models import BookSchema
from tests.test_docs import run_snippet, snippets

path, first, url = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
namespace = {"__name__": "standalone", "BookSchema": BookSchema, "API_URL": url}
ran = 0
for snippet in snippets(path):
    if snippet.line in range(first, int(sys.argv[4])):
        run_snippet(snippet, namespace)
        ran += 1

from django.conf import settings

assert not settings.configured, "something configured Django settings"

from django_api_orm import APIModel


class Unbound(APIModel):
    _schema_class = BookSchema
    _endpoint = "books/"


try:
    Unbound.objects.count()
except Exception as error:
    print(type(error).__name__, error)
print(f"ran {ran} snippets")
"""


def test_docs_section_runs_without_settings(upstream: Upstream, tmp_path: Path) -> None:
    lines = SEEDS_PAGE.read_text(encoding="utf-8").splitlines()
    first = lines.index(next(line for line in lines if line.startswith(SECTION))) + 1
    last = next(n for n in range(first, len(lines)) if lines[n].startswith("## ")) + 1
    expected = [s for s in snippets(SEEDS_PAGE) if first <= s.line < last]
    assert len(expected) >= 4  # sync script, FastAPI app and its drive, aiohttp app and drive
    done = _run(
        ["-c", RUNNER, str(SEEDS_PAGE), str(first), f"{upstream.url}/api/", str(last)], cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert f"ran {len(expected)} snippets" in done.stdout
    # A model bound to no client, with no settings to fall back on, says what to do.
    assert "ImproperlyConfigured The service 'default' is not in API_ORM_SERVICES" in done.stdout
    assert "register_models() or register_async_models()" in done.stdout


def test_no_settings_means_no_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process view of the same: unconfigured settings are read as no services."""
    unconfigured = LazySettings()
    monkeypatch.setattr(api_settings, "django_settings", unconfigured)
    monkeypatch.setattr(api_registry, "django_settings", unconfigured)
    assert api_settings.load_services() == {}
    registry = api_registry.ServiceRegistry()
    with pytest.raises(ImproperlyConfigured, match=r"settings are not configured: bind"):
        registry["default"]
