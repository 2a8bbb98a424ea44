"""Which organizations the orchestrator loads, read from the loader's configuration.

Today the configuration names one organization (`SOURCES__ZOHO_BOOKS__ORGANIZATION_ID`, or
`organization_id` under `[sources.zoho_books]`). `configured_organizations` is the one
function that reads them: when the configuration names several (e.g. a future
`[sources.zoho_books.organizations.<name>]` table each with its own organization_id and
credentials), only it changes; the partitions, the sensor, the pipeline names and the
staging datasets all follow from what it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import dlt

from loader.names import PIPELINE_NAME
from loader.zoho.constants import SOURCE_SECTION

# Dagster's dynamic partitions of the organizations (one partition key per organization).
PARTITIONS_NAME = "zoho_organizations"


@dataclass(frozen=True)
class Organization:
    """One organization to load: its partition key and the settings that differ from
    `[sources.zoho_books]` (explicit values for loader.zoho.config.load_config)."""

    key: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def pipeline_name(self) -> str:
        """Its own dlt pipeline (its own state and working folder): `zoho_books_<key>`."""
        return f"{PIPELINE_NAME}_{identifier(self.key)}"

    @property
    def staging_dataset_layout(self) -> str:
        """Its own staging dataset, `zoho_staging_staging_<key>`: dlt merges through the
        staging dataset, and pipelines sharing one at once lose or duplicate rows
        (dlt-hub/dlt#4297)."""
        return f"%s_staging_{identifier(self.key)}"


def identifier(key: str) -> str:
    """`key` as a lower-case PostgreSQL/dlt identifier part."""
    return re.sub(r"[^a-z0-9_]", "_", key.lower())


def configured_organizations() -> list[Organization]:
    """The organizations of the configuration, in order. THE place to change when the
    configuration lists several organizations: return one Organization per entry, its
    key (stable: it names the partition, the pipeline and the staging dataset) and its
    settings (organization_id, and credentials where they differ)."""
    organization_id = dlt.config.get(f"sources.{SOURCE_SECTION}.organization_id", str)
    if not organization_id or not str(organization_id).strip():
        return []
    organization_id = str(organization_id).strip()
    return [Organization(key=organization_id, settings={"organization_id": organization_id})]


def organization(key: str) -> Organization:
    """The configured organization of partition `key`; a key the configuration no longer
    lists is an error naming the fix."""
    for found in configured_organizations():
        if found.key == key:
            return found
    raise LookupError(
        f"organization {key!r} is a partition but not in the configuration: add it to "
        "[sources.zoho_books] (SOURCES__ZOHO_BOOKS__ORGANIZATION_ID), or delete the partition"
    )
