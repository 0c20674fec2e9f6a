"""Django's admin over a remote model, with Django's test client against the real upstream.

``tests/localapp/admin.py`` registers the upstream's books (25 seed rows, 10 per page), its
reviews as ratings (40 rows, stars a Literal) and its narrow-books (an API ignoring filters).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import re
from collections.abc import Iterator
from typing import Any, Literal

import pydantic
import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core import checks
from django.db import models
from django.test import Client, override_settings

from django_api_orm import APIModel
from django_api_orm.admin import APIModelAdmin
from django_api_orm.testing import assert_num_requests
from tests.conftest import service_settings
from tests.localapp.models import Book
from tests.models import AsyncBook, BookSchema
from tests.upstream_fixture import Upstream

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/localapp/book/"
RATINGS = "/admin/localapp/rating/"
LAX = "/admin/localapp/laxbook/"


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


@pytest.fixture
def fresh(upstream: Upstream) -> Iterator[Upstream]:
    """A fresh service (its memory of ignored lookups starts empty)."""
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        yield upstream


def titles(html: str, column: str = "title") -> list[str]:
    return re.findall(rf'<th class="field-{column}"><a href="[^"]+">([^<]+)</a>', html)


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


def test_show_all_is_one_page_request(upstream: Upstream, superuser_client: Client) -> None:
    with assert_num_requests(2) as sent:  # 25 rows in one request, not the API's 10 a page
        page = superuser_client.get(CHANGELIST + "?all=").content.decode()
    assert titles(page) == [f"Book {i:02d}" for i in range(1, 26)]
    assert sent.requests[1].url.endswith("ordering=id&page=1&page_size=25")


def test_a_literal_field_is_a_choices_filter_and_a_select(
    upstream: Upstream, superuser_client: Client
) -> None:
    with assert_num_requests(2) as sent:
        page = superuser_client.get(RATINGS + "?stars__exact=5").content.decode()
    assert titles(page, "text") == [f"Review {j:02d}" for j in range(4, 40, 5)]
    assert all("stars=5" in request.url for request in sent.requests)
    assert all(f'href="?stars__exact={n}"' in page for n in range(1, 6))  # the filter's choices
    form = superuser_client.get(RATINGS + "4/change/").content.decode()
    assert re.search(r'<select name="stars"[^>]*>', form)
    assert '<option value="5" selected>5</option>' in form
    response = superuser_client.post(
        RATINGS + "4/change/", {"book": "4", "stars": "3", "text": "Review 04"}
    )
    assert response.status_code == 302
    sent_patch = upstream.requests()[-1]
    assert sent_patch["method"] == "PATCH" and json.loads(sent_patch["body"]) == {"stars": 3}
    refused = superuser_client.post(RATINGS + "4/change/", {"book": "4", "stars": "6"})
    assert "stars" in refused.context["adminform"].form.errors  # not a choice: not sent
    assert upstream.requests()[-1]["method"] == "GET"


def test_a_filter_the_api_ignores_is_refused_with_a_message(
    fresh: Upstream, superuser_client: Client
) -> None:
    response = superuser_client.get(LAX + "?in_stock__exact=1", follow=True)
    assert response.redirect_chain == [(LAX + "?e=1", 302)]  # Django's bad-lookup redirect
    (message,) = [str(m) for m in response.context["messages"]]
    assert "does not match in_stock__exact=True: it ignores that filter" in message
    with assert_num_requests(2):  # the list without the filter; the filter is not sent
        again = superuser_client.get(LAX + "?in_stock__exact=1", follow=True)
    (message,) = [str(m) for m in again.context["messages"]]
    assert "caught ignoring in_stock__exact" in message
    assert all("in_stock" not in r["query"] for r in fresh.requests()[-2:])


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
    stored = Book.objects.get(pk=26)  # the upstream's row
    assert (stored.title, stored.year, stored.in_stock, stored.isbn) == ("Dune", 1965, True, None)


def test_fieldsets_and_readonly_fields(
    upstream: Upstream, superuser_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    book_admin = admin.site.get_model_admin(Book)
    monkeypatch.setattr(book_admin, "readonly_fields", ["isbn"])
    monkeypatch.setattr(
        book_admin,
        "fieldsets",
        [(None, {"fields": ["title", "year"]}), ("Shelf", {"fields": ["in_stock", "isbn"]})],
    )
    form = superuser_client.get(CHANGELIST + "8/change/").content.decode()
    assert re.search(r"<h2[^>]*>Shelf</h2>", form)
    assert 'name="isbn"' not in form and '<div class="readonly">isbn-8</div>' in form
    assert 'name="author"' not in form  # not in a fieldset
    with assert_num_requests(2):  # the object, then one PATCH
        response = superuser_client.post(CHANGELIST + "8/change/", {"title": "Eight", "year": "8"})
    assert response.status_code == 302
    assert json.loads(upstream.requests()[-1]["body"]) == {
        "title": "Eight",
        "year": 8,
        "in_stock": False,
    }


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
    with assert_num_requests(1):
        confirm = superuser_client.get(CHANGELIST + "5/delete/").content.decode()
    assert "Book 05" in confirm and "Are you sure" in confirm
    with assert_num_requests(2):  # the object, then DELETE
        response = superuser_client.post(CHANGELIST + "5/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert upstream.requests()[-1]["method"] == "DELETE"
    assert not Book.objects.filter(pk=5).exists()


def test_the_delete_selected_action(upstream: Upstream, superuser_client: Client) -> None:
    data = {"action": "delete_selected", "_selected_action": ["6", "7"], "index": "0"}
    with assert_num_requests(3):  # the changelist's count and page, the selected rows
        confirm = superuser_client.post(CHANGELIST, data).content.decode()
    assert "Book 06" in confirm and "Book 07" in confirm
    with assert_num_requests(6):  # the same three, the rows delete() checks, 2 DELETEs
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


def test_lookups_the_service_refuses_fail_the_checks(upstream: Upstream) -> None:
    class StrictBook(APIModel):
        _schema_class = BookSchema
        _endpoint = "books/"
        _filter_lookups = {"year": ["exact"], "in_stock": ["exact"]}

    class StrictBookAdmin(APIModelAdmin):
        list_filter = ["in_stock"]  # in_stock__exact: declared
        search_fields = ["title"]  # title__icontains: not declared

    with assert_num_requests(0):
        found = StrictBookAdmin(StrictBook, admin.AdminSite(name="strict")).check()
    assert [message.id for message in found] == ["django_api_orm.admin.E007"]
    assert found[0].msg.startswith("StrictBookAdmin.search_fields names 'title', but ")
    assert "title__icontains" in found[0].msg and "search_param" in found[0].msg

    book_admin = admin.site.get_model_admin(Book)
    assert book_admin.check() == []
    narrow = {"books/": {"title": ["icontains"], "in_stock": ["in"]}}
    with override_settings(
        API_ORM_SERVICES={"default": service_settings(upstream, FIELD_LOOKUPS=narrow)}
    ):
        found = book_admin.check()
    assert [message.id for message in found] == ["django_api_orm.admin.E007"]
    assert found[0].msg.startswith("BookAdmin.list_filter names 'in_stock', but ")
    assert "SimpleListFilter" in found[0].msg


class Genre(str, enum.Enum):  # noqa: UP042 (str() of its members is "Genre.POETRY")
    SCIENCE_FICTION = "sf"
    POETRY = "poetry"


class Colour(enum.Enum):  # its members do not equal their values
    RED = "red"


class ShelfSchema(pydantic.BaseModel):
    id: int | None = None
    genre: Genre = Genre.POETRY
    colour: Colour = Colour.RED
    stars: Literal[1, 2, 3] | None = None
    tags: list[int] = []
    price: decimal.Decimal | None = None
    published: dt.date


class Shelf(APIModel):
    _schema_class = ShelfSchema
    _endpoint = "shelves/"


def test_schema_fields_become_django_fields() -> None:
    meta: Any = Shelf._meta
    genre, colour, stars = (meta.get_field(name) for name in ("genre", "colour", "stars"))
    assert genre.choices == [("sf", "Science fiction"), ("poetry", "Poetry")]
    assert colour.choices is None  # a plain Enum: a text input with its value
    assert (
        isinstance(stars, models.BigIntegerField) and stars.null and not stars.formfield().required
    )
    assert stars.choices == [(1, "1"), (2, "2"), (3, "3")]
    assert type(meta.get_field("tags")) is models.CharField  # not an int: list[int]
    assert isinstance(meta.get_field("price"), models.DecimalField)
    assert meta.get_field("published").formfield().required
    form_class = APIModelAdmin(Shelf, admin.AdminSite(name="shelves")).get_form(None)
    form = form_class(instance=Shelf(id=1, genre=Genre.SCIENCE_FICTION, published=dt.date.today()))
    assert form.initial["genre"] == "sf" and form.initial["colour"] == "red"
    assert '<option value="sf" selected>' in str(form["genre"])


def test_an_async_model_fails_the_checks() -> None:
    (error,) = APIModelAdmin(AsyncBook, admin.AdminSite(name="async")).check()
    assert error.id == "django_api_orm.admin.E008" and "AsyncBook, an AsyncAPIModel" in error.msg


def test_inlines_fail_the_checks_naming_the_option() -> None:
    from tests.localapp.models import Order

    class OrderInline(admin.TabularInline):  # type: ignore[type-arg]
        model = Order

    class BookWithOrdersAdmin(APIModelAdmin):
        inlines = [OrderInline]

    # Django's own inline checks would follow a ForeignKey into the remote model's _meta
    # and end in an AttributeError; the check names the option instead.
    (error,) = BookWithOrdersAdmin(Book, admin.AdminSite(name="inlines")).check()
    assert error.id == "django_api_orm.admin.E009"
    assert error.msg.startswith("BookWithOrdersAdmin.inlines is not supported")


def test_a_model_outside_installed_apps_fails_the_checks() -> None:
    class ScriptBook(APIModel):
        __module__ = "scripts.sync_books"  # as if defined in a script, not an app
        _schema_class = BookSchema
        _endpoint = "books/"

    (error,) = APIModelAdmin(ScriptBook, admin.AdminSite(name="script")).check()
    assert error.id == "django_api_orm.admin.E010"
    assert "'scripts.sync_books' is in no installed app" in error.msg
    assert APIModelAdmin(Book, admin.AdminSite(name="app")).check() == []


def test_admin_site_register_takes_a_remote_model() -> None:
    site = admin.AdminSite(name="other")
    site.register(Book, APIModelAdmin)
    assert site.is_registered(Book)
