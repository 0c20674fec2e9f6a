"""The ``API_ORM_SERVICES`` setting: one validated :class:`ServiceSettings` per alias.

::

    API_ORM_SERVICES = {
        "default": {"BASE_URL": "https://books.example.com/api/", "AUTH_TOKEN": "..."},
        "billing": {"BASE_URL": "https://billing.example.com/", "TIMEOUT": 10, "HTTP2": True},
    }

Every key, its default and its meaning is listed in ``docs/settings.md``. A wrong value raises
:class:`~django.core.exceptions.ImproperlyConfigured` naming the alias and the key.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from ._core.dialect import BUILTIN_DIALECTS, Dialect
from ._core.options import Option, options_of
from ._core.plans import ServiceContext

__all__ = ["SETTING_NAME", "ServiceSettings", "TimeoutSettings", "load_services"]

SETTING_NAME = "API_ORM_SERVICES"


def _no_control_characters(value: str, what: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError(f"{what} must not contain CR, LF or NUL characters")
    return value


class TimeoutSettings(BaseModel):
    """Per-phase timeouts in seconds, and the ``total`` of a whole call."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    connect: float = Field(default=5.0, gt=0)
    read: float = Field(default=30.0, gt=0)
    write: float = Field(default=30.0, gt=0)
    pool: float = Field(default=5.0, gt=0)
    # The whole call: every attempt, the waits between them and the body. None: the
    # longest of the four phases.
    total: float | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _lower_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {str(k).lower(): v for k, v in data.items()}
        return data


class _ServiceSettings(BaseModel):
    """One service's settings, validated; attribute names are the UPPERCASE setting keys.

    The keys of the connection are declared here; the options of the dialect and of the
    plans are declared once in the core (:mod:`._core.options`) and added below.
    """

    # defer_build: the schema is built when the first service is validated (in ready()),
    # not when django_api_orm is imported.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    BASE_URL: str
    AUTH_TOKEN: SecretStr | None = None
    AUTH_SCHEME: str = "Bearer"
    HEADERS: dict[str, str] = Field(default_factory=dict)
    TIMEOUT: Annotated[float, Field(gt=0)] | TimeoutSettings = Field(default=30.0)
    VERIFY_SSL: bool = True
    FOLLOW_REDIRECTS: bool = False
    MAX_RETRIES: int = Field(default=3, ge=0, le=20)
    RETRY_DELAY: float = Field(default=0.5, ge=0)
    RETRY_MAX_WAIT: float = Field(default=30.0, ge=0)
    RETRY_MAX_ELAPSED: float = Field(default=60.0, ge=0)
    HTTP2: bool = False
    SYNC_TRANSPORT: Literal["auto", "pycurl", "httpx2", "httpx"] = "auto"
    ASYNC_TRANSPORT: Literal["auto", "aiohttp", "httpx2", "httpx"] = "auto"
    COOKIES: bool = False
    MAX_CONNECTIONS: int = Field(default=100, ge=1)
    MAX_KEEPALIVE_CONNECTIONS: int = Field(default=20, ge=0)
    MAX_RESPONSE_BYTES: int = Field(default=10 * 1024 * 1024, ge=0)
    CIRCUIT_BREAKER_THRESHOLD: int = Field(default=5, ge=0)
    CIRCUIT_BREAKER_COOLDOWN: float = Field(default=30.0, ge=0)
    DIALECT: str = "drf"

    @field_validator("DIALECT")
    @classmethod
    def _dialect(cls, value: str) -> str:
        if value not in BUILTIN_DIALECTS and "." not in value:
            raise ValueError(
                f"must be one of {sorted(BUILTIN_DIALECTS)} or a dotted path to a Dialect class"
            )
        return value

    def dialect_options(self) -> dict[str, Any]:
        """The dialect keywords this service sets (unset keys keep the dialect's defaults)."""
        return {
            option.name: getattr(self, option.key)
            for option in DIALECT_OPTIONS
            if option.key in self.model_fields_set
        }

    def context_options(self) -> dict[str, Any]:
        """The :class:`~._core.plans.ServiceContext` keywords of this service."""
        return {option.name: getattr(self, option.key) for option in CONTEXT_OPTIONS}

    @field_validator("BASE_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(
                "must be an absolute http:// or https:// URL, e.g. 'https://api.example.com/'"
            )
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        return value if value.endswith("/") else value + "/"

    @field_validator("AUTH_SCHEME")
    @classmethod
    def _scheme(cls, value: str) -> str:
        return _no_control_characters(value, "AUTH_SCHEME")

    @field_validator("AUTH_TOKEN")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            if not value.get_secret_value():
                raise ValueError("must not be empty: leave AUTH_TOKEN out (or None) for no auth")
            _no_control_characters(value.get_secret_value(), "AUTH_TOKEN")
            if not value.get_secret_value().isascii():
                raise ValueError("must be ASCII text (HTTP headers carry no other characters)")
        return value

    @field_validator("HEADERS")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            _no_control_characters(name, f"header name {name!r}")
            _no_control_characters(header, f"the value of header {name!r}")
        return value

    @field_validator("HTTP2")
    @classmethod
    def _h2_installed(cls, value: bool) -> bool:
        if value and importlib.util.find_spec("h2") is None:
            raise ValueError("needs the 'h2' package: pip install 'django-api-orm[http2]'")
        return value

    @field_validator("SYNC_TRANSPORT", "ASYNC_TRANSPORT")
    @classmethod
    def _driver_installed(cls, value: str) -> str:
        if value != "auto" and importlib.util.find_spec(_DRIVER_PACKAGES[value]) is None:
            extra = "'django-api-orm[httpx]'" if value == "httpx" else _DRIVER_PACKAGES[value]
            raise ValueError(f"needs the {_DRIVER_PACKAGES[value]!r} package: pip install {extra}")
        return value

    @model_validator(mode="after")
    def _keepalive_within_pool(self) -> _ServiceSettings:
        if self.HTTP2 and self.ASYNC_TRANSPORT == "aiohttp":
            raise ValueError(
                "HTTP2 needs ASYNC_TRANSPORT 'httpx2' or 'httpx' (aiohttp speaks HTTP/1.1 only)"
            )
        if self.HTTP2 and self.SYNC_TRANSPORT == "pycurl":
            raise ValueError("HTTP2 needs SYNC_TRANSPORT 'httpx2' or 'httpx'")
        if self.MAX_KEEPALIVE_CONNECTIONS > self.MAX_CONNECTIONS:
            raise ValueError(
                "MAX_KEEPALIVE_CONNECTIONS must not exceed MAX_CONNECTIONS "
                f"({self.MAX_KEEPALIVE_CONNECTIONS} > {self.MAX_CONNECTIONS})"
            )
        return self

    def sync_transport(self) -> str:
        """The sync driver in use: ``auto`` is the fastest installed one that passes the
        whole suite (see docs/performance.md), httpx2 when HTTP/2 is on."""
        if self.SYNC_TRANSPORT != "auto":
            return self.SYNC_TRANSPORT
        order = ("httpx2", "httpx") if self.HTTP2 else SYNC_DRIVER_ORDER
        return _first_installed(order)

    def async_transport(self) -> str:
        """The async driver in use: ``auto`` is aiohttp (fastest under concurrency, see
        docs/performance.md) unless HTTP/2 is on or aiohttp is missing."""
        if self.ASYNC_TRANSPORT != "auto":
            return self.ASYNC_TRANSPORT
        order = ("httpx2", "httpx") if self.HTTP2 else ASYNC_DRIVER_ORDER
        return _first_installed(order)

    def phases(self) -> tuple[float, float, float, float, float]:
        """(connect, read, write, pool, total) seconds."""
        value = self.TIMEOUT
        if isinstance(value, int | float):
            seconds = float(value)
            return seconds, seconds, seconds, seconds, seconds
        parts = (value.connect, value.read, value.write, value.pool)
        return (*parts, value.total if value.total is not None else max(parts))

    def auth_header(self) -> str | None:
        """The ``Authorization`` header value, or None without a token."""
        if self.AUTH_TOKEN is None:
            return None
        if self.AUTH_SCHEME:
            return f"{self.AUTH_SCHEME} {self.AUTH_TOKEN.get_secret_value()}"
        return self.AUTH_TOKEN.get_secret_value()


def _declared(option: Option) -> tuple[Any, Any]:
    """The pydantic field of an option declared in the core."""
    annotation = option.type
    if option.check is not None:
        annotation = Annotated[annotation, AfterValidator(option.check)]
    default: dict[str, Any] = (
        {"default_factory": option.factory} if option.factory else {"default": option.default}
    )
    return annotation, Field(ge=option.ge, description=option.doc, **default)


DIALECT_OPTIONS = options_of(Dialect)
CONTEXT_OPTIONS = options_of(ServiceContext)

if TYPE_CHECKING:
    ServiceSettings = _ServiceSettings
else:
    ServiceSettings = create_model(
        "ServiceSettings",
        __base__=_ServiceSettings,
        __module__=__name__,
        **{option.key: _declared(option) for option in DIALECT_OPTIONS + CONTEXT_OPTIONS},
    )

# The package each driver needs, and the order "auto" tries them in (fastest first).
_DRIVER_PACKAGES = {
    "pycurl": "pycurl",
    "httpx2": "httpcore2",
    "httpx": "httpcore",
    "aiohttp": "aiohttp",
}
SYNC_DRIVER_ORDER = ("pycurl", "httpx2", "httpx")
ASYNC_DRIVER_ORDER = ("aiohttp", "httpx2", "httpx")


def _first_installed(order: tuple[str, ...]) -> str:
    for name in order:
        if importlib.util.find_spec(_DRIVER_PACKAGES[name]) is not None:
            return name
    return order[-1]


_BRANCH_MISMATCH = frozenset(
    {"float_type", "float_parsing", "model_type", "dict_type", "model_attributes_type"}
)


def _is_branch_tag(part: Any) -> bool:
    # Unions add their branch to the location ("constrained-float", "TimeoutSettings");
    # setting keys are UPPERCASE and timeout keys lowercase.
    text = str(part)
    return "-" in text or "[" in text or (text != text.upper() and text != text.lower())


def describe_errors(alias: str, error: PydanticValidationError) -> list[str]:
    """One message per bad key, naming alias and key, never the rejected value."""
    by_key: dict[Any, list[Any]] = {}
    for item in error.errors():
        by_key.setdefault(item["loc"][:1], []).append(item)
    messages = []
    for items in by_key.values():
        # A union (TIMEOUT: number or dict) reports once per branch: keep the branch that
        # matches the input's type, i.e. drop the "wrong type" errors when others exist.
        relevant = [i for i in items if i["type"] not in _BRANCH_MISMATCH] or items
        item = max(relevant, key=lambda i: len(i["loc"]))  # deepest: inside the dict form
        key = "".join(f"[{part!r}]" for part in item["loc"] if not _is_branch_tag(part))
        text = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            text = "is required"
        messages.append(f"{SETTING_NAME}[{alias!r}]{key}: {text}")
    return messages


def validate_service(alias: str, raw: Any) -> tuple[ServiceSettings | None, list[str]]:
    """Validate one alias's dict; returns the settings or the list of problems."""
    if not isinstance(raw, Mapping):
        return None, [f"{SETTING_NAME}[{alias!r}] must be a dict, got {type(raw).__name__}."]
    problems = []
    known = list(ServiceSettings.model_fields)
    for key in raw:
        if key not in known:
            hint = difflib.get_close_matches(str(key).upper(), known, n=1)
            suffix = f" Did you mean {hint[0]!r}?" if hint else f" Known keys: {', '.join(known)}."
            problems.append(f"{SETTING_NAME}[{alias!r}][{key!r}]: unknown key.{suffix}")
    if problems:
        return None, problems
    try:
        return ServiceSettings.model_validate(dict(raw)), []
    except PydanticValidationError as error:
        return None, describe_errors(alias, error)


def collect_services(raw: Any) -> tuple[dict[str, ServiceSettings], list[str]]:
    """Validate the whole setting; returns the good services and every problem found."""
    if raw is None:
        return {}, []
    if not isinstance(raw, Mapping):
        return {}, [
            f"{SETTING_NAME} must be a dict of alias -> settings, got {type(raw).__name__}."
        ]
    services: dict[str, ServiceSettings] = {}
    problems: list[str] = []
    for alias, value in raw.items():
        service, errors = validate_service(str(alias), value)
        problems += errors
        if service is not None:
            services[str(alias)] = service
    return services, problems


def load_services() -> dict[str, ServiceSettings]:
    """Read and validate ``settings.API_ORM_SERVICES``; raise ImproperlyConfigured if wrong.

    Without Django settings (a script, a FastAPI or aiohttp app using explicit clients) there
    are no configured services, rather than an error on reading the setting.
    """
    if not django_settings.configured:
        return {}
    services, problems = collect_services(getattr(django_settings, SETTING_NAME, None))
    if problems:
        raise ImproperlyConfigured("\n".join(problems))
    return services
