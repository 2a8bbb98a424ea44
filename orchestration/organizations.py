"""Which organizations the orchestrator loads: the loader's, from one source of truth.

The organizations, their keys and their per-organization names (dlt pipeline, staging
dataset, lock, token cache) are the loader's: `loader.zoho.organizations`
(`[sources.zoho_books]` and `[sources.zoho_books.organizations.<name>]`; docs/configuration.md).
Dagster adds only its partitions: one dynamic partition per organization, keyed by its
organization_id. The organization of `[sources.zoho_books] organization_id` keeps the
pipeline `zoho_books` under Dagster as under cron; every other one `zoho_books_<id>`.
"""

from __future__ import annotations

from loader.zoho.organizations import Organization, configured_organizations, organization

# Dagster's dynamic partitions of the organizations (one partition key per organization).
PARTITIONS_NAME = "zoho_organizations"

__all__ = [
    "PARTITIONS_NAME",
    "Organization",
    "configured_organizations",
    "organization",
    "partition_keys",
]


def partition_keys() -> list[str]:
    """The partition keys the configuration asks for (organization ids, in its order). A
    broken configuration is the loader's ConfigError, naming the setting to fix."""
    return [org.key for org in configured_organizations()]
