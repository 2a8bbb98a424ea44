"""Which Zoho organizations the loader loads, read from the configuration in one place.

One organization (the single-organization settings, unchanged):

    [sources.zoho_books]
    organization_id = "10234695"            # SOURCES__ZOHO_BOOKS__ORGANIZATION_ID
    client_id = "..."                       # the Self Client every organization may share

Several: one table per organization under `[sources.zoho_books.organizations.<name>]`
(`SOURCES__ZOHO_BOOKS__ORGANIZATIONS__<NAME>__<SETTING>`). A setting an organization does
not set is inherited from `[sources.zoho_books]` (dlt's section lookup), so one Self Client
reaches them all and each may still set its own `data_center`, credentials,
`webhook_secret`, `daily_call_budget`, ... :

    [sources.zoho_books.organizations.eu]
    organization_id = "20081234"
    data_center = "eu"
    webhook_secret = "..."

`configured_organizations()` is the one function that lists them (the job, `loader orgs`,
the webhook receiver and the Dagster deployment call it). Each organization's key is its
organization_id: it names its dlt pipeline, staging dataset, lock, token cache and health
line. The organization of `[sources.zoho_books] organization_id` keeps the pipeline name
`zoho_books` and the staging dataset `zoho_staging_staging` it had before several
organizations existed (its state and cursors carry over); every other organization gets
`zoho_books_<id>` and `zoho_staging_staging_<id>` (dlt-hub/dlt#4297: pipelines merging into
one dataset at the same time must not share a staging dataset).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dlt

from loader.errors import ConfigError
from loader.names import PIPELINE_NAME
from loader.zoho.constants import DEFAULT_TOKEN_CACHE_PATH, ENV_PREFIX, SOURCE_SECTION

ORGANIZATIONS_SECTION = "organizations"
ORGANIZATIONS_ENV_PREFIX = f"{ENV_PREFIX}ORGANIZATIONS__"
# Chooses the organization of one `python -m loader run` (its id or configured name); the
# job sets it for the run it starts. Unset with one organization configured: that one.
ORGANIZATION_ENV = "ZOHO_BOOKS_ORGANIZATION"


@dataclass(frozen=True)
class Organization:
    """One organization to load. `name` is its configuration section
    (`[sources.zoho_books.organizations.<name>]`), None for the single-organization
    settings; `settings` are explicit values for loader.zoho.config.load_config."""

    key: str
    name: str | None = None
    legacy: bool = False  # the organization of `[sources.zoho_books] organization_id`
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def organization_id(self) -> str:
        return self.key

    @property
    def sections(self) -> tuple[str, ...]:
        """Where its settings are looked up first (then in [sources.zoho_books])."""
        if self.name is None:
            return ("sources", SOURCE_SECTION)
        return ("sources", SOURCE_SECTION, ORGANIZATIONS_SECTION, self.name)

    @property
    def pipeline_name(self) -> str:
        """Its own dlt pipeline (state, cursors, working folder)."""
        return PIPELINE_NAME if self.legacy else f"{PIPELINE_NAME}_{identifier(self.key)}"

    @property
    def staging_dataset_layout(self) -> str:
        """Its own staging dataset (dlt's `staging_dataset_name_layout`)."""
        return "%s_staging" if self.legacy else f"%s_staging_{identifier(self.key)}"

    @property
    def token_cache_path(self) -> str:
        """Its own access-token cache (an organization may have its own Self Client)."""
        if self.legacy:
            return str(DEFAULT_TOKEN_CACHE_PATH)
        path = DEFAULT_TOKEN_CACHE_PATH
        return str(path.with_name(f"{path.stem}_{identifier(self.key)}{path.suffix}"))


def identifier(key: str) -> str:
    """`key` as a lower-case PostgreSQL/dlt identifier part."""
    return re.sub(r"[^a-z0-9_]", "_", key.lower())


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _section_names(environ: Mapping[str, str]) -> list[str]:
    """The `<name>`s of `[sources.zoho_books.organizations.<name>]`, from the TOML files
    and the SOURCES__ZOHO_BOOKS__ORGANIZATIONS__<NAME>__* variables, in first-seen order."""
    names: list[str] = []
    table: Any = dlt.config.get(f"sources.{SOURCE_SECTION}.{ORGANIZATIONS_SECTION}")
    if isinstance(table, Mapping):
        names += [str(name) for name in table]
    for variable in sorted(environ):
        if variable.startswith(ORGANIZATIONS_ENV_PREFIX):
            name = variable[len(ORGANIZATIONS_ENV_PREFIX) :].split("__", 1)[0].lower()
            if name and name not in names:
                names.append(name)
    return names


def configured_organizations(environ: Mapping[str, str] | None = None) -> list[Organization]:
    """The organizations of the configuration, the single-organization one first. An
    organization section without an organization_id, or two naming the same id, is a
    ConfigError naming the setting to fix."""
    env = os.environ if environ is None else environ
    found: list[Organization] = []
    legacy_id = _text(dlt.config.get(f"sources.{SOURCE_SECTION}.organization_id"))
    if legacy_id:
        found.append(Organization(key=legacy_id, legacy=True))
    for name in _section_names(env):
        org_id = _text(
            dlt.config.get(
                f"sources.{SOURCE_SECTION}.{ORGANIZATIONS_SECTION}.{name}.organization_id"
            )
        )
        variable = f"{ORGANIZATIONS_ENV_PREFIX}{name.upper()}__ORGANIZATION_ID"
        if not org_id:
            raise ConfigError(
                f"organization {name!r} has no organization_id: set {variable} "
                "(see docs/configuration.md, Several organizations)"
            )
        if org_id == legacy_id:
            # the single-organization settings name it too: one organization, its own
            # section's settings, and the pipeline it always had
            found[0] = Organization(key=org_id, name=name, legacy=True)
            continue
        if any(org.key == org_id for org in found):
            raise ConfigError(
                f"organization id {org_id} is configured twice (again in {variable}): "
                "keep one section per organization"
            )
        found.append(Organization(key=org_id, name=name))
    return found


def organization(choice: str, environ: Mapping[str, str] | None = None) -> Organization:
    """The configured organization whose id or section name is `choice`."""
    orgs = configured_organizations(environ)
    for org in orgs:
        if choice in (org.key, org.name):
            return org
    known = ", ".join(org.key + (f" ({org.name})" if org.name else "") for org in orgs)
    raise ConfigError(
        f"organization {choice!r} is not configured (configured: {known or 'none'}): "
        "add [sources.zoho_books.organizations.<name>] with its organization_id"
    )


def selected_organization(environ: Mapping[str, str] | None = None) -> Organization | None:
    """The organization one run loads: $ZOHO_BOOKS_ORGANIZATION, or the only one configured;
    None when none is configured (load_config then reports the missing setting). Several
    configured and none chosen is a ConfigError."""
    env = os.environ if environ is None else environ
    choice = _text(env.get(ORGANIZATION_ENV))
    if choice:
        return organization(choice, env)
    orgs = configured_organizations(env)
    if len(orgs) > 1:
        raise ConfigError(
            f"{len(orgs)} organizations are configured: choose one with --org ID "
            f"(or {ORGANIZATION_ENV}), or run them all with `python -m loader.job --all`"
        )
    return orgs[0] if orgs else None
