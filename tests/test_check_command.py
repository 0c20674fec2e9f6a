"""``manage.py api_orm_check``: one row per service, non-zero exit when one is down or rejects
our credentials, and never the token."""

from __future__ import annotations

import re
import socket
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_api_orm import APIModel
from django_api_orm.management.commands.api_orm_check import Command
from django_api_orm.testing import fake_service
from tests.conftest import service_settings
from tests.models import BookSchema
from tests.upstream_fixture import Upstream


def check(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_orm_check", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failing_check(*args: str) -> tuple[str, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as error:
        call_command("api_orm_check", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue(), str(error.value)


def rows(output: str) -> dict[str, list[str]]:
    """Table rows by service alias, split on the column gaps."""
    lines = output.strip().splitlines()
    header = ["SERVICE", "URL", "STATUS", "LATENCY", "HTTP", "AUTH", "BREAKER"]
    assert re.split(r"\s{2,}", lines[0]) == header
    table = [re.split(r"\s{2,}", line) for line in lines[1:]]
    return {row[0]: row for row in table}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def services(upstream: Upstream, **extra: Any) -> dict[str, Any]:
    return {
        "default": service_settings(upstream),
        "private": service_settings(upstream, AUTH_TOKEN="test-token"),
        **extra,
    }


def test_every_service_is_checked(upstream: Upstream) -> None:
    with override_settings(API_ORM_SERVICES=services(upstream)):
        out, err = check()
    table = rows(out)
    url = f"{upstream.url}/api/"
    assert table["default"][1:3] == [url, "200"]
    assert table["default"][4:] == ["HTTP/1.1", "no token", "closed"]
    assert table["private"][1:3] == [url, "200"]
    assert table["private"][5] == "ok"
    assert re.fullmatch(r"\d+ ms", table["private"][3])
    assert err == ""
    assert "test-token" not in out
    [entry, auth_entry] = upstream.requests()
    assert (entry["method"], entry["path"]) == ("GET", "/api/")
    assert auth_entry["headers"]["authorization"] == "Bearer test-token"


def test_service_option_is_repeatable(upstream: Upstream) -> None:
    assert list(rows(check("--service", "private")[0])) == ["private"]
    out, _ = check("--service", "private", "--service", "default", "--service", "private")
    assert list(rows(out)) == ["private", "default"]
    assert len(upstream.requests()) == 3


def test_unknown_service_is_an_error(upstream: Upstream) -> None:
    with pytest.raises(CommandError, match=r"Unknown service\(s\) nope; configured: default"):
        check("--service", "nope")
    assert upstream.requests() == []


def test_dead_service_fails(upstream: Upstream) -> None:
    dead = {"BASE_URL": f"http://127.0.0.1:{closed_port()}/v1/", "MAX_RETRIES": 0}
    with override_settings(API_ORM_SERVICES=services(upstream, dead=dead)):
        out, err, message = failing_check()
    table = rows(out)
    assert table["dead"][2] == "unreachable" and table["dead"][4:6] == ["-", "-"]
    assert table["default"][2] == "200"  # the others are still reported
    assert message == "1 of 3 service(s) failed: dead"
    assert err.startswith("dead: [dead] Connection refused by 127.0.0.1:")


def test_exit_status_from_the_command_line(upstream: Upstream) -> None:
    dead = {"BASE_URL": f"http://127.0.0.1:{closed_port()}/", "MAX_RETRIES": 0}
    command = Command(stdout=StringIO(), stderr=StringIO())
    with override_settings(API_ORM_SERVICES=services(upstream, dead=dead)):
        with pytest.raises(SystemExit) as exit_info:
            command.run_from_argv(["manage.py", "api_orm_check", "--service", "dead"])
        assert exit_info.value.code == 1
        command.run_from_argv(["manage.py", "api_orm_check", "--service", "default"])


def test_rejected_token_fails_without_printing_it(upstream: Upstream) -> None:
    wrong = service_settings(upstream, AUTH_TOKEN="wrong-secret-value")
    with override_settings(API_ORM_SERVICES=services(upstream, private=wrong)):
        upstream.fault(path_prefix="/api/", status=401, body={"detail": "Invalid token."})
        out, err, message = failing_check("--service", "private")
    assert rows(out)["private"][2:3] + rows(out)["private"][5:6] == ["401", "rejected (401)"]
    assert message == "1 of 1 service(s) failed: private"
    assert "wrong-secret-value" not in out + err + message
    assert "Bearer" not in out + err + message


def test_forbidden_fails(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/", status=403, body={"detail": "Nope."})
    out, err, _ = failing_check("--service", "private")
    assert rows(out)["private"][5] == "forbidden (403)"
    assert "HTTP 403: Nope." in err
    assert "test-token" not in out + err


def test_server_error_fails(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/", status=500, body={"detail": "boom"})
    out, err, _ = failing_check("--service", "default")
    assert rows(out)["default"][2] == "500"
    assert "HTTP 500: boom" in err


def test_a_404_root_still_counts_as_reachable(upstream: Upstream) -> None:
    upstream.fault(path_prefix="/api/", status=404)
    out, _ = check("--service", "private")
    assert rows(out)["private"][2:3] + rows(out)["private"][5:6] == ["404", "ok"]


def test_credentials_in_the_url_are_redacted(upstream: Upstream) -> None:
    netloc = upstream.url.removeprefix("http://")
    raw = service_settings(upstream, MAX_RETRIES=0)
    raw["BASE_URL"] = f"http://user:pw-secret@{netloc}/api/"
    with override_settings(API_ORM_SERVICES={"default": raw}):
        out, err, _ = failing_check()  # httpx sends them as Basic auth: the upstream says 401
    assert rows(out)["default"][1] == f"{upstream.url}/api/"
    assert "pw-secret" not in out + err


def test_no_services(upstream: Upstream) -> None:
    with override_settings(API_ORM_SERVICES={}):
        assert check()[0] == "No services are configured in API_ORM_SERVICES.\n"


def test_works_against_a_fake_service(upstream: Upstream) -> None:
    with fake_service() as fake:
        out, _ = check("--service", "default")
    assert rows(out)["default"][2] == "404"  # the fake has nothing at the root: reachable
    assert [r.path for r in fake.requests] == [""]
    assert upstream.requests() == []


def test_invalid_settings_are_a_command_error(upstream: Upstream) -> None:
    bad = {"default": {"BASE_URL": "ftp://x/"}}
    expected = r"API_ORM_SERVICES\['default'\]\['BASE_URL'\]"
    with override_settings(API_ORM_SERVICES=bad), pytest.raises(CommandError, match=expected):
        check()


def test_breaker_state_is_shown(upstream: Upstream) -> None:
    dead = {"BASE_URL": f"http://127.0.0.1:{closed_port()}/", "MAX_RETRIES": 0}
    dead_settings = {**dead, "CIRCUIT_BREAKER_THRESHOLD": 1}
    with override_settings(API_ORM_SERVICES=services(upstream, dead=dead_settings)):
        out, _, _ = failing_check()
        assert rows(out)["dead"][-1] == "open"
        assert rows(out)["default"][-1] == "closed"
        out, _, message = failing_check("--service", "dead")
        assert "Circuit open" in message or "dead" in message


# -- --lookups: does the live API honour the declared lookups? -----------------------------------


class ProbedBook(APIModel):
    """narrow-books honours only author and year exact: the other declarations are wrong."""

    _schema_class = BookSchema
    _endpoint = "narrow-books/"
    _filter_lookups = {
        "author": ["exact", "startswith"],
        "year": ["exact", "gte"],
        "title": ["icontains"],
    }


def test_lookups_reports_the_ones_the_api_ignores(upstream: Upstream) -> None:
    with override_settings(API_ORM_SERVICES={"default": service_settings(upstream)}):
        out, _, error = failing_check("--lookups")
    table = {
        (cells[0], cells[1]): cells[3]
        for line in out.splitlines()
        if (cells := re.split(r"\s{2,}", line))[0] == "ProbedBook"
    }
    assert table == {
        ("ProbedBook", "author__exact"): "honoured",
        ("ProbedBook", "author__startswith"): "ignored",
        ("ProbedBook", "title__icontains"): "ignored",
        ("ProbedBook", "year__exact"): "honoured",
        ("ProbedBook", "year__gte"): "ignored",
    }
    assert "ProbedBook.author__startswith" in error and "not honoured" in error
    assert {e["method"] for e in upstream.requests()} == {"GET"}  # nothing written
    print("\n".join(line for line in out.splitlines() if "Book" in line or "MODEL" in line))


def test_lookups_without_declarations_says_how_to_declare(upstream: Upstream) -> None:
    with override_settings(API_ORM_SERVICES={"other": service_settings(upstream)}):
        out, _ = check("--lookups")
    assert "No declared lookups to probe" in out
