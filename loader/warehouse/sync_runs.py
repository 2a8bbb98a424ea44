"""`zoho_staging.sync_runs`: one row per loader run (the heartbeat dbt's source freshness
reads), written directly with psycopg2, not by dlt: a `running` row when a run starts,
finished with its status, rows per table, API calls, tokens, quota and pending details.
Its columns are declared in loader/zoho/contract/ (SYNC_RUNS)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loader import clock
from loader.errors import find_loader_error
from loader.names import RAW_SCHEMA
from loader.zoho.constants import STALE_RUN_SECONDS

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
# Columns added after the table's first version, for warehouses created before them.
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


def one_line(exc: BaseException) -> str:
    """An error for the run log: the loader's own message, else the innermost cause (dlt
    wraps failures in "Pipeline execution failed at step=..." envelopes)."""
    found = find_loader_error(exc)
    if found is not None:
        text = str(found)
    else:
        inner = exc
        while inner.__cause__ is not None:
            inner = inner.__cause__
        text = f"{type(inner).__name__}: {inner}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:1000]


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
        self._execute(f'create schema if not exists "{self.schema}"')
        self._execute(SYNC_RUNS_DDL.format(table=self.table))
        for name, kind in SYNC_RUNS_ADDED:
            self._execute(f"alter table {self.table} add column if not exists {name} {kind}")

    def exists(self) -> bool:
        rows = self._execute("select to_regclass(%s)", (self.table,))
        return bool(rows and rows[0][0])

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

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"select * from {self.table} order by started_at desc limit %s", (limit,)
            )
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def last_success(self) -> datetime | None:
        """When the last successful run finished: the heartbeat dbt's source freshness
        measures (its `loaded_at_query` in the sources YAML is this query)."""
        if not self.exists():
            return None
        rows = self._execute(f"select max(finished_at) from {self.table} where status = 'success'")
        value = rows[0][0] if rows else None
        return value if isinstance(value, datetime) else None

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
