"""Django's admin over a remote model, with Django's test client against the real upstream.

``tests/localapp/admin.py`` registers the upstream's books (25 seed rows, 10 per page).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core import checks
from django.test import Client

from django_api_orm.admin import APIModelAdmin
from django_api_orm.testing import assert_num_requests
from tests.localapp.models import Book
from tests.upstream_fixture import Upstream

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/localapp/book/"


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def staff_client(*codenames: str) -> Client:
    name = f"clerk{User.objects.count()}"
    user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def titles(html: str) -> list[str]:
    return re.findall(r'<th class="field-title"><a href="[^"]+">([^<]+)</a>', html)


# -- the index and the changelist ------------------------------------------------------------


def test_the_index_lists_the_remote_model(upstream: Upstream, superuser_client: Client) -> None:
    with assert_num_requests(0):
        page = superuser_client.get("/admin/").content.decode()
    assert 'href="/admin/localapp/book/"' in page


def test_a_changelist_page_is_one_count_and_one_page(
    upstream: Upstream, superuser_client: Client
) -> None:
    with assert_num_requests(2) as sent:
        response = superuser_client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert titles(page) == [f"Book {i:02d}" for i in range(1, 11)]
    assert "25 books" in page
    assert [r.url.split("?")[1] for r in sent.requests] == [
        "page=1&page_size=1",
        "ordering=id&page=1&page_size=10",
    ]
    with assert_num_requests(2):
        second = superuser_client.get(CHANGELIST + "?p=2").content.decode()
    assert titles(second) == [f"Book {i:02d}" for i in range(11, 21)]


def test_sorting_filtering_and_search_are_sent_to_the_api(
    upstream: Upstream, superuser_client: Client
) -> None:
    with assert_num_requests(2):
        by_year = superuser_client.get(CHANGELIST + "?o=-3").content.decode()
    assert titles(by_year)[:2] == ["Book 25", "Book 24"]
    assert "ordering=-year%2Cid" in upstream.requests()[-1]["query"]
    with assert_num_requests(2):
        in_stock = superuser_client.get(CHANGELIST + "?in_stock__exact=1").content.decode()
    assert titles(in_stock) == [f"Book {i:02d}" for i in range(2, 21, 2)]
    assert "in_stock=true" in upstream.requests()[-1]["query"]
    with assert_num_requests(2):
        found = superuser_client.get(CHANGELIST + "?q=book+2").content.decode()
    assert titles(found) == ["Book 20", "Book 21", "Book 22", "Book 23", "Book 24", "Book 25"]
    assert "title__icontains=book+2" in upstream.requests()[-1]["query"]


# -- add, change, delete through the API -----------------------------------------------------


def form_data(**values: Any) -> dict[str, Any]:
    data = {"title": "", "year": "", "author": "", "isbn": ""}
    data.update(values)
    return {key: value for key, value in data.items() if value is not None}


def test_add_posts_to_the_api(upstream: Upstream, superuser_client: Client) -> None:
    with assert_num_requests(1):
        response = superuser_client.post(
            CHANGELIST + "add/", form_data(title="Dune", year="1965", in_stock="on")
        )
    assert response.status_code == 302
    created = json.loads(upstream.requests()[-1]["body"])
    assert upstream.requests()[-1]["method"] == "POST"
    assert created["title"] == "Dune" and created["year"] == 1965 and created["in_stock"]
    entry = LogEntry.objects.get()
    assert entry.is_addition() and entry.object_id == "26" and entry.object_repr


def test_change_patches_only_what_changed(upstream: Upstream, superuser_client: Client) -> None:
    with assert_num_requests(1):
        form = superuser_client.get(CHANGELIST + "4/change/").content.decode()
    assert 'value="Book 04"' in form
    with assert_num_requests(2):  # the object, then one PATCH
        response = superuser_client.post(
            CHANGELIST + "4/change/",
            form_data(title="Book 04", year="1999", author="Eve", isbn="isbn-4", in_stock="on"),
        )
    assert response.status_code == 302
    sent = upstream.requests()[-1]
    assert sent["method"] == "PATCH" and json.loads(sent["body"]) == {"year": 1999}
    history = superuser_client.get(CHANGELIST + "4/history/").content.decode()
    assert "Changed Year." in history


def test_server_validation_errors_show_on_the_fields(
    upstream: Upstream, superuser_client: Client
) -> None:
    response = superuser_client.post(CHANGELIST + "add/", form_data(title="x" * 300, year="2020"))
    assert response.status_code == 200  # the form again, not a 500
    errors = response.context["adminform"].form.errors
    assert errors == {"title": ["Ensure this field has no more than 200 characters."]}
    assert "Ensure this field has no more than 200 characters." in response.content.decode()
    assert not LogEntry.objects.exists()


def test_delete_confirms_then_deletes_through_the_api(
    upstream: Upstream, superuser_client: Client
) -> None:
    confirm = superuser_client.get(CHANGELIST + "5/delete/").content.decode()
    assert "Book 05" in confirm and "Are you sure" in confirm
    with assert_num_requests(2):  # the object, then DELETE
        response = superuser_client.post(CHANGELIST + "5/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert upstream.requests()[-1]["method"] == "DELETE"
    assert not Book.objects.filter(pk=5).exists()


def test_the_delete_selected_action(upstream: Upstream, superuser_client: Client) -> None:
    data = {"action": "delete_selected", "_selected_action": ["6", "7"], "index": "0"}
    confirm = superuser_client.post(CHANGELIST, data).content.decode()
    assert "Book 06" in confirm and "Book 07" in confirm
    response = superuser_client.post(CHANGELIST, {**data, "post": "yes"})
    assert response.status_code == 302
    assert sorted(r["path"] for r in upstream.requests() if r["method"] == "DELETE") == [
        "/api/books/6/",
        "/api/books/7/",
    ]
    assert Book.objects.count() == 23


# -- permissions ------------------------------------------------------------------------------


def test_permissions_work_as_for_any_model(upstream: Upstream) -> None:
    assert {p.codename for p in Permission.objects.filter(content_type__app_label="localapp")} >= {
        "add_book",
        "change_book",
        "delete_book",
        "view_book",
    }
    assert staff_client().get(CHANGELIST).status_code == 403
    viewer = staff_client("view_book")
    assert viewer.get(CHANGELIST).status_code == 200
    assert viewer.get(CHANGELIST + "3/change/").status_code == 200  # read-only view
    assert viewer.post(CHANGELIST + "3/change/", form_data(title="x")).status_code == 403
    assert viewer.get(CHANGELIST + "add/").status_code == 403
    assert [r["method"] for r in upstream.requests()] == ["GET", "GET", "GET", "GET"]


# -- what the API cannot do fails the checks --------------------------------------------------


def test_options_the_api_cannot_honour_fail_the_checks() -> None:
    class Refused(APIModelAdmin):
        list_filter = ["author"]
        search_fields = ["title", "author"]
        list_editable = ["year"]
        list_display = ["title", "year"]
        date_hierarchy = "year"

    site = admin.AdminSite(name="refusing")
    found = Refused(Book, site).check()
    ids = {message.id for message in found if message.level >= checks.ERROR}
    assert {
        "django_api_orm.admin.E002",
        "django_api_orm.admin.E003",
        "django_api_orm.admin.E005",
        "django_api_orm.admin.E006",
    } <= ids
    assert any("'author'" in message.msg for message in found)


def test_admin_site_register_takes_a_remote_model() -> None:
    site = admin.AdminSite(name="other")
    site.register(Book, APIModelAdmin)
    assert site.is_registered(Book)
