"""`zoho_staging.sync_runs`: one row per loader run (the heartbeat dbt's source freshness
reads), written directly with psycopg2, not by dlt: a `running` row when a run starts,
finished with its status, rows per table, API calls, tokens, quota and pending details.
Its columns are declared in loader/zoho/contract/ (SYNC_RUNS)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loader import clock
from loader.names import RAW_SCHEMA
from loader.warehouse import per_day
from loader.warehouse.catalog import organization_filter, table_columns, table_exists
from loader.warehouse.locking import schema_changes
from loader.zoho.constants import STALE_RUN_SECONDS

log = logging.getLogger(__name__)

SYNC_RUNS_DDL = """
create table if not exists {table} (
    run_id text primary key,
    organization_id text,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null,
    resources text,
    rows_loaded jsonb,
    api_calls bigint,
    api_calls_by_endpoint jsonb,
    tokens_minted bigint,
    quota_remaining bigint,
    details_pending bigint,
    error text,
    quarantined bigint,
    quota_limit bigint,
    quota_reset_at timestamptz,
    details_read bigint,
    refreshed text,
    plan jsonb
)
"""
# Columns a `sync_runs` created by an earlier version lacks: `upgrade` adds them, once (a
# table created by this version has them all).
SYNC_RUNS_ADDED = (
    ("quarantined", "bigint"),
    ("quota_limit", "bigint"),
    ("quota_reset_at", "timestamptz"),
    ("details_read", "bigint"),
    ("refreshed", "text"),
    ("plan", "jsonb"),
)


@dataclass
class RunResult:
    run_id: str
    status: str
    exit_code: int
    rows_loaded: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    tokens_minted: int = 0
    quota_remaining: int | None = None
    details_pending: int | None = None
    stopped_by_quota: list[str] = field(default_factory=list)
    quarantined: int = 0
    quota_limit: int | None = None
    quota_reset_at: datetime | None = None
    details_read: int = 0
    refreshed: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    error: str | None = None  # why the run stopped short (quota, budget), as the run log has it


class RunLog:
    """`zoho_staging.sync_runs`: one row per run, the heartbeat dbt's freshness reads."""

    def __init__(self, conn: Any, schema: str = RAW_SCHEMA) -> None:
        self.conn = conn
        self.table = f'"{schema}".sync_runs'
        self.schema = schema

    def _execute(self, sql: str, params: Any = None) -> list[tuple]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def ensure(self) -> None:
        """The table, created complete (in turns with other runs' schema changes); one of an
        earlier version gains its missing columns (`upgrade`: after it, nothing is altered
        again)."""
        with schema_changes(self.conn):
            self._execute(f'create schema if not exists "{self.schema}"')
            self._execute(SYNC_RUNS_DDL.format(table=self.table))
            upgrade(self.conn, self.schema)

    def exists(self) -> bool:
        return table_exists(self.conn, "sync_runs", self.schema)

    def fail_dead_runs(self, organization_id: str, now: datetime | None = None) -> int:
        """Runs still `running` that cannot be: this organization's (we hold its lock, so
        none of them is alive) and anyone's started over an hour ago."""
        now = now or clock.now()
        rows = self._execute(
            f"""
            update {self.table}
            set status = 'failed', finished_at = %s,
                error = coalesce(error, 'the run ended without finishing (killed or crashed)')
            where status = 'running'
              and (organization_id = %s or started_at < %s - %s * interval '1 second')
            returning run_id
            """,
            (now, organization_id, now, STALE_RUN_SECONDS),
        )
        return len(rows)

    def start(
        self,
        run_id: str,
        organization_id: str,
        resources: Iterable[str],
        started_at: datetime | None = None,
    ) -> None:
        """Times come from loader.clock (the run's own start), not PostgreSQL's now(): the
        planner compares them with the clock's present."""
        self._execute(
            f"insert into {self.table} (run_id, organization_id, started_at, status, resources)"
            " values (%s, %s, %s, 'running', %s)",
            (run_id, organization_id, started_at or clock.now(), ",".join(resources)),
        )

    def finish(self, run_id: str, status: str, result: RunResult, error: str | None) -> None:
        self._execute(
            f"""
            update {self.table}
            set finished_at = %s, status = %s, rows_loaded = %s, api_calls = %s,
                api_calls_by_endpoint = %s, tokens_minted = %s, quota_remaining = %s,
                details_pending = %s, error = %s, quarantined = %s, quota_limit = %s,
                quota_reset_at = %s, details_read = %s, refreshed = %s, plan = %s
            where run_id = %s
            """,
            (
                clock.now(),
                status,
                json.dumps(result.rows_loaded),
                result.api_calls,
                json.dumps(result.calls),
                result.tokens_minted,
                result.quota_remaining,
                result.details_pending,
                error,
                result.quarantined,
                result.quota_limit,
                result.quota_reset_at,
                result.details_read,
                ",".join(result.refreshed),
                json.dumps(result.plan) if result.plan is not None else None,
                run_id,
            ),
        )

    def finished_since(self, organization_id: str, since: datetime) -> list[tuple]:
        """The organization's finished runs since `since`, oldest first, as the budget
        planner reads them: (started_at, api_calls, details_read, refreshed, status,
        finished_at, quota_limit, quota_remaining, quota_reset_at)."""
        return self._execute(
            f"""
            select started_at, coalesce(api_calls, 0), coalesce(details_read, 0),
                   coalesce(refreshed, ''), status, finished_at, quota_limit,
                   quota_remaining, quota_reset_at
            from {self.table}
            where organization_id = %s and started_at >= %s and status <> 'running'
            order by started_at
            """,
            (organization_id, since),
        )

    def last_refreshed(self, organization_id: str) -> dict[str, datetime]:
        """When each complete listing (the planner's names) last finished."""
        rows = self._execute(
            f"""
            select name, max(started_at)
            from {self.table}, unnest(string_to_array(refreshed, ',')) as name
            where organization_id = %s and refreshed <> ''
            group by name
            """,
            (organization_id,),
        )
        return {name: at for name, at in rows}

    def load_counts(self, organization_id: str, since: Any) -> dict[str, Any]:
        """Rows written, API calls, quota left and pending details of the loader runs of
        this organization that started at or after `since` (the job's load: it holds the
        lock); empty when none ran."""
        if not self.exists():
            return {}
        runs = self._execute(
            f"""
            select run_id, rows_loaded, api_calls, quota_remaining, details_pending, error
            from {self.table}
            where organization_id = %s and started_at >= %s
            order by started_at
            """,
            (organization_id, since),
        )
        if not runs:
            return {}
        last = runs[-1]
        return {
            "run_ids": [r[0] for r in runs],
            "rows": sum(sum((r[1] or {}).values()) for r in runs),
            "api_calls": sum(r[2] or 0 for r in runs),
            "quota_remaining": last[3],
            "details_pending": last[4],
            "error": last[5],
        }

    def last_success(self) -> datetime | None:
        """When the last successful run finished (any organization); None without one."""
        if not self.exists():
            return None
        rows = self._execute(f"select max(finished_at) from {self.table} where status = 'success'")
        return rows[0][0] if rows else None

    def latest_finished(self) -> dict[str, Any] | None:
        """The quota left and the invoice details pending as the latest finished run saw
        them (health, alerts); None without one."""
        if not self.exists():
            return None
        rows = self._execute(
            f"select quota_remaining, details_pending from {self.table}"
            " where finished_at is not null order by started_at desc limit 1"
        )
        if not rows:
            return None
        return {"quota_remaining": rows[0][0], "details_pending": rows[0][1]}

    def recent(self, limit: int = 10, organization_id: str | None = None) -> list[dict[str, Any]]:
        """The last runs, newest first (of one organization, or all when None)."""
        if not self.exists():
            return []
        mine, params = organization_filter(organization_id)
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"select * from {self.table} where {mine} order by started_at desc limit %s",
                (*params, limit),
            )
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def writing_runs(self) -> int:
        """How many runs wrote rows, or may have: a failed or unfinished run's rows are not
        all counted, so it counts as writing. The job compares this count before and after
        to know whether anything reached the raw tables in between."""
        if not self.exists():
            return 0
        rows = self._execute(
            f"""
            select count(*) from {self.table}
            where status not in ('success', 'quota_exhausted', 'deferred', 'waiting')
               or exists (select 1 from jsonb_each_text(coalesce(rows_loaded, '{{}}'))
                          where value::bigint > 0)
            """
        )
        return int(rows[0][0])


def upgrade(conn: Any, schema: str = RAW_SCHEMA) -> list[str]:
    """The upgrade step of a `sync_runs` created by an earlier version (CHANGELOG,
    "Bookkeeping tables created complete"): add the columns it lacks; returns them. On a
    table that has them all (created by this version, or upgraded once) it only reads the
    catalog: no `alter table`, so no exclusive lock at every run."""
    present = table_columns(conn, "sync_runs", schema)
    missing = [(name, kind) for name, kind in SYNC_RUNS_ADDED if present and name not in present]
    with conn.cursor() as cursor:
        for name, kind in missing:
            cursor.execute(
                f'alter table "{schema}".sync_runs add column if not exists {name} {kind}'
            )
    if missing:
        log.warning(
            "upgraded %s.sync_runs: added %s", schema, ", ".join(name for name, _ in missing)
        )
    return [name for name, _ in missing]


def health_facts(
    conn: Any, schema: str = RAW_SCHEMA, organization_id: str | None = None
) -> dict[str, Any] | None:
    """What the one health (loader/ops/health.py) reads of the loader runs (of one
    organization, or all when None): the end of the last successful run, per resource
    too, and the last finished run's quota left, pending invoice details and the
    planner's expected catch-up time. None without the table."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    table = f'"{schema}".sync_runs'
    mine, params = organization_filter(organization_id)
    with conn.cursor() as cursor:
        cursor.execute(
            f"select resource, max(finished_at) from {table},"
            " unnest(string_to_array(resources, ',')) as resource"
            f" where status = 'success' and {mine} group by resource",
            params,
        )
        by_resource = {name: at for name, at in cursor.fetchall() if name}
        cursor.execute(
            f"select max(finished_at) from {table} where status = 'success' and {mine}", params
        )
        (last_success,) = cursor.fetchone()
        cursor.execute(
            f"select quota_remaining, details_pending, plan ->> 'details_caught_up_at',"
            f" api_calls from {table} where finished_at is not null and {mine}"
            " order by started_at desc limit 1",
            params,
        )
        last = cursor.fetchone()
    quota, pending, caught_up, calls = last if last else (None, None, None, None)
    return {
        "api_calls": calls,
        "last_success_at": last_success,
        "last_success_by_resource": by_resource,
        "quota_remaining": quota,
        "details_pending": pending,
        "details_caught_up_at": datetime.fromisoformat(caught_up) if caught_up else None,
    }


# ----- the report (loader/ops/report/): None without the table -----------------------------
def _rows(conn: Any, sql: str, params: Any = None) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def successful_organizations(conn: Any, schema: str = RAW_SCHEMA) -> list[str]:
    """The organizations a run loaded successfully (none without the table): a warehouse
    of one organization names it here (loader/warehouse/organization_upgrade.py)."""
    if not table_exists(conn, "sync_runs", schema):
        return []
    found = _rows(
        conn,
        f'select distinct organization_id from "{schema}".sync_runs'
        " where status = 'success' and organization_id is not null order by 1",
    )
    return [str(row[0]) for row in found if row[0]]


def latest_organization(conn: Any, schema: str = RAW_SCHEMA) -> str | None:
    """The organization of the latest run; None before the first."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    found = _rows(
        conn, f'select organization_id from "{schema}".sync_runs order by started_at desc limit 1'
    )
    return found[0][0] if found else None


def runs_per_day(conn: Any, tz: str, schema: str = RAW_SCHEMA) -> list[tuple] | None:
    """(day, failed, running, all) runs per day of the organization (time zone `tz`)."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    return per_day.runs_per_day(conn, f'"{schema}".sync_runs', "run_id", tz)


def api_calls_per_day(conn: Any, tz: str, schema: str = RAW_SCHEMA) -> list[tuple] | None:
    """(day, API calls, quota left after the day's last run) per day of the organization."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    table = f'"{schema}".sync_runs'
    return _rows(
        conn,
        f"""
        with days as ({per_day.days_sql(table, "started_at")}),
        runs as (
            select to_char(started_at at time zone %(tz)s, 'YYYY-MM-DD') as day, *
            from {table}
        )
        select days.day,
               coalesce(sum(runs.api_calls), 0),
               (array_agg(runs.quota_remaining order by runs.started_at desc)
                    filter (where runs.quota_remaining is not null))[1]
        from days
        left join runs on days.day = runs.day
        group by days.day
        order by days.day
        """,
        {"tz": tz},
    )


def data_age(conn: Any, schema: str = RAW_SCHEMA) -> dict[str, tuple[datetime, float]] | None:
    """Per resource: the end of the last run that read it to the end (success, or stopped
    by the quota after it), and how many hours ago that was."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    rows = _rows(
        conn,
        f"""
        select resource, max(finished_at),
               extract(epoch from now() - max(finished_at)) / 3600.0
        from "{schema}".sync_runs,
             unnest(string_to_array(resources, ',')) as resource
        where status in ('success', 'quota_exhausted') and finished_at is not null
        group by resource
        """,
    )
    return {resource.strip(): (at, float(hours)) for resource, at, hours in rows}


def latest_errors(conn: Any, limit: int = 10, schema: str = RAW_SCHEMA) -> list[tuple]:
    """(started, status, error) of the latest runs with an error, newest first."""
    if not table_exists(conn, "sync_runs", schema):
        return []
    return _rows(
        conn,
        f'select started_at, status, error from "{schema}".sync_runs'
        " where error is not null order by started_at desc limit %s",
        (limit,),
    )


def last_finished(conn: Any, schema: str = RAW_SCHEMA) -> tuple[datetime, str] | None:
    """(started, status) of the latest finished run; None before the first."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    found = _rows(
        conn,
        f'select started_at, status from "{schema}".sync_runs'
        " where status <> 'running' order by started_at desc limit 1",
    )
    return found[0] if found else None


def purge(conn: Any, days: int, schema: str = RAW_SCHEMA) -> int | None:
    """Retention (loader/ops/retention.py): delete the finished runs started over `days`
    days ago; how many (None without the table). A run still `running` stays."""
    if not table_exists(conn, "sync_runs", schema):
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            f'delete from "{schema}".sync_runs'
            " where started_at < now() - %s * interval '1 day' and status <> 'running'",
            (days,),
        )
        return int(cursor.rowcount)
