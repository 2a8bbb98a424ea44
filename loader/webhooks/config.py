"""The receiver's settings and limits.

The secret and the shared token are dlt secrets like the loader's credentials:
`SOURCES__ZOHO_BOOKS__WEBHOOK_SECRET` / `SOURCES__ZOHO_BOOKS__WEBHOOK_TOKEN`, or
`webhook_secret` / `webhook_token` under `[sources.zoho_books]` in .dlt/secrets.toml.
Several organizations (loader/zoho/organizations.py): each has its own, under
`[sources.zoho_books.organizations.<name>]`
(`SOURCES__ZOHO_BOOKS__ORGANIZATIONS__<NAME>__WEBHOOK_SECRET`), inherited from
`[sources.zoho_books]` when it sets none. `read_settings` is the one place that reads them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loader.errors import ConfigError
from loader.zoho.constants import SOURCE_SECTION, env_var
from loader.zoho.modules import WEBHOOK_LANDED, WEBHOOK_PAYLOAD_KEYS
from loader.zoho.organizations import Organization

# Bodies above this are refused (413) before and while they are read. Zoho's default
# payload of an invoice with a few hundred lines is well under 1 MiB.
MAX_BODY_BYTES = 1024 * 1024
# The whole body must arrive within this (Zoho sends it at once): a slow-loris sender gets
# 408 and its connection closed.
BODY_TIMEOUT_SECONDS = 10.0
# Modules whose events the worker applies; any other module is stored and acknowledged.
# module -> its payload's key, as declared in loader/zoho/modules.py
APPLIED_MODULES = WEBHOOK_PAYLOAD_KEYS
# Modules without a listing whose events are stored (`ignored` by the worker) and landed by
# the next loader run (inventory adjustments): module -> payload key
LANDED_MODULES = {w.webhook_module: w.singular for w in WEBHOOK_LANDED}
EVENT_TYPES = ("created", "edited", "deleted")
TOKEN_HEADER = "X-Webhook-Token"
TOKEN_PARAMETER = "token"
# `/health`'s thresholds are the one health's (loader/ops/health.py, HEALTH__* settings).
DB_POOL_SIZE = 8


@dataclass(frozen=True)
class WorkerSettings:
    """How the worker applies events (`webhook_batch_size`, `webhook_max_attempts`,
    `webhook_retry_seconds` under [sources.zoho_books])."""

    batch_size: int = 200
    max_attempts: int = 8
    # Backoff after the n-th failure: retry_seconds * 2**(n-1), at most max_retry_seconds:
    # 30 s, 1, 2, 4, 8, 16, 32 min; dead at the 8th failure, about an hour after the first.
    retry_seconds: float = 30.0
    max_retry_seconds: float = 3600.0
    idle_seconds: float = 1.0
    rebuild: bool = True


@dataclass(frozen=True)
class WebhookSettings:
    """At least one of `secret` (Zoho's signature) and `token` (a shared token) is set;
    when both are, a request must pass both."""

    secret: str | None
    token: str | None
    # `POST /sync`'s bearer token (`sync_token`); None: manual sync is off (404).
    sync_token: str | None = None

    def __repr__(self) -> str:  # never print a secret, even in a traceback
        return (
            f"WebhookSettings(secret={'set' if self.secret else None}, "
            f"token={'set' if self.token else None}, "
            f"sync_token={'set' if self.sync_token else None})"
        )


def make_webhook_settings(
    secret: str | None, token: str | None, sync_token: str | None = None
) -> WebhookSettings:
    """Validated settings; a ConfigError names the variable to fix."""
    secret = (secret or "").strip() or None
    token = (token or "").strip() or None
    sync_token = (sync_token or "").strip() or None
    if sync_token is not None and len(sync_token) < 16:
        raise ConfigError(
            f"{env_var('sync_token')} is too short to guess-proof: use at least 16 "
            "characters (e.g. `openssl rand -hex 24`)"
        )
    if secret is None and token is None:
        raise ConfigError(
            f"{env_var('webhook_secret')} is not set: set it to the secret token of the Zoho "
            f"Books webhooks (or {env_var('webhook_token')} for webhooks without a secret); "
            "see docs/webhooks.md"
        )
    if secret is not None and not (12 <= len(secret) <= 50 and secret.isalnum()):
        raise ConfigError(
            f"{env_var('webhook_secret')} is not a Zoho webhook secret: Zoho accepts 12 to 50 "
            "letters and digits; paste the one of the webhook (docs/webhooks.md)"
        )
    if token is not None and len(token) < 16:
        raise ConfigError(
            f"{env_var('webhook_token')} is too short to guess-proof: use at least 16 "
            "characters (e.g. `openssl rand -hex 24`)"
        )
    return WebhookSettings(secret=secret, token=token, sync_token=sync_token)


def read_settings(config: Any = None, organization: Organization | None = None) -> WebhookSettings:
    """The receiver's settings (of `organization`, its own section first): from the
    loader's resolved settings (loader.zoho.config) when the worker runs, else (a receiver
    only, no Zoho credentials needed) the same two names straight from dlt's providers
    (environment, .dlt/secrets.toml)."""
    import dlt

    section = f"sources.{SOURCE_SECTION}"
    if config is not None:
        secret, token = config.webhook_secret, config.webhook_token
    else:
        own = ".".join(organization.sections) if organization is not None else section

        def lookup(name: str) -> Any:
            value: Any = dlt.secrets.get(f"{own}.{name}")
            return dlt.secrets.get(f"{section}.{name}") if value is None else value

        secret, token = lookup("webhook_secret"), lookup("webhook_token")
    sync_token: Any = dlt.secrets.get(f"{section}.sync_token")
    # dlt types values it reads (a secret of digits arrives as an int): back to text.
    return make_webhook_settings(
        None if secret is None else str(secret),
        None if token is None else str(token),
        None if sync_token is None else str(sync_token),
    )


def read_worker_settings(config: Any) -> WorkerSettings:
    """The worker's settings from the loader's resolved settings (loader.zoho.config, which
    validated them); defaults where unset."""
    defaults = WorkerSettings()
    return WorkerSettings(
        batch_size=int(config.webhook_batch_size or defaults.batch_size),
        max_attempts=int(config.webhook_max_attempts or defaults.max_attempts),
        retry_seconds=float(
            defaults.retry_seconds
            if config.webhook_retry_seconds is None
            else config.webhook_retry_seconds
        ),
    )


def organization_settings(
    organizations: Sequence[Organization], configs: Mapping[str, Any] | None = None
) -> list[tuple[Organization, WebhookSettings]]:
    """Each organization with its own webhook settings (from its resolved loader settings
    in `configs` when the worker runs). A ConfigError names the organization."""
    found = []
    for org in organizations:
        try:
            found.append((org, read_settings(None if configs is None else configs[org.key], org)))
        except ConfigError as exc:
            which = org.key + (f" ({org.name})" if org.name else "")
            raise ConfigError(f"organization {which}: {exc}") from None
    return found
