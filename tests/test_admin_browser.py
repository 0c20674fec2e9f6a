"""The admin of a remote model in headless Chromium (Debian's), driven by Playwright.

Run by ``make test-browser`` (which installs both); skipped where there is no Chromium.
``UPDATE_SCREENSHOTS=1`` writes the changelist to ``docs/img/admin-changelist.png``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.localapp.models import Book
from tests.upstream_fixture import Upstream

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "admin-changelist.png"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (make test-browser installs it)"),
    pytest.mark.django_db(transaction=True),
]


def test_the_admin_in_a_browser(upstream: Upstream, live_server: Any) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    User.objects.create_superuser("boss", "boss@example.com", "pw-boss-1")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 720})
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/admin/login/?next=/admin/localapp/book/")
            page.fill("#id_username", "boss")
            page.fill("#id_password", "pw-boss-1")
            page.click("input[type=submit]")
            page.wait_for_selector("#result_list")
            assert page.locator("#result_list tbody tr").count() == 10
            assert "25 books" in page.inner_text("#changelist")

            page.click("th.column-year div.text a")  # sort by year
            page.wait_for_url("**o=3**")
            page.click("th.column-year div.text a")  # descending
            page.wait_for_url("**o=-3**")
            first = page.locator("#result_list tbody tr th a").first
            assert first.inner_text() == "Book 25"
            if os.environ.get("UPDATE_SCREENSHOTS"):
                page.screenshot(path=str(SCREENSHOT))

            first.click()
            page.wait_for_selector("#id_year")
            page.fill("#id_year", "1999")
            page.click("input[name=_save]")
            page.wait_for_selector(".messagelist .success")
        finally:
            browser.close()
    assert Book.objects.get(pk=25).year == 1999
    patches = [r for r in upstream.requests() if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == ["/api/books/25/"]
