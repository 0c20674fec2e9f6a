"""``API_ORM_SERVICES``: validation messages, system checks, reloading and app startup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from django.apps import apps
from django.core.checks import CheckMessage, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from pydantic import SecretStr

import django_api_orm.options as models_module
from django_api_orm import APIModel, exceptions
from django_api_orm._core.dialect import DRFDialect
from django_api_orm._core.options import Option
from django_api_orm._registry import services
from django_api_orm._settings import (
    CONTEXT_OPTIONS,
    DIALECT_OPTIONS,
    ServiceSettings,
    collect_services,
    load_services,
)
from tests import models as tests_models
from tests.conftest import service_settings
from tests.models import Book, Tag
from tests.upstream_fixture import Upstream

URL = "https://api.example.com/"


def problems_for(raw: dict[str, Any], alias: str = "svc") -> list[str]:
    services_, problems = collect_services({alias: raw})
    assert alias not in services_
    assert problems
    return problems


def one_problem(raw: dict[str, Any], alias: str = "svc") -> str:
    problems = problems_for(raw, alias)
    assert len(problems) == 1, problems
    return problems[0]


# -- collect_services: what is accepted --------------------------------------------------------


def test_minimal_service_gets_defaults() -> None:
    services_, problems = collect_services({"svc": {"BASE_URL": "https://api.example.com"}})
    assert problems == []
    svc = services_["svc"]
    assert svc.BASE_URL == URL  # a trailing slash is added
    assert svc.AUTH_TOKEN is None
    assert svc.TIMEOUT == 30.0
    assert svc.VERIFY_SSL is True
    assert svc.MAX_RETRIES == 3
    assert svc.MAX_CONNECTIONS == 100
    assert svc.MAX_KEEPALIVE_CONNECTIONS == 20


def test_none_means_no_services() -> None:
    assert collect_services(None) == ({}, [])


def test_good_aliases_survive_a_bad_one() -> None:
    services_, problems = collect_services({"good": {"BASE_URL": URL}, "bad": {"BASE_URL": "nope"}})
    assert list(services_) == ["good"]
    assert len(problems) == 1 and "['bad']" in problems[0]


def test_timeout_dict_with_all_phases() -> None:
    services_, problems = collect_services(
        {"svc": {"BASE_URL": URL, "TIMEOUT": {"connect": 1, "read": 2, "write": 3, "pool": 4}}}
    )
    assert problems == []
    timeout = services_["svc"].TIMEOUT
    assert not isinstance(timeout, float)
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (1, 2, 3, 4)


def test_timeout_dict_partial_and_upper_case_keys() -> None:
    services_, problems = collect_services({"svc": {"BASE_URL": URL, "TIMEOUT": {"CONNECT": 2}}})
    assert problems == []
    timeout = services_["svc"].TIMEOUT
    assert not isinstance(timeout, float)
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (2, 30, 30, 5)


def test_timeout_dict_reaches_the_http_client(upstream: Upstream) -> None:
    timeout = {"connect": 1.5, "read": 2.5, "write": 3.5, "pool": 4.5}
    with override_settings(
        API_ORM_SERVICES={"default": service_settings(upstream, TIMEOUT=timeout)}
    ):
        phases = services["default"].wire.phases
        assert (phases.connect, phases.read, phases.write, phases.pool) == (1.5, 2.5, 3.5, 4.5)
        assert phases.total == 4.5  # the longest phase, unless "total" is given


# -- collect_services: what is refused, and how it is said --------------------------------------


def test_missing_base_url() -> None:
    assert one_problem({"TIMEOUT": 3}) == "API_ORM_SERVICES['svc']['BASE_URL']: is required"


@pytest.mark.parametrize(
    "url", ["ftp://files.example.com/", "api.example.com/v1/", "file:///etc/passwd", "http://"]
)
def test_base_url_must_be_http(url: str) -> None:
    message = one_problem({"BASE_URL": url})
    assert message.startswith("API_ORM_SERVICES['svc']['BASE_URL']:")
    assert "http://" in message and "https://" in message


def test_base_url_without_query_or_fragment() -> None:
    assert "query string" in one_problem({"BASE_URL": f"{URL}?key=1"})
    assert "fragment" in one_problem({"BASE_URL": f"{URL}#x"})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TIMEOUT", "soon"),
        ("MAX_RETRIES", "three"),
        ("VERIFY_SSL", "maybe"),
        ("HEADERS", ["X-A", "b"]),
        ("MAX_CONNECTIONS", 0),
        ("MAX_RETRIES", -1),
        ("RETRY_DELAY", -0.5),
        ("PAGE_SIZE", 0),
    ],
)
def test_wrong_types_and_ranges_name_alias_and_key(key: str, value: Any) -> None:
    problems = problems_for({"BASE_URL": URL, key: value}, alias="books")
    for problem in problems:
        assert problem.startswith(f"API_ORM_SERVICES['books'][{key!r}]"), problem


def test_timeout_soon_message() -> None:
    problems = problems_for({"BASE_URL": URL, "TIMEOUT": "soon"})
    assert any("valid number" in p for p in problems)


@pytest.mark.parametrize(
    ("timeout", "bad_key"),
    [
        ({"connect": 1, "reed": 2}, "reed"),
        ({"connect": -1}, "connect"),
        ({"read": 0}, "read"),
        ({"pool": "x"}, "pool"),
    ],
)
def test_bad_timeout_dict(timeout: dict[str, Any], bad_key: str) -> None:
    problems = problems_for({"BASE_URL": URL, "TIMEOUT": timeout})
    assert all(p.startswith("API_ORM_SERVICES['svc']['TIMEOUT']") for p in problems)
    assert any(f"[{bad_key!r}]" in p for p in problems), problems


@pytest.mark.parametrize("timeout", [0, -1])
def test_timeout_number_must_be_positive(timeout: float) -> None:
    assert "['TIMEOUT']" in one_problem({"BASE_URL": URL, "TIMEOUT": timeout})


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("TIMEOUTS", "TIMEOUT"),
        ("BASEURL", "BASE_URL"),
        ("timeout", "TIMEOUT"),
        ("AUTH_TOKN", "AUTH_TOKEN"),
        ("MAX_RETRY", "MAX_RETRIES"),
        ("VERIFY_SSL_CERT", "VERIFY_SSL"),
    ],
)
def test_unknown_key_did_you_mean(key: str, hint: str) -> None:
    raw = {"BASE_URL": URL, key: 1} if key != "BASEURL" else {key: URL}
    message = one_problem(raw)
    assert message.startswith(f"API_ORM_SERVICES['svc'][{key!r}]: unknown key.")
    assert message.endswith(f"Did you mean {hint!r}?")


def test_unknown_key_without_close_match_lists_known_keys() -> None:
    message = one_problem({"BASE_URL": URL, "ZZZZZZ": 1})
    assert "Known keys:" in message
    assert "BASE_URL" in message and "TIMEOUT" in message


def test_keepalive_above_pool_size() -> None:
    message = one_problem(
        {"BASE_URL": URL, "MAX_CONNECTIONS": 10, "MAX_KEEPALIVE_CONNECTIONS": 30}, alias="books"
    )
    assert message.startswith("API_ORM_SERVICES['books']")
    assert "MAX_KEEPALIVE_CONNECTIONS" in message and "MAX_CONNECTIONS" in message
    assert "30 > 10" in message


def test_keepalive_equal_to_pool_size_is_fine() -> None:
    raw = {"BASE_URL": URL, "MAX_CONNECTIONS": 10, "MAX_KEEPALIVE_CONNECTIONS": 10}
    assert collect_services({"svc": raw})[1] == []


@pytest.mark.parametrize("bad", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b"])
def test_control_characters_in_header_value(bad: str) -> None:
    message = one_problem({"BASE_URL": URL, "HEADERS": {"X-Client": bad}})
    assert message.startswith("API_ORM_SERVICES['svc']['HEADERS']")
    assert "X-Client" in message
    assert "CR, LF or NUL" in message


def test_control_characters_in_header_name() -> None:
    message = one_problem({"BASE_URL": URL, "HEADERS": {"X-A\r\nX-B": "v"}})
    assert message.startswith("API_ORM_SERVICES['svc']['HEADERS']")


@pytest.mark.parametrize("bad", ["secret\r\nX-Injected: 1", "secret\n", "\x00secret"])
def test_control_characters_in_auth_token_without_echoing_it(bad: str) -> None:
    message = one_problem({"BASE_URL": URL, "AUTH_TOKEN": bad})
    assert message.startswith("API_ORM_SERVICES['svc']['AUTH_TOKEN']")
    assert "secret" not in message


def test_control_characters_in_auth_scheme() -> None:
    assert "['AUTH_SCHEME']" in one_problem({"BASE_URL": URL, "AUTH_SCHEME": "Bearer\n"})


@pytest.mark.parametrize("raw", ["https://api.example.com/", ["BASE_URL"], 3])
def test_alias_value_must_be_a_dict(raw: Any) -> None:
    message = one_problem(raw)  # type: ignore[arg-type]
    assert message.startswith("API_ORM_SERVICES['svc'] must be a dict")


@pytest.mark.parametrize("raw", [["default"], "https://api.example.com/", 1])
def test_setting_must_be_a_dict(raw: Any) -> None:
    services_, problems = collect_services(raw)
    assert services_ == {}
    assert len(problems) == 1 and problems[0].startswith("API_ORM_SERVICES must be a dict")


def test_every_problem_is_reported_at_once() -> None:
    _, problems = collect_services(
        {
            "a": {"BASE_URL": URL, "TIMEOUTS": 1},
            "b": {"BASE_URL": "ftp://x/", "MAX_RETRIES": "x"},
        }
    )
    assert len(problems) == 3
    assert sum("['a']" in p for p in problems) == 1
    assert sum("['b']" in p for p in problems) == 2


# -- the token is a secret ----------------------------------------------------------------------


def test_auth_token_is_a_secret_str() -> None:
    settings = ServiceSettings(BASE_URL=URL, AUTH_TOKEN="s3cr3t-token")  # type: ignore[arg-type]
    assert isinstance(settings.AUTH_TOKEN, SecretStr)
    assert settings.AUTH_TOKEN.get_secret_value() == "s3cr3t-token"
    assert "s3cr3t-token" not in repr(settings)
    assert "s3cr3t-token" not in str(settings)
    assert "s3cr3t-token" not in repr(settings.AUTH_TOKEN)
    assert settings.auth_header() == "Bearer s3cr3t-token"


def test_auth_scheme_variants() -> None:
    token = {"AUTH_TOKEN": "t"}
    assert ServiceSettings(BASE_URL=URL, AUTH_SCHEME="Token", **token).auth_header() == "Token t"  # type: ignore[arg-type]
    assert ServiceSettings(BASE_URL=URL, AUTH_SCHEME="", **token).auth_header() == "t"  # type: ignore[arg-type]
    assert ServiceSettings(BASE_URL=URL).auth_header() is None


def test_service_repr_hides_token_and_userinfo(upstream: Upstream) -> None:
    raw = service_settings(upstream, AUTH_TOKEN="s3cr3t-token")
    raw["BASE_URL"] = raw["BASE_URL"].replace("http://", "http://alice:pw@")  # type: ignore[union-attr]
    with override_settings(API_ORM_SERVICES={"default": raw}):
        text = repr(services["default"])
    assert "s3cr3t-token" not in text
    assert "alice" not in text and "pw@" not in text


def test_settings_are_frozen() -> None:
    settings = ServiceSettings(BASE_URL=URL)
    with pytest.raises(pydantic.ValidationError):
        settings.TIMEOUT = 1  # type: ignore[misc]


# -- load_services ------------------------------------------------------------------------------


def test_load_services_raises_with_every_problem() -> None:
    bad = {"a": {"BASEURL": URL}, "b": {"BASE_URL": URL, "TIMEOUT": "soon"}}
    with override_settings(API_ORM_SERVICES=bad), pytest.raises(ImproperlyConfigured) as info:
        load_services()
    message = str(info.value)
    assert "API_ORM_SERVICES['a']['BASEURL']: unknown key. Did you mean 'BASE_URL'?" in message
    assert "API_ORM_SERVICES['b']['TIMEOUT']" in message


def test_load_services_returns_validated_settings(upstream: Upstream) -> None:
    loaded = load_services()
    assert {"default", "private"} <= set(loaded)
    assert loaded["private"].AUTH_TOKEN is not None
    base_url = loaded["default"].BASE_URL
    assert base_url == f"{upstream.url}/api/"


def test_unknown_alias_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'nowhere' is not in API_ORM_SERVICES"):
        services["nowhere"]
    with pytest.raises(ImproperlyConfigured, match="'default', 'private'"):
        Book.objects.using("nowhere").count()


def test_bad_settings_raise_on_first_use() -> None:
    bad = {"default": {"BASE_URL": "ftp://x/"}}
    with (
        override_settings(API_ORM_SERVICES=bad),
        pytest.raises(ImproperlyConfigured, match=r"\['default'\]\['BASE_URL'\]"),
    ):
        Book.objects.get(pk=1)


# -- system checks ------------------------------------------------------------------------------


# Other test modules define models on aliases of their own; these checks look at ours only.
OURS = (tests_models.Book, tests_models.PlainBook, tests_models.PrivateBook, Tag)


def ours(messages: list[CheckMessage], *extra: object) -> list[CheckMessage]:
    return [m for m in messages if m.obj is None or m.obj in OURS or m.obj in extra]


def check_ids(**settings: Any) -> list[str]:
    with override_settings(**settings):
        return [message.id for message in ours(run_checks(tags=["api_orm"]))]


def test_checks_clean_for_the_test_settings() -> None:
    assert ours(run_checks(tags=["api_orm"])) == []


def test_check_e001_for_each_bad_value() -> None:
    bad = {"default": {"BASE_URL": "ftp://x/", "TIMEOUTS": 1}, "private": {"BASE_URL": URL}}
    with override_settings(API_ORM_SERVICES=bad):
        messages = run_checks(tags=["api_orm"])
    e001 = [m for m in messages if m.id == "api_orm.E001"]
    assert len(e001) == 1
    assert "API_ORM_SERVICES['default']['TIMEOUTS']" in e001[0].msg
    assert e001[0].is_serious()


def test_invalid_alias_is_not_reported_as_missing() -> None:
    with override_settings(API_ORM_SERVICES={"default": {"BASE_URL": "ftp://x/"}}):
        messages = ours(run_checks(tags=["api_orm"]))
    assert [m.id for m in messages] == ["api_orm.E001"]


def test_check_e001_through_manage_py_check() -> None:
    bad = {"default": {"BASE_URL": URL, "TIMEOUT": "soon"}}
    with override_settings(API_ORM_SERVICES=bad), pytest.raises(SystemCheckError) as info:
        call_command("check", tags=["api_orm"])
    assert "api_orm.E001" in str(info.value)
    assert "['TIMEOUT']" in str(info.value)


def test_check_e002_when_default_alias_is_missing() -> None:
    with override_settings(API_ORM_SERVICES={"other": {"BASE_URL": URL}}):
        messages = run_checks(tags=["api_orm"])
    e002 = {m.obj for m in messages if m.id == "api_orm.E002"}
    assert set(OURS) <= e002
    text = next(m.msg for m in messages if m.obj is Book)
    assert "tests.Book" in text and "'default'" in text


@pytest.fixture
def unconfigured_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[APIModel]]:
    """A model on an alias nobody configured, forgotten by the checks after the test."""
    monkeypatch.setattr(models_module, "_ALL_MODELS", list(models_module._ALL_MODELS))

    class Schema(pydantic.BaseModel):
        id: int

    class Gadget(APIModel):
        _schema_class = Schema
        _endpoint = "gadgets/"
        _service = "inventory"

    yield Gadget


def test_check_e002_for_unconfigured_model_alias(unconfigured_model: type[APIModel]) -> None:
    messages = ours(run_checks(tags=["api_orm"]), unconfigured_model)
    assert [(m.id, m.obj) for m in messages] == [("api_orm.E002", unconfigured_model)]
    assert "tests.Gadget uses service 'inventory'" in messages[0].msg
    assert "'inventory'" in (messages[0].hint or "")
    configured = {"default": {"BASE_URL": URL}, "inventory": {"BASE_URL": URL}}
    with override_settings(API_ORM_SERVICES=configured):
        assert ours(run_checks(tags=["api_orm"]), unconfigured_model) == []


def test_check_w001_verify_ssl_off_outside_debug() -> None:
    raw = {"default": {"BASE_URL": URL, "VERIFY_SSL": False}}
    with override_settings(API_ORM_SERVICES=raw, DEBUG=False):
        messages = run_checks(tags=["api_orm"])
    [warning] = [m for m in messages if m.id == "api_orm.W001"]
    assert "API_ORM_SERVICES['default']['VERIFY_SSL']" in warning.msg
    assert not warning.is_serious()
    assert "api_orm.W001" not in check_ids(API_ORM_SERVICES=raw, DEBUG=True)
    assert "api_orm.W001" not in check_ids(
        API_ORM_SERVICES={"default": {"BASE_URL": URL, "VERIFY_SSL": True}}, DEBUG=False
    )


# -- setting_changed reloads the services ------------------------------------------------------


def test_override_settings_moves_requests(upstream: Upstream) -> None:
    before = services["default"]
    old_client = before.sync_driver()
    assert Tag.objects.get(pk="x").raw_path == "/api/tags/x/"
    moved = {"default": {"BASE_URL": f"{upstream.url}/api/tags/moved/", "RETRY_DELAY": 0}}
    with override_settings(API_ORM_SERVICES=moved):
        assert old_client.closed  # the old service was closed on reload
        during = services["default"]
        assert during is not before
        # The echo answers another pk than the one asked for: refused, not trusted.
        with pytest.raises(exceptions.FilterIgnored) as wrong:
            Tag.objects.get(pk="x")
        assert wrong.value.pk == "moved/tags/x"
    after = services["default"]
    assert after is not during
    assert Tag.objects.get(pk="x").raw_path == "/api/tags/x/"
    assert [e["raw_path"] for e in upstream.requests()] == [
        "/api/tags/x/",
        "/api/tags/moved/tags/x/",
        "/api/tags/x/",
    ]


def test_other_settings_do_not_reload() -> None:
    before = services["default"]
    with override_settings(DEBUG=True):
        assert services["default"] is before


def test_override_adds_an_alias(upstream: Upstream) -> None:
    with override_settings(
        API_ORM_SERVICES={
            "default": service_settings(upstream),
            "extra": service_settings(upstream),
        }
    ):
        assert Book.objects.using("extra").count() == 25
    with pytest.raises(ImproperlyConfigured):
        Book.objects.using("extra").count()


# -- the app's ready() ---------------------------------------------------------------------------


def test_ready_raises_for_bad_settings() -> None:
    config = apps.get_app_config("django_api_orm")
    bad = {"books": {"BASE_URL": URL, "TIMEOUTS": 3}}
    with override_settings(API_ORM_SERVICES=bad), pytest.raises(ImproperlyConfigured) as info:
        config.ready()
    assert "API_ORM_SERVICES['books']['TIMEOUTS']" in str(info.value)
    assert "Did you mean 'TIMEOUT'?" in str(info.value)


def test_ready_passes_for_good_settings() -> None:
    config = apps.get_app_config("django_api_orm")
    with override_settings(API_ORM_SERVICES={"default": {"BASE_URL": URL}}):
        config.ready()
        assert services["default"].settings.BASE_URL == URL


# -- drivers, cookies, the call's deadline -------------------------------------------------------


def test_drivers_default_to_the_fastest_that_pass_everything() -> None:
    settings = ServiceSettings(BASE_URL=URL)
    assert (settings.SYNC_TRANSPORT, settings.ASYNC_TRANSPORT) == ("auto", "auto")
    assert (settings.sync_transport(), settings.async_transport()) == ("pycurl", "aiohttp")
    http2 = ServiceSettings(BASE_URL=URL, HTTP2=True)
    assert (http2.sync_transport(), http2.async_transport()) == ("httpx2", "httpx2")
    chosen = ServiceSettings(BASE_URL=URL, SYNC_TRANSPORT="httpx", ASYNC_TRANSPORT="httpx2")
    assert (chosen.sync_transport(), chosen.async_transport()) == ("httpx", "httpx2")
    assert settings.COOKIES is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"SYNC_TRANSPORT": "requests"}, "SYNC_TRANSPORT"),
        ({"ASYNC_TRANSPORT": "curl"}, "ASYNC_TRANSPORT"),
        ({"HTTP2": True, "SYNC_TRANSPORT": "pycurl"}, "HTTP2 needs SYNC_TRANSPORT"),
        ({"HTTP2": True, "ASYNC_TRANSPORT": "aiohttp"}, "HTTP2 needs ASYNC_TRANSPORT"),
        ({"TIMEOUT": {"total": 0}}, "TIMEOUT"),
    ],
)
def test_driver_settings_are_checked(raw: dict[str, Any], message: str) -> None:
    _, problems = collect_services({"svc": {"BASE_URL": URL, **raw}})
    assert problems and message in problems[0], problems


def test_a_missing_driver_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "httpcore" else real(name)
    )
    _, problems = collect_services({"svc": {"BASE_URL": URL, "SYNC_TRANSPORT": "httpx"}})
    assert problems and "pip install 'django-api-orm[httpx]'" in problems[0]


def test_the_total_timeout() -> None:
    assert ServiceSettings(BASE_URL=URL, TIMEOUT=7).phases() == (7.0, 7.0, 7.0, 7.0, 7.0)
    phases = ServiceSettings(BASE_URL=URL, TIMEOUT={"connect": 2, "read": 60}).phases()
    assert phases == (2, 60, 30, 5, 60)
    assert ServiceSettings(BASE_URL=URL, TIMEOUT={"total": 9}).phases()[4] == 9


# -- the options model and docs/settings.md ----------------------------------------------------

SETTINGS_DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def documented_rows() -> dict[str, list[str]]:
    """``KEY`` → the cells of its row in the reference tables of docs/settings.md."""
    rows = {}
    for line in SETTINGS_DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5 and cells[0].strip("`").isupper():
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_setting_key_is_documented_once() -> None:
    assert sorted(documented_rows()) == sorted(ServiceSettings.model_fields)


@pytest.mark.parametrize("option", DIALECT_OPTIONS + CONTEXT_OPTIONS, ids=lambda o: o.key)
def test_declared_options_are_settings_with_their_documented_default(option: Option) -> None:
    field = ServiceSettings.model_fields[option.key]
    default = option.factory() if option.factory else option.default
    assert field.get_default(call_default_factory=True) == default
    assert field.description == option.doc
    if isinstance(default, str | int | dict | None):  # LOOKUPS: "all 15"
        literal = f'"{default}"' if isinstance(default, str) else repr(default)
        assert documented_rows()[option.key][2].startswith(f"`{literal}`")


def test_the_dialect_and_the_context_take_the_options_from_settings() -> None:
    raw = {"BASE_URL": URL, "PAGE_SIZE": 5, "LOOKUPS": ["exact"], "MAX_PAGES": 7}
    settings = ServiceSettings(**raw)
    assert settings.dialect_options() == {"page_size": 5, "lookups": frozenset({"exact"})}
    assert settings.context_options()["max_pages"] == 7
    assert DRFDialect(**settings.dialect_options()).lookups == frozenset({"exact"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"LOOKUPS": ["exact", "near"]}, "['LOOKUPS']: unknown lookups ['near']; known: ["),
        (
            {"FIELD_LOOKUPS": {"books/": {"title": ["near"]}}},
            "['FIELD_LOOKUPS']: 'books/': 'title': unknown lookups ['near']; known: [",
        ),
        ({"PAGINATION": None}, "['PAGINATION']: Input should be 'page', 'offset'"),
        ({"PAGE_SIZE": 0}, "['PAGE_SIZE']: Input should be greater than or equal to 1"),
    ],
)
def test_declared_options_are_validated_naming_alias_and_key(
    raw: dict[str, Any], message: str
) -> None:
    assert one_problem({"BASE_URL": URL, **raw}).startswith(f"API_ORM_SERVICES['svc']{message}")


def test_field_lookups_are_keyed_by_endpoint_without_slashes() -> None:
    settings = ServiceSettings(BASE_URL=URL, FIELD_LOOKUPS={"/books/": {"title": ["exact"]}})
    assert settings.context_options()["field_lookups"] == {"books": {"title": {"exact"}}}
