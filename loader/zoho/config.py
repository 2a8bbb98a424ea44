"""The loader's settings: `[sources.zoho_books]` in .dlt/config.toml / secrets.toml or
`SOURCES__ZOHO_BOOKS__<NAME>` variables, resolved once by dlt into `ZohoBooksConfig` and
validated once here. Every problem is a ConfigError (exit 2) naming the variable to fix,
in one line; a value is never echoed (it may be a secret).

    config = load_config()            # resolve + validate
    settings = zoho_settings(config)  # what loader.zoho.http.ZohoClient needs
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigurationValueError,
    ConfigValueCannotBeCoercedException,
)
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from loader.errors import ConfigError, find_loader_error
from loader.zoho.constants import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_DATA_CENTER,
    DEFAULT_MAX_CALLS_PER_MINUTE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TOKEN_CACHE_PATH,
    REQUEST_TIMEOUT_SECONDS,
    SOURCE_SECTION,
    env_var,
    resolve_hosts,
)
from loader.zoho.http import ZohoSettings
from loader.zoho.http.deadline import RETRY_DEADLINE_SECONDS
from loader.zoho.modules import DEFAULT_DETAILS_BUDGET

SECTIONS = ("sources", SOURCE_SECTION)


@configspec
class ZohoBooksConfig(BaseConfiguration):
    organization_id: str = None  # type: ignore[assignment]  # required: dlt reports it missing
    client_id: TSecretStrValue = None  # type: ignore[assignment]  # required: dlt reports it missing
    client_secret: TSecretStrValue = None  # type: ignore[assignment]  # required: dlt reports it missing
    refresh_token: TSecretStrValue = None  # type: ignore[assignment]  # required: dlt reports it missing
    data_center: str = DEFAULT_DATA_CENTER
    api_base_url: str | None = None
    accounts_url: str | None = None
    token_cache_path: str | None = None
    max_calls_per_minute: int = DEFAULT_MAX_CALLS_PER_MINUTE
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    details_budget: int = DEFAULT_DETAILS_BUDGET
    # Settings of later features, optional here so those features only read them.
    webhook_secret: TSecretStrValue | None = None
    webhook_token: TSecretStrValue | None = None
    daily_call_budget: int | None = None
    reserved_calls: int | None = None
    # The webhook worker's (loader/webhooks/config.py WorkerSettings has the defaults).
    webhook_batch_size: int | None = None
    webhook_max_attempts: int | None = None
    webhook_retry_seconds: float | None = None
    # How soon a Zoho that does not answer is reported (loader/zoho/http/deadline.py).
    connect_timeout: float | None = None
    request_timeout: float | None = None
    retry_deadline: float | None = None

    def __repr__(self) -> str:  # never show secrets, not even in a traceback's locals
        return f"ZohoBooksConfig(organization_id={self.organization_id!r})"


def _check_url(name: str, value: str | None) -> None:
    if not value:
        return
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{env_var(name)} must be an http(s):// URL with a host "
            "(e.g. https://www.zohoapis.eu/books/v3), or unset to use the data center's"
        )


def validate(config: ZohoBooksConfig) -> ZohoBooksConfig:
    """Every rule of docs/configuration.md, checked once; raises ConfigError."""
    empty = [
        env_var(name)
        for name in ("organization_id", "client_id", "client_secret", "refresh_token")
        if not str(getattr(config, name) or "").strip()
    ]
    if empty:
        them = "it" if len(empty) == 1 else "them"
        raise ConfigError(
            f"{', '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty: set {them} "
            "(see docs/configuration.md)"
        )
    for name in ("api_base_url", "accounts_url"):
        _check_url(name, getattr(config, name))
    resolve_hosts(config.data_center, config.api_base_url, config.accounts_url)
    for name, least in (
        ("max_calls_per_minute", 1),
        ("max_concurrency", 1),
        ("details_budget", 0),
        ("daily_call_budget", 0),
        ("reserved_calls", 0),
        ("webhook_batch_size", 1),
        ("webhook_max_attempts", 1),
        ("webhook_retry_seconds", 0),
        ("connect_timeout", 0.1),
        ("request_timeout", 0.1),
        ("retry_deadline", 0),
    ):
        value = getattr(config, name)
        if value is not None and not value >= least:  # also refuses nan
            raise ConfigError(f"{env_var(name)} must be at least {least}, got {value}")
    return config


def load_config(explicit: dict[str, Any] | None = None) -> ZohoBooksConfig:
    """The resolved, validated settings; `explicit` values win over every provider."""
    try:
        config = resolve_configuration(
            ZohoBooksConfig(), sections=SECTIONS, explicit_value=explicit
        )
    except ConfigFieldMissingException as exc:
        names = ", ".join(env_var(name) for name in exc.fields)
        plural = len(exc.fields) > 1
        raise ConfigError(
            f"missing setting{'s' if plural else ''} {names}: set {'each' if plural else 'it'}"
            " as an environment variable or in "
            ".dlt/secrets.toml under [sources.zoho_books] (see docs/configuration.md)"
        ) from None
    except ConfigValueCannotBeCoercedException as exc:
        raise ConfigError(
            f"{env_var(exc.field_name)} has a value that is not a valid {exc.hint}"
        ) from None
    except ConfigurationValueError as exc:
        raise ConfigError(f"invalid setting in sources.zoho_books: {exc}") from None
    except Exception as exc:
        found = find_loader_error(exc)
        if found is not None:
            raise found from None
        raise
    return validate(config)


def zoho_settings(config: ZohoBooksConfig) -> ZohoSettings:
    """What the HTTP client needs, hosts resolved from the data center or the overrides."""
    api, accounts = resolve_hosts(config.data_center, config.api_base_url, config.accounts_url)
    return ZohoSettings(
        organization_id=str(config.organization_id).strip(),
        client_id=str(config.client_id).strip(),
        client_secret=str(config.client_secret).strip(),
        refresh_token=str(config.refresh_token).strip(),
        api_base_url=api,
        accounts_url=accounts,
        token_cache_path=str(config.token_cache_path or DEFAULT_TOKEN_CACHE_PATH),
        max_calls_per_minute=int(config.max_calls_per_minute),
        max_concurrency=int(config.max_concurrency),
        connect_timeout=_or(config.connect_timeout, CONNECT_TIMEOUT_SECONDS),
        request_timeout=_or(config.request_timeout, REQUEST_TIMEOUT_SECONDS),
        retry_deadline=_or(config.retry_deadline, RETRY_DEADLINE_SECONDS),
    )


def _or(value: float | None, default: float) -> float:
    return float(default if value is None else value)
