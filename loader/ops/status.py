"""`python -m loader status [--org ID]`: which warehouse, its last jobs and runs, cursors
and pending invoice details, read without calling Zoho or writing anything; each
organization's own (its runs, jobs, dlt pipeline's cursors and rows), every configured
one by default."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt

from loader import warehouse
from loader.run.dlt_state import make_pipeline
from loader.run.pipeline import RunOptions, connect
from loader.warehouse.job_runs import JobLog
from loader.warehouse.sync_runs import RunLog
from loader.zoho.constants import SOURCE_SECTION
from loader.zoho.modules import MODULES
from loader.zoho.organizations import Organization
from loader.zoho.stored import Destination

log = logging.getLogger(__name__)

# Resources whose dlt state is a cursor or a freshness stamp (shown by `status`): the
# modules not listed completely (loader/zoho/modules.py).
STATEFUL_RESOURCES = tuple(m.name for m in MODULES if m.refresh != "cadence")


@dataclass
class StatusReport:
    warehouse: str
    jobs: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    cursors: dict[str, Any]
    details_pending: int | None
    retention_days: int  # RETENTION_DAYS in force (the job prunes bookkeeping older)


def read_status(
    options: RunOptions, limit: int = 10, organization: Organization | None = None
) -> StatusReport:
    """Which warehouse, its last jobs and loader runs, cursors and pending details (of
    `organization`; None: the warehouse's, the default pipeline), without calling Zoho
    or writing anything: dlt's state is read from the warehouse into a scratch
    directory, never into the runs' working directory. An invalid RETENTION_DAYS is a
    ConfigError (exit 2) naming it."""
    from loader.ops.retention import retention_days_from_config

    retention_days = retention_days_from_config()
    pg = warehouse.connection_env()
    conn = connect(pg)
    try:
        org_id = None if organization is None else organization.key
        runs = RunLog(conn).recent(limit, org_id)
        jobs = JobLog(conn).recent(limit, org_id)
    finally:
        conn.close()
    cursors: dict[str, Any] = {}
    pending: int | None = None
    with tempfile.TemporaryDirectory(prefix="zoho-books-status-") as scratch:
        pipeline = (
            make_pipeline(pg, Path(scratch))
            if organization is None
            else make_pipeline(pg, Path(scratch), organization.pipeline_name)
        )
        try:
            pipeline.sync_destination()
            source_state = pipeline.state.get("sources", {}).get(SOURCE_SECTION, {})
            for name in STATEFUL_RESOURCES:
                state = dlt.current.resource_state(name, source_state)
                if "last_modified_time" in state:
                    cursors[f"{name}.last_modified_time"] = state["last_modified_time"]
                if "fetched_at" in state:
                    cursors[f"{name}.fetched_at"] = datetime.fromtimestamp(
                        float(state["fetched_at"]), timezone.utc
                    )
            pending = Destination(
                pipeline.sql_client(), None if organization is None else organization.key
            ).count_pending_details()
        except Exception as exc:  # a warehouse without loads yet: report what there is
            log.debug("no pipeline state yet: %s", exc)
    return StatusReport(
        warehouse=warehouse.describe(pg),
        jobs=jobs,
        runs=runs,
        cursors=cursors,
        details_pending=pending,
        retention_days=retention_days,
    )
