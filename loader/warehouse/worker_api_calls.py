"""`zoho_staging.worker_api_calls`: the Zoho API calls the webhook worker makes (one GET
completes an event for a record never listed, or a payload that lacks fields), per
organization and minute, with the time of the minute's last call. Zoho's daily quota counts
them like a run's: the budget planner reads them beside the runs' calls in `sync_runs`
(loader/run/budget/inputs.py), so the day's plan leaves them out of what the runs may still
spend. Times come from the loader's clock (loader/clock.py), as the runs' do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loader import clock
from loader.names import RAW_SCHEMA
from loader.warehouse.catalog import table_exists
from loader.warehouse.locking import schema_changes

TABLE = f"{RAW_SCHEMA}.worker_api_calls"

DDL = f"""
create table if not exists {TABLE} (
    organization_id text not null,
    minute timestamptz not null,
    calls bigint not null,
    last_at timestamptz not null,
    primary key (organization_id, minute)
)
"""


def record(conn: Any, organization_id: str, calls: int, at: datetime | None = None) -> None:
    """Add `calls` made now (or `at`) for `organization_id`, creating the table on first use."""
    at = at or clock.now()
    minute = at.replace(second=0, microsecond=0)
    if not table_exists(conn, "worker_api_calls"):
        # in turns with other processes' schema changes (loader/warehouse/locking.py)
        with schema_changes(conn), conn.cursor() as cursor:
            cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
            cursor.execute(DDL)
    with conn.cursor() as cursor:
        cursor.execute(
            f"insert into {TABLE} (organization_id, minute, calls, last_at)"
            " values (%s, %s, %s, %s)"
            " on conflict (organization_id, minute) do update"
            f" set calls = {TABLE}.calls + excluded.calls,"
            f" last_at = greatest({TABLE}.last_at, excluded.last_at)",
            (organization_id, minute, calls, at),
        )


def since(conn: Any, organization_id: str, start: datetime) -> list[tuple[datetime, int]]:
    """(when, calls) of the organization's calls from `start`, oldest first, `when` the
    last call of its minute: a minute a quota day starts in counts in that day whole (the
    planner may count a few calls too many, never too few); none before the worker ever
    made one."""
    if not table_exists(conn, "worker_api_calls"):
        return []
    with conn.cursor() as cursor:
        cursor.execute(
            f"select last_at, calls from {TABLE}"
            " where organization_id = %s and last_at >= %s order by minute",
            (organization_id, start),
        )
        return [(at, int(calls)) for at, calls in cursor.fetchall()]


def purge(conn: Any, days: int) -> int | None:
    """Retention (loader/ops/retention.py): delete the minutes over `days` days old; how
    many (None without the table)."""
    if not table_exists(conn, "worker_api_calls"):
        return None
    with conn.cursor() as cursor:
        cursor.execute(f"delete from {TABLE} where minute < now() - %s * interval '1 day'", (days,))
        return int(cursor.rowcount)
