"""Retention: bookkeeping older than RETENTION_DAYS (default 90) is deleted by the job.

Deleted: job records (job_runs), loader run logs (sync_runs), alert history (alert_log),
the webhook worker's API calls per minute (worker_api_calls), webhook events already
handled (applied, ignored, discarded, rejected, malformed), and dlt's load records
(`_dlt_loads`) with the pipeline-state rows they carry, except the newest state of each
pipeline: dlt restores its state from the newest `_dlt_pipeline_state` row whose load is
in `_dlt_loads` with status 0 (dlt 1.31, `get_stored_state`), so that row and its load
always stay.

Never touched: raw tables, snapshots, marts, `_dlt_version` (dlt's stored schemas), rows
still `running`, webhook events still pending, dead letters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loader.names import RAW_SCHEMA
from loader.warehouse import (
    alert_state,
    job_runs,
    sync_runs,
    webhook_events,
    worker_api_calls,
)
from loader.warehouse.catalog import table_columns, table_exists

DEFAULT_RETENTION_DAYS = 90
SCHEMA = RAW_SCHEMA


# Each bookkeeping table's purge, by its owner: (days) -> rows deleted, None without the table.
BOOKKEEPING: dict[str, Callable[[Any, int], int | None]] = {
    "job_runs": job_runs.purge,
    "sync_runs": sync_runs.purge,
    "alert_log": alert_state.purge,
    "webhook_events": webhook_events.purge,
    "worker_api_calls": worker_api_calls.purge,
}


def retention_days_from_config() -> int:
    """RETENTION_DAYS (environment or .dlt/config.toml), a whole number of days >= 1."""
    import dlt

    from loader.errors import ConfigError

    value: Any = dlt.config.get("retention_days")
    if value in (None, ""):
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = 0
    if days < 1:
        raise ConfigError(
            f"RETENTION_DAYS={str(value)[:20]!r} is not a whole number of days, at least 1: "
            "set it to e.g. 90, or unset it for the default of 90"
        )
    return days


def describe(days: int, deleted: dict[str, int]) -> str:
    """What a purge did, for the job's summary line."""
    pruned = {table: n for table, n in deleted.items() if n}
    if not pruned:
        return f"retention {days} days: nothing to prune"
    total = sum(pruned.values())
    parts = ", ".join(f"{table} {n:,}" for table, n in pruned.items())
    return f"retention {days} days: pruned {total:,} row(s) ({parts})"


def _columns(conn: Any, table: str) -> set[str]:
    return set(table_columns(conn, table, SCHEMA))


def purge(conn: Any, days: int = DEFAULT_RETENTION_DAYS) -> dict[str, int]:
    """Delete bookkeeping older than `days`; rows deleted per table (tables that do not
    exist are skipped)."""
    deleted: dict[str, int] = {}
    cutoff = "now() - %s * interval '1 day'"
    for table, prune in BOOKKEEPING.items():
        count = prune(conn, days)
        if count is not None:
            deleted[table] = count
    with conn.cursor() as cursor:
        if {"load_id", "inserted_at", "status"} <= _columns(conn, "_dlt_loads"):
            deleted.update(_purge_dlt_loads(cursor, days, cutoff))
    return deleted


def _purge_dlt_loads(cursor: Any, days: int, cutoff: str) -> dict[str, int]:
    deleted: dict[str, int] = {}
    state = f"{SCHEMA}._dlt_pipeline_state"
    loads = f"{SCHEMA}._dlt_loads"
    if table_exists(cursor.connection, "_dlt_pipeline_state", SCHEMA):
        # the state dlt would restore: per pipeline, the newest row of a completed load
        cursor.execute(
            f"""
            with newest as (
                select distinct on (s.pipeline_name) s.pipeline_name, s._dlt_load_id
                from {state} as s
                join {loads} as l on l.load_id = s._dlt_load_id and l.status = 0
                order by s.pipeline_name, l.load_id desc
            )
            delete from {state} as s
            using {loads} as l
            where l.load_id = s._dlt_load_id
              and l.inserted_at < {cutoff}
              and s._dlt_load_id not in (select _dlt_load_id from newest)
            """,
            (days,),
        )
        deleted["_dlt_pipeline_state"] = cursor.rowcount
        keep = f"and not exists (select 1 from {state} as s where s._dlt_load_id = load_id)"
    else:
        keep = ""
    cursor.execute(f"delete from {loads} where inserted_at < {cutoff} {keep}", (days,))
    deleted["_dlt_loads"] = cursor.rowcount
    return deleted
