"""Status codes become typed errors that carry the server's message and never the token."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.core import exceptions as django_exceptions
from django.test import override_settings

from django_api_orm import exceptions as exc
from django_api_orm._core.messages import Response
from django_api_orm._core.responses import error_for, parse_json, parse_retry_after
from tests.conftest import service_settings
from tests.models import PrivateBook
from tests.upstream_fixture import Upstream

URL = "http://api.example/api/books/7/"


def response(
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    url: str = URL,
) -> Response:
    if content is None:
        content = b"" if body is None else json.dumps(body).encode()
    return Response(
        status_code=status,
        headers={"content-type": "application/json"} if headers is None else headers,
        content=content,
        method=method,
        url=url,
    )


# -- status → class ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, exc.ValidationError),
        (401, exc.AuthenticationError),
        (403, exc.PermissionDenied),
        (404, exc.NotFound),
        (409, exc.Conflict),
        (422, exc.ValidationError),
        (429, exc.RateLimited),
        (500, exc.ServerError),
        (502, exc.ServerError),
        (503, exc.ServerError),
        (504, exc.ServerError),
        (418, exc.ClientError),
        (410, exc.ClientError),
    ],
)
def test_status_maps_to_exception_class(status: int, cls: type[exc.HTTPStatusError]) -> None:
    error = error_for(response(status, {"detail": "nope"}, method="DELETE"), service="svc")
    assert type(error) is cls
    assert error.status_code == status
    assert error.method == "DELETE"
    assert error.url == URL
    assert error.service == "svc"
    assert error.detail == "nope"
    assert str(error) == f"[svc] HTTP {status}: nope (DELETE {URL})"
    assert isinstance(error, exc.ClientError if status < 500 else exc.ServerError)


def test_error_message_without_body() -> None:
    error = error_for(response(503))
    assert str(error) == f"HTTP 503 (GET {URL})"
    assert error.detail == ""
    assert error.body is None


def test_message_keys_in_priority_order() -> None:
    assert error_for(response(400, {"message": "m"})).detail == "m"
    oauth = {"error": "invalid_token", "error_description": "d"}
    assert error_for(response(401, oauth)).detail == "d"
    assert error_for(response(500, {"title": "Boom"})).detail == "Boom"
    long = "x" * 1000
    assert len(error_for(response(500, {"detail": long})).detail) == 300


# -- field errors -----------------------------------------------------------------------------


def test_drf_field_errors() -> None:
    error = error_for(response(400, {"title": ["This field is required."]}))
    assert isinstance(error, exc.ValidationError)
    assert error.field_errors == {"title": ["This field is required."]}
    assert "title: This field is required." in str(error)


def test_drf_several_fields_nested_and_non_field_errors() -> None:
    body = {
        "title": ["This field is required."],
        "year": ["A valid integer is required.", "Too old."],
        "author": {"name": ["Too long."]},
        "non_field_errors": ["The fields title, year must make a unique set."],
        "isbn": "Bad ISBN.",
    }
    error = error_for(response(400, body))
    assert error.field_errors == {
        "title": ["This field is required."],
        "year": ["A valid integer is required.", "Too old."],
        "author.name": ["Too long."],
        "non_field_errors": ["The fields title, year must make a unique set."],
        "isbn": ["Bad ISBN."],
    }


def test_drf_detail_string_is_the_message_not_a_field() -> None:
    error = error_for(response(400, {"detail": "JSON parse error - Expecting value"}))
    assert error.detail == "JSON parse error - Expecting value"
    assert error.field_errors == {}


def test_feathers_error_bodies_give_field_errors_not_envelope_keys() -> None:
    ajv = {
        "name": "BadRequest",
        "message": "validation failed",
        "code": 400,
        "className": "bad-request",
        "data": [
            {"instancePath": "/title", "keyword": "type", "message": "must be string"},
            {"instancePath": "/meta/pages", "keyword": "minimum", "message": "must be >= 1"},
        ],
    }
    error = error_for(response(400, ajv))
    assert isinstance(error, exc.ValidationError)
    assert error.detail == "validation failed"
    assert error.field_errors == {"title": ["must be string"], "meta.pages": ["must be >= 1"]}
    older = {**ajv, "data": {}, "errors": {"year": {"message": "Year is required"}}}
    assert error_for(response(400, older)).field_errors == {"year": ["Year is required"]}


def test_problem_json_errors_as_an_object() -> None:
    body = {"detail": "Invalid input.", "errors": {"title": ["This field is required."]}}
    error = error_for(response(422, body))
    assert error.field_errors == {"title": ["This field is required."]}


def test_problem_json_errors_with_pointers() -> None:
    body = {
        "type": "https://example.net/validation-error",
        "title": "Your request is not valid.",
        "status": 422,
        "errors": [
            {"detail": "must be a positive integer", "pointer": "#/age"},
            {"detail": "must be 'green', 'red' or 'blue'", "pointer": "#/profile/color"},
        ],
    }
    error = error_for(response(422, body, headers={"content-type": "application/problem+json"}))
    assert isinstance(error, exc.ValidationError)
    assert error.detail == "Your request is not valid."
    assert error.field_errors == {
        "age": ["must be a positive integer"],
        "profile.color": ["must be 'green', 'red' or 'blue'"],
    }


def test_problem_json_invalid_params() -> None:
    body = {
        "type": "https://example.net/validation-error",
        "title": "Your request parameters didn't validate.",
        "invalid-params": [
            {"name": "age", "reason": "must be a positive integer"},
            {"name": "color", "reason": "must be 'green', 'red' or 'blue'"},
        ],
    }
    error = error_for(response(400, body))
    assert error.field_errors == {
        "age": ["must be a positive integer"],
        "color": ["must be 'green', 'red' or 'blue'"],
    }
    assert error.detail == "Your request parameters didn't validate."


def test_problem_json_without_errors_has_no_field_errors() -> None:
    body = {
        "type": "https://example.net/out-of-credit",
        "title": "You do not have enough credit.",
        "status": 400,
        "detail": "Your current balance is 30, but that costs 50.",
        "instance": "/account/12345/msgs/abc",
    }
    error = error_for(response(400, body, headers={"content-type": "application/problem+json"}))
    assert error.detail == "Your current balance is 30, but that costs 50."
    assert error.field_errors == {}


def test_pydantic_ninja_detail_list() -> None:
    body = {
        "detail": [
            {"type": "missing", "loc": ["body", "payload", "title"], "msg": "Field required"},
            {
                "type": "int_parsing",
                "loc": ["body", "payload", "author", "age"],
                "msg": "Input should be a valid integer",
            },
            {"type": "value_error", "loc": ["body"], "msg": "Value error, bad"},
            {"type": "x", "loc": ["body", "items", 0, "name"], "msg": "Too short"},
        ]
    }
    error = error_for(response(422, body))
    assert isinstance(error, exc.ValidationError)
    assert error.field_errors == {
        "title": ["Field required"],
        "author.age": ["Input should be a valid integer"],
        "non_field_errors": ["Value error, bad"],
        "items.0.name": ["Too short"],
    }
    assert str(error).startswith("HTTP 422: title: Field required; author.age: ")


def test_field_errors_only_for_validation_errors() -> None:
    error = error_for(response(409, {"title": ["already exists"]}))
    assert isinstance(error, exc.Conflict)
    assert error.field_errors == {}
    assert error.body == {"title": ["already exists"]}


# -- non-JSON bodies ----------------------------------------------------------------------------

HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"


def test_html_error_page_gives_a_message() -> None:
    error = error_for(response(502, content=HTML, headers={"content-type": "text/html"}))
    assert isinstance(error, exc.ServerError)
    assert "502 Bad Gateway" in str(error)
    assert error.body == HTML.decode()
    assert error.field_errors == {}


def test_huge_and_undecodable_bodies_are_trimmed() -> None:
    error = error_for(response(400, content=b"\xff\xfe<html>" + b"x" * 5000))
    assert isinstance(error, exc.ValidationError)
    assert len(str(error)) < 500
    assert error.field_errors == {}
    error = error_for(response(500, content=b"[1, 2, 3]"))
    assert str(error) == f"HTTP 500 (GET {URL})"


def test_parse_json_malformed_names_content_type_and_url() -> None:
    bad = response(
        200,
        content=b"<!doctype html><p>maintenance</p>",
        headers={"content-type": "text/html; charset=utf-8"},
        url="http://api.example/api/books/?token=s3cr3t",
    )
    with pytest.raises(exc.ResponseError) as info:
        parse_json(bad, service="svc")
    text = str(info.value)
    assert "text/html; charset=utf-8" in text
    assert "http://api.example/api/books/" in text
    assert "maintenance" in text
    assert "s3cr3t" not in text
    assert info.value.status_code == 200
    assert info.value.service == "svc"


def test_parse_json_truncated_and_empty() -> None:
    with pytest.raises(exc.ResponseError, match="no content type"):
        parse_json(response(200, content=b'{"id": 1', headers={}))
    assert parse_json(response(204, content=b"")) is None
    assert parse_json(response(200, content=b'{"id": 1}')) == {"id": 1}


# -- Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), ("", None)],
)
def test_retry_after_seconds(value: str, expected: float | None) -> None:
    assert parse_retry_after({"retry-after": value}) == expected


def test_retry_after_http_date() -> None:
    future = datetime.now(UTC) + timedelta(seconds=90)
    seconds = parse_retry_after({"retry-after": format_datetime(future, usegmt=True)})
    assert seconds is not None
    assert 85 <= seconds <= 90
    past = datetime.now(UTC) - timedelta(days=1)
    assert parse_retry_after({"retry-after": format_datetime(past, usegmt=True)}) == 0.0
    assert parse_retry_after({}) is None


def test_retry_after_on_errors() -> None:
    limited = error_for(response(429, {"detail": "slow down"}, headers={"retry-after": "7"}))
    assert isinstance(limited, exc.RateLimited)
    assert limited.retry_after == 7.0
    unavailable = error_for(response(503, headers={"retry-after": "2"}))
    assert unavailable.retry_after == 2.0
    assert error_for(response(503)).retry_after is None


# -- the exception tree ---------------------------------------------------------------------------

TREE = {
    exc.DoesNotExist: (exc.APIError, django_exceptions.ObjectDoesNotExist),
    exc.MultipleObjectsReturned: (exc.APIError, django_exceptions.MultipleObjectsReturned),
    exc.NotSupportedError: (exc.APIError,),
    exc.InvalidPrimaryKey: (exc.APIError, ValueError),
    exc.UnsafeRequestError: (exc.APIError, ValueError),
    exc.RequestError: (exc.APIError,),
    exc.APIConnectionError: (exc.RequestError,),
    exc.APITimeoutError: (exc.RequestError,),
    exc.HTTPStatusError: (exc.APIError,),
    exc.ClientError: (exc.HTTPStatusError,),
    exc.ValidationError: (exc.ClientError,),
    exc.AuthenticationError: (exc.ClientError,),
    exc.PermissionDenied: (exc.ClientError,),
    exc.NotFound: (exc.ClientError,),
    exc.Conflict: (exc.ClientError,),
    exc.ConflictError: (exc.Conflict,),
    exc.RateLimited: (exc.ClientError,),
    exc.ServerError: (exc.HTTPStatusError,),
    exc.ResponseError: (exc.APIError,),
    exc.ResponseTooLarge: (exc.ResponseError,),
    exc.PaginationError: (exc.ResponseError,),
    exc.FilterIgnored: (exc.ResponseError,),
    exc.TooManyPages: (exc.PaginationError,),
    exc.CircuitOpenError: (exc.RequestError,),
}


@pytest.mark.parametrize(("cls", "parents"), TREE.items(), ids=lambda v: getattr(v, "__name__", ""))
def test_exception_tree(cls: type, parents: tuple[type, ...]) -> None:
    for parent in parents:
        assert issubclass(cls, parent)
    assert issubclass(cls, exc.APIError)


def test_exception_tree_has_no_cross_links() -> None:
    assert not issubclass(exc.ServerError, exc.ClientError)
    assert not issubclass(exc.ResponseError, exc.HTTPStatusError)
    assert not issubclass(exc.RequestError, exc.HTTPStatusError)
    assert not issubclass(exc.NotFound, django_exceptions.ObjectDoesNotExist)
    assert not issubclass(exc.ValidationError, django_exceptions.ValidationError)
    assert not issubclass(exc.PermissionDenied, django_exceptions.PermissionDenied)
    assert set(exc.__all__) == {cls.__name__ for cls in TREE} | {"APIError", "FilterIgnoredWarning"}


def test_model_exceptions_subclass_the_library_ones() -> None:
    assert issubclass(PrivateBook.DoesNotExist, exc.DoesNotExist)
    assert issubclass(PrivateBook.DoesNotExist, django_exceptions.ObjectDoesNotExist)
    assert issubclass(PrivateBook.MultipleObjectsReturned, exc.MultipleObjectsReturned)


# -- pickling -------------------------------------------------------------------------------------


def test_http_status_error_pickles() -> None:
    original = error_for(
        response(
            400,
            {"title": ["This field is required."]},
            headers={"content-type": "application/json", "retry-after": "3"},
            method="POST",
        ),
        service="svc",
    )
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is exc.ValidationError
    assert str(copy) == str(original)
    assert repr(copy) == repr(original)
    assert copy.args == original.args
    for name in ("status_code", "method", "url", "service", "detail", "body", "field_errors"):
        assert getattr(copy, name) == getattr(original, name), name
    assert copy.headers == original.headers
    assert copy.retry_after == 3.0


@pytest.mark.parametrize(
    "error",
    [
        exc.APIConnectionError("refused", method="GET", url=URL, service="s", retryable=True),
        exc.APITimeoutError("slow", method="GET", url=URL),
        exc.ResponseError("bad", method="GET", url=URL, status_code=200, model="Book", field="id"),
    ],
    ids=type,
)
def test_other_request_errors_pickle(error: exc.APIError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


# -- end to end: the token never shows -----------------------------------------------------------

WRONG = "wrong-secret-token-42"


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    texts = [str(error), repr(error), *(repr(v) for v in vars(error).values())]
    texts += [repr(a) for a in error.args]
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_401_with_wrong_token_hides_it(upstream: Upstream) -> None:
    wrong = {"default": service_settings(upstream, AUTH_TOKEN=WRONG)}
    with override_settings(API_ORM_SERVICES=wrong), pytest.raises(exc.AuthenticationError) as info:
        PrivateBook.objects.count()
    error = info.value
    assert error.status_code == 401
    assert error.method == "GET"
    assert error.url.startswith(f"{upstream.url}/api/private/books/")
    assert error.detail == "Invalid token."
    assert_no_secret(error, WRONG, "test-token")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is exc.AuthenticationError
    assert str(copy) == str(error)
    assert copy.headers == error.headers
    [entry] = upstream.requests()
    assert entry["headers"]["authorization"] == f"Bearer {WRONG}"  # it was sent, but not shown


@pytest.fixture
def default_with_token(upstream: Upstream) -> Iterator[Upstream]:
    """The ``default`` alias with the right token, so PrivateBook's requests are authorised."""
    with override_settings(
        API_ORM_SERVICES={"default": service_settings(upstream, AUTH_TOKEN="test-token")}
    ):
        yield upstream


def test_404_with_right_token_hides_it(default_with_token: Upstream) -> None:
    upstream = default_with_token
    book = PrivateBook.objects.get(pk=25)
    book.delete()
    book.pk = 999  # an object the API does not have: the PUT answers 404
    upstream.clear_requests()
    with pytest.raises(exc.NotFound) as info:
        book.save()
    error = info.value
    assert error.status_code == 404
    assert error.method == "PATCH"
    assert error.url == f"{upstream.url}/api/private/books/999/"
    assert_no_secret(error, "test-token")
    [entry] = upstream.requests()
    assert entry["headers"]["authorization"] == "Bearer test-token"


def test_400_with_right_token_hides_it(default_with_token: Upstream) -> None:
    with pytest.raises(exc.ValidationError) as info:
        PrivateBook.objects.params(year="abc").count()
    error = info.value
    assert error.field_errors == {"year": ["Enter a number."]}
    assert "year=abc" in error.url
    assert_no_secret(error, "test-token")
    [entry] = default_with_token.requests()
    assert entry["headers"]["authorization"] == "Bearer test-token"


def test_does_not_exist_from_private_detail_hides_token(default_with_token: Upstream) -> None:
    with pytest.raises(PrivateBook.DoesNotExist) as info:
        PrivateBook.objects.get(pk=999)
    assert_no_secret(info.value, "test-token")
