"""Model instances: fields, validation, identity, and save/delete/refresh over the wire."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_api_orm import APIModel, AsyncAPIModel, exceptions
from tests.conftest import service_settings
from tests.models import AsyncBook, Book, BookSchema, PlainBook, Tag
from tests.upstream_fixture import Upstream


class StrictBookSchema(BookSchema):
    """Requires a field the upstream never sends."""

    publisher: str


class StrictBook(APIModel):
    _schema_class = StrictBookSchema
    _endpoint = "books/"


class WrongTypeSchema(pydantic.BaseModel):
    id: int | None = None
    title: str
    year: str  # the upstream sends an integer; pydantic does not turn ints into str


class WrongTypeBook(APIModel):
    _schema_class = WrongTypeSchema
    _endpoint = "books/"


SEED_3 = {
    "id": 3,
    "title": "Book 03",
    "year": 1983,
    "in_stock": False,
    "author": "Dee",
    "isbn": None,
}


def log(upstream: Upstream) -> list[tuple[str, str, Any]]:
    """(method, path, decoded JSON body or None) of each request since the reset."""
    return [
        (r["method"], r["path"], json.loads(r["body"]) if r["body"] else None)
        for r in upstream.requests()
    ]


def on_server(upstream: Upstream, pk: int) -> dict[str, Any] | None:
    """The server's row (None if gone), without leaving a trace in the request log."""
    try:
        row = Book.objects.get(pk=pk).to_dict()
    except Book.DoesNotExist:
        row = None
    upstream.clear_requests()
    return row


def fetch(upstream: Upstream, pk: int) -> Book:
    book = Book.objects.get(pk=pk)
    upstream.clear_requests()
    return book


# -- fields and validation -------------------------------------------------------------------


def test_fields_are_attributes(upstream: Upstream) -> None:
    book = Book.objects.get(pk=3)
    assert (book.id, book.title, book.year, book.in_stock, book.author, book.isbn) == (
        3,
        "Book 03",
        1983,
        False,
        "Dee",
        None,
    )


def test_defaults_come_from_the_schema() -> None:
    book = Book(title="New", year=2020)
    assert (book.id, book.in_stock, book.author, book.isbn) == (None, True, "", None)


def test_constructor_validates() -> None:
    with pytest.raises(pydantic.ValidationError):
        Book(year=2020)
    with pytest.raises(pydantic.ValidationError):
        Book(title="x", year="not a number")


def test_assignment_is_validated(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    with pytest.raises(pydantic.ValidationError):
        book.year = "not a number"
    assert book.year == 1983  # unchanged after the failed assignment
    with pytest.raises(pydantic.ValidationError):
        book.title = None
    book.year = "1999"  # lax mode coerces, as pydantic does
    assert book.year == 1999
    assert upstream.requests() == []


def test_pk_is_the_id_field() -> None:
    book = Book(title="x", year=1)
    assert book.pk is None
    book.pk = 12
    assert book.id == 12
    assert book.pk == 12
    book.id = 13
    assert book.pk == 13


def test_to_dict(upstream: Upstream) -> None:
    book = Book.objects.get(pk=3)
    assert book.to_dict() == SEED_3
    assert book.to_dict(mode="json") == SEED_3
    data = book.to_dict()
    data["title"] = "changed"
    assert book.title == "Book 03"  # a copy


# -- identity ---------------------------------------------------------------------------------


def test_equality_by_class_and_pk(upstream: Upstream) -> None:
    a, b = Book.objects.get(pk=3), Book.objects.get(pk=3)
    assert a is not b
    assert a == b
    assert a != Book.objects.get(pk=4)
    assert a != PlainBook.objects.get(pk=3)
    assert a != AsyncBook(**a.to_dict())
    assert a != 3
    b.title = "different data, same row"
    assert a == b


def test_unsaved_instances_are_only_equal_to_themselves() -> None:
    a, b = Book(title="x", year=1), Book(title="x", year=1)
    assert a == a
    assert a != b


def test_hash_follows_equality(upstream: Upstream) -> None:
    a, b = Book.objects.get(pk=3), Book.objects.get(pk=3)
    assert hash(a) == hash(b)
    assert len({a, b, Book.objects.get(pk=4)}) == 2
    with pytest.raises(TypeError, match="unhashable"):
        hash(Book(title="x", year=1))


def test_repr_and_str_name_model_and_pk(upstream: Upstream) -> None:
    book = Book.objects.get(pk=3)
    assert repr(book) == "<Book: pk=3>"
    assert str(book) == "Book object (3)"
    assert repr(Book(title="x", year=1)) == "<Book: pk=None>"


def test_manager_is_not_reachable_from_instances() -> None:
    book = Book(title="x", year=1)
    with pytest.raises(AttributeError, match="Manager isn't accessible via Book instances"):
        book.objects  # noqa: B018
    assert Book.objects.model is Book


# -- save() -----------------------------------------------------------------------------------


def test_save_new_posts_and_takes_the_servers_pk(upstream: Upstream) -> None:
    book = Book(title="Fresh", year=2020, author="Zoe")
    assert book.save() is None
    assert book.pk == 26
    [(method, path, body)] = log(upstream)
    assert (method, path) == ("POST", "/api/books/")
    assert body == {"title": "Fresh", "year": 2020, "in_stock": True, "author": "Zoe", "isbn": None}
    assert "idempotency-key" in upstream.requests()[0]["headers"]
    assert on_server(upstream, 26) == {**body, "id": 26}


def test_save_takes_the_servers_representation(upstream: Upstream) -> None:
    book = Book(title="  padded  ", year=2020)
    book.save()
    assert book.title == "padded"  # DRF's CharField trims whitespace
    assert book.pk == 26


def test_save_existing_patches_only_what_changed(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.title = "Renamed"
    book.isbn = "isbn-x"
    book.save()
    assert log(upstream) == [("PATCH", "/api/books/3/", {"title": "Renamed", "isbn": "isbn-x"})]
    assert on_server(upstream, 3) == {**SEED_3, "title": "Renamed", "isbn": "isbn-x"}
    book.save()  # nothing changed since: an empty PATCH, as Django's save() always saves
    assert log(upstream)[-1] == ("PATCH", "/api/books/3/", {})


def test_another_clients_change_to_another_field_survives_save(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        other = Book.objects.get(pk=3)
        other.year = 2024
        other.save()
    book.title = "Mine"
    book.save()
    assert on_server(upstream, 3) == {**SEED_3, "title": "Mine", "year": 2024}


def test_save_method_put_sends_every_field(upstream: Upstream) -> None:
    settings = service_settings(upstream, SAVE_METHOD="PUT", PK_IN_BODY=True)
    with override_settings(API_ORM_SERVICES={"default": settings}):
        book = Book.objects.get(pk=3)
        upstream.clear_requests()
        book.title = "Renamed"
        book.save()
    assert log(upstream) == [("PUT", "/api/books/3/", {**SEED_3, "title": "Renamed"})]


def test_save_update_fields_patches_only_those_fields(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.year = 1999
    book.in_stock = True
    book.title = "Not saved"
    book.save(update_fields=["year", "in_stock"])
    assert log(upstream) == [("PATCH", "/api/books/3/", {"year": 1999, "in_stock": True})]
    assert on_server(upstream, 3) == {**SEED_3, "year": 1999, "in_stock": True}


def test_save_update_fields_accepts_pk(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.author = "Eve"
    book.save(update_fields=("author", "pk"))
    assert log(upstream) == [("PATCH", "/api/books/3/", {"author": "Eve"})]  # PK_IN_BODY off


def test_save_update_fields_keeps_other_unsaved_changes(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.title = "Edited locally"
    book.year = 1999
    book.save(update_fields=["year"])
    assert book.year == 1999
    assert book.title == "Edited locally"


def test_save_update_fields_unknown_fails_before_any_request(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    with pytest.raises(ValueError, match="nope"):
        book.save(update_fields=["nope"])
    with pytest.raises(ValueError, match="nope"):
        book.save(update_fields=["year", "nope"])
    assert upstream.requests() == []


def test_save_update_fields_empty_is_a_no_op(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.title = "ignored"
    book.save(update_fields=[])
    assert upstream.requests() == []


def test_save_update_fields_on_a_new_object_fails_before_any_request(upstream: Upstream) -> None:
    with pytest.raises(ValueError, match="no pk"):
        Book(title="x", year=1).save(update_fields=["title"])
    assert upstream.requests() == []


def test_save_rejected_by_the_server(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.title = "x" * 300  # the upstream allows 200 characters
    with pytest.raises(exceptions.ValidationError) as info:
        book.save()
    assert info.value.status_code == 400
    assert list(info.value.field_errors) == ["title"]
    assert info.value.method == "PATCH"
    assert on_server(upstream, 3) == SEED_3


def test_save_of_a_row_deleted_meanwhile(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    Book.objects.get(pk=3).delete()
    book.title = "too late"
    with pytest.raises(exceptions.NotFound):
        book.save(update_fields=["title"])


def test_save_new_object_with_a_preset_pk_creates_it(upstream: Upstream) -> None:
    Book(id=500, title="Preset", year=2000).save()
    assert Book.objects.filter(title="Preset").count() == 1


# -- delete() and refresh_from_api() ------------------------------------------------------------


def test_delete_sends_delete_and_clears_pk(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    assert book.delete() == (1, {"tests.Book": 1})
    assert book.pk is None
    assert book.title == "Book 03"  # the other fields stay, as in Django
    assert log(upstream) == [("DELETE", "/api/books/3/", None)]
    assert on_server(upstream, 3) is None
    assert Book.objects.count() == 24


def test_delete_without_pk_fails_before_any_request(upstream: Upstream) -> None:
    with pytest.raises(ValueError, match="id attribute is set to None"):
        Book(title="x", year=1).delete()
    book = fetch(upstream, 3)
    book.delete()
    upstream.clear_requests()
    with pytest.raises(ValueError):
        book.delete()
    assert upstream.requests() == []


def test_deleted_object_can_be_saved_again_as_new(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    book.delete()
    book.save()
    assert book.pk == 26
    assert [m for m, _, _ in log(upstream)] == ["DELETE", "POST"]


def test_refresh_from_api_reloads_every_field(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    Book.objects.filter(pk=3).update(title="Changed remotely")
    book.year = 1
    upstream.clear_requests()
    book.refresh_from_api()
    assert book.title == "Changed remotely"
    assert book.year == 1983
    assert log(upstream) == [("GET", "/api/books/3/", None)]
    book.refresh_from_db()  # Django's name works too
    assert len(upstream.requests()) == 2


def test_refresh_of_a_deleted_row_raises_does_not_exist(upstream: Upstream) -> None:
    book = fetch(upstream, 3)
    Book.objects.get(pk=3).delete()
    with pytest.raises(Book.DoesNotExist):
        book.refresh_from_api()


# -- wire details -------------------------------------------------------------------------------


def test_pk_is_always_one_url_segment(upstream: Upstream) -> None:
    assert Tag.objects.get(pk="a/b").raw_path == "/api/tags/a%2Fb/"
    assert Tag.objects.get(pk="...").raw_path == "/api/tags/.../"
    assert Tag.objects.get(pk="x?y#z").id == "x?y#z"


# -- model definitions ---------------------------------------------------------------------------


def test_missing_endpoint_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfigured, match="_endpoint"):

        class NoEndpoint(APIModel):
            _schema_class = BookSchema


def test_empty_endpoint_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfigured, match="_endpoint"):

        class EmptyEndpoint(APIModel):
            _schema_class = BookSchema
            _endpoint = ""


def test_schema_must_be_a_pydantic_model() -> None:
    with pytest.raises(ImproperlyConfigured, match="pydantic BaseModel"):

        class NotPydantic(APIModel):
            _schema_class = dict
            _endpoint = "books/"


def test_schema_without_the_pk_field_is_improperly_configured() -> None:
    class NoIdSchema(pydantic.BaseModel):
        title: str

    with pytest.raises(ImproperlyConfigured, match="primary key field 'id'"):

        class NoId(APIModel):
            _schema_class = NoIdSchema
            _endpoint = "books/"

    with pytest.raises(ImproperlyConfigured, match="primary key field 'slug'"):

        class WrongPk(APIModel):
            _schema_class = BookSchema
            _endpoint = "books/"
            _pk_field = "slug"


@pytest.mark.parametrize("name", ["save", "delete", "pk", "objects", "refresh_from_api"])
def test_schema_field_clashing_with_the_model_api(name: str) -> None:
    schema = pydantic.create_model(  # type: ignore[call-overload]
        "ClashSchema", id=(int | None, None), **{name: (str, "")}
    )
    with pytest.raises(ImproperlyConfigured, match=f"'{name}'"):
        type("Clash", (APIModel,), {"_schema_class": schema, "_endpoint": "books/"})


def test_a_custom_pk_field() -> None:
    class SlugSchema(pydantic.BaseModel):
        slug: str | None = None

    class Slugged(APIModel):
        _schema_class = SlugSchema
        _endpoint = "things/"
        _pk_field = "slug"

    thing = Slugged(slug="abc")
    assert thing.pk == "abc"
    assert Slugged._meta.pk_field == "slug"


def test_meta_describes_the_model() -> None:
    meta = Book._meta
    assert meta.endpoint == "books/"
    assert meta.pk_field == "id"
    assert meta.object_name == "Book"
    assert meta.label == "tests.Book"
    assert meta.field_names == ("id", "title", "year", "in_stock", "author", "isbn")


def test_schema_mismatch_names_model_and_field(upstream: Upstream) -> None:
    with pytest.raises(exceptions.ResponseError) as info:
        StrictBook.objects.get(pk=1)
    error = info.value
    assert error.model == "StrictBook"
    assert error.field == "publisher"
    assert "StrictBook" in str(error)
    assert "publisher" in str(error)
    assert isinstance(error, exceptions.APIError)


def test_schema_mismatch_in_a_list_and_in_a_type(upstream: Upstream) -> None:
    with pytest.raises(exceptions.ResponseError) as info:
        list(StrictBook.objects.filter(year__gte=2000))
    assert (info.value.model, info.value.field) == ("StrictBook", "publisher")
    with pytest.raises(exceptions.ResponseError) as info:
        WrongTypeBook.objects.first()
    assert (info.value.model, info.value.field) == ("WrongTypeBook", "year")


def test_write_methods_alter_data() -> None:
    for model in (APIModel, AsyncAPIModel, Book, AsyncBook):
        for name in ("save", "asave", "delete", "adelete"):
            assert getattr(model, name).alters_data is True, (model, name)
    assert not getattr(Book.refresh_from_api, "alters_data", False)


# -- instances are read-only mappings of their fields -------------------------------------------


def _book() -> Book:
    return Book._from_api({"id": 3, "title": "Book 03", "year": 1983, "author": "Cy"})


def test_an_instance_is_a_read_only_mapping_of_its_fields() -> None:
    from collections.abc import Mapping

    book = _book()
    assert isinstance(book, Mapping) and not isinstance(Book, Mapping)
    assert dict(book) == book.to_dict()
    assert list(book) == list(book.keys()) == ["id", "title", "year", "in_stock", "author", "isbn"]
    assert list(book.values()) == [3, "Book 03", 1983, True, "Cy", None]
    assert ("title", "Book 03") in book.items()
    assert len(book) == 6 and bool(book)
    assert book["title"] == book.get("title") == "Book 03"
    assert "isbn" in book and "nope" not in book
    assert book.get("nope", "default") == "default"
    with pytest.raises(KeyError):
        book["nope"]
    with pytest.raises(TypeError):
        book["title"] = "x"  # type: ignore[index]  # read-only


def test_mapping_keys_reach_public_attributes_but_not_methods() -> None:
    book = _book()
    assert book["pk"] == 3 and "pk" in book  # what a from_attributes schema may read
    for name in ("save", "to_dict", "_data", "objects", 3):
        assert name not in book
    assert book.get("save") is None


def test_mapping_answers_wire_aliases() -> None:
    class WireSchema(pydantic.BaseModel):
        id: int | None = None
        headline: str = pydantic.Field(alias="title")

    class WireBook(APIModel):
        _schema_class = WireSchema
        _endpoint = "books/"

    book = WireBook._from_api({"id": 1, "title": "Dune"})
    assert book["headline"] == book["title"] == "Dune"
    assert dict(book) == {"id": 1, "headline": "Dune"}
    assert WireSchema.model_validate(book).headline == "Dune"


def test_pydantic_validates_an_instance_into_its_own_and_other_schemas() -> None:
    class TitleOnly(pydantic.BaseModel):
        title: str

    book = _book()
    assert BookSchema.model_validate(book) == book._data
    assert TitleOnly.model_validate(book).title == "Book 03"
    assert pydantic.TypeAdapter(list[BookSchema]).validate_python([book])[0].id == 3
    assert Book(**book).to_dict() == book.to_dict()  # ** unpacks the fields


def test_a_field_named_like_a_mapping_method_stays_the_field() -> None:
    class OrderSchema(pydantic.BaseModel):
        id: int | None = None
        items: list[str] = []

    class Order(APIModel):
        _schema_class = OrderSchema
        _endpoint = "orders/"

    order = Order._from_api({"id": 1, "items": ["a", "b"]})
    assert order.items == ["a", "b"]  # the attribute is the field, as always
    assert order["items"] == ["a", "b"] and order.get("id") == 1
    assert OrderSchema.model_validate(order).items == ["a", "b"]
