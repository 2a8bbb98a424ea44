"""The warehouse's dlt pipeline and its local working state.

Each warehouse has its own pipelines directory (`pipelines_dir`), so one warehouse's
cursors never decide what a run against another fetches; `open_pipeline` gives a run the
pipeline as the warehouse has it: a package that cannot be loaded any more is dropped,
and a raw table the schema or state claims but the warehouse lacks is reloaded in full.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import dlt
from dlt.pipeline.helpers import pipeline_drop

from loader import warehouse
from loader.names import PIPELINE_NAME, RAW_SCHEMA
from loader.zoho.constants import DEFAULT_PIPELINES_DIR, PIPELINES_DIR_ENV, SOURCE_SECTION
from loader.zoho.contract import TABLES
from loader.zoho.stored import Destination

log = logging.getLogger(__name__)
DLT_VERSION_TABLE = "_dlt_version"  # dlt's schema versions, in every dataset it loaded


def pipelines_dir(pg: dict[str, str], option: str | None = None) -> Path:
    """Where dlt keeps this pipeline's local working state for the warehouse `pg`:
    <option, $DLT_PIPELINES_DIR or .local/dlt>/<database>-<hash of host, port, database,
    dataset>. Each warehouse has its own, so what one run fetches is never decided by
    another warehouse's cursors (issue 15); any of them may be deleted: the state is
    restored from the warehouse (dlt's sync_destination)."""
    base = Path(option or os.environ.get(PIPELINES_DIR_ENV) or DEFAULT_PIPELINES_DIR)
    return base / warehouse_key(pg)


def warehouse_key(pg: dict[str, str]) -> str:
    identity = "\0".join((pg["PGHOST"], pg["PGPORT"], pg["PGDATABASE"], RAW_SCHEMA))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    readable = "".join(c if c.isalnum() or c in "_-" else "_" for c in pg["PGDATABASE"])[:40]
    return f"{readable}-{digest}"


def make_pipeline(
    pg: dict[str, str],
    pipelines_dir_path: Path,
    pipeline_name: str = PIPELINE_NAME,
    staging_dataset_layout: str | None = None,
) -> dlt.Pipeline:
    """The pipeline `pipeline_name` (one per organization, loader/zoho/organizations.py)
    into the raw schema; `staging_dataset_layout` gives it its own staging dataset
    (dlt's `staging_dataset_name_layout`; pipelines merging into one dataset at the same
    time through one staging dataset lose or duplicate rows, dlt-hub/dlt#4297)."""
    options: dict[str, Any] = {}
    if staging_dataset_layout:
        options["staging_dataset_name_layout"] = staging_dataset_layout
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.postgres(warehouse.dlt_credentials(pg), **options),
        dataset_name=RAW_SCHEMA,
        pipelines_dir=str(pipelines_dir_path),
    )


def open_pipeline(
    pg: dict[str, str],
    base: str | None,
    full_refresh: bool,
    pipeline_name: str = PIPELINE_NAME,
    staging_dataset_layout: str | None = None,
    organization_id: str | None = None,
) -> dlt.Pipeline:
    """The pipeline of warehouse `pg`, its state as the warehouse has it, and every raw
    table its schema or state claims present in the warehouse.

    - The local working dir is dropped when it holds a package that cannot be loaded any
      more (its tables are gone) or on --full-refresh: dlt's state then comes back from the
      warehouse, where it was committed with the rows (a dropped package's rows are
      fetched again, their cursors never moved there).
    - A raw table the schema or state names but the warehouse lacks (dropped by hand, a
      database re-created, a schema claiming tables a failed run never created) is
      dropped from the schema and its resource's state with dlt's own `drop` helper, so
      this run reloads it in full instead of skipping it and reporting success."""
    pipeline = make_pipeline(pg, pipelines_dir(pg, base), pipeline_name, staging_dataset_layout)
    if pipeline.has_pending_data and (full_refresh or _missing_tables(pipeline)):
        log.warning(
            "dropping data an earlier run extracted but did not load (%s): it is fetched "
            "again; state restored from the warehouse",
            "--full-refresh" if full_refresh else "its tables are gone from the warehouse",
        )
        pipeline = pipeline.drop()
    pipeline.sync_destination()
    if pipeline.has_pending_data or not pipeline.default_schema_name:
        return pipeline
    if not Destination(pipeline.sql_client()).existing_columns(DLT_VERSION_TABLE):
        # the raw schema is gone (the database re-created, the schema dropped): nothing
        # there to keep in step with, and dlt's `drop` below would fail on its own
        # bookkeeping table; this run starts from an empty working state, as a first one
        log.warning(
            "the warehouse has no raw schema %s although this checkout loaded it before: "
            "loading everything again",
            RAW_SCHEMA,
        )
        return pipeline.drop()
    missing = _missing_tables(pipeline)
    if not missing:
        return pipeline
    log.warning(
        "the warehouse has no table %s although dlt's schema or state says it was "
        "loaded: reloading it in full",
        ", ".join(sorted(missing)),
    )
    # only tables that are gone: dropping one that exists would also need its dbt views
    pipeline_drop(pipeline, resources=sorted(missing))()
    details_kept = Destination(pipeline.sql_client()).existing_columns("invoice_details")
    if "invoice_line_items" in missing and details_kept:
        # the details already read would never bring their lines again: read them all
        # (this organization's: the others' lines are where they were)
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name("invoice_details")
            if organization_id is not None and "organization_id" in details_kept:
                sql = f"delete from {table} where organization_id = %s"
                client.execute_sql(sql, organization_id)
            else:
                client.execute_sql(f"delete from {table}")
    return pipeline


def _missing_tables(pipeline: dlt.Pipeline) -> set[str]:
    """Raw tables dlt's schema or resource state claims, that the warehouse lacks."""
    claimed: set[str] = set()
    if pipeline.default_schema_name:
        claimed |= set(pipeline.default_schema.data_table_names())
    resources = pipeline.state.get("sources", {}).get(SOURCE_SECTION, {}).get("resources", {})
    claimed |= {name for name, state in resources.items() if state}
    destination = Destination(pipeline.sql_client())
    return {t for t in claimed & set(TABLES) if not destination.existing_columns(t)}
