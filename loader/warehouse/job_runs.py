"""`zoho_staging.job_runs`: one row per job (`python -m loader.job`), with its steps.

A row is written `running` when the job has its lock and finished with the job's status,
exit code, the step that failed and its first error line. `steps` holds one object per
step (load, dbt_build, snapshots, freshness): status, seconds, exit code, counts and error.
The counts come from the loader's `sync_runs` rows of the job and from dbt's own artifacts
(`run_results.json` of the build, `sources.json` of the freshness check).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loader.names import RAW_SCHEMA

SCHEMA = RAW_SCHEMA
TABLE = f"{SCHEMA}.job_runs"
STEPS = ("load", "dbt_build", "snapshots", "freshness")

JOB_RUNS_DDL = f"""
create table if not exists {TABLE} (
    job_id text primary key,
    organization_id text,
    warehouse text,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null,
    exit_code integer,
    failed_step text,
    error text,
    steps jsonb not null default '{{}}'
);
create index if not exists job_runs__started_at on {TABLE} (started_at)
"""


@dataclass
class Step:
    """One step of a job. status: ok, warn (dbt warnings, stale-ish sources),
    quota_exhausted (load), failed, skipped, unchanged (dbt build and snapshots not run:
    nothing reached the raw tables since the last build)."""

    name: str
    status: str = "skipped"
    seconds: float = 0.0
    exit_code: int | None = None
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        return data


def first_line(text: str | None, limit: int = 500) -> str | None:
    if not text or not text.strip():
        return None
    return text.strip().splitlines()[0].strip()[:limit]


# ----- dbt artifacts -----------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def build_outcome(run_results: Path) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(build counts, snapshot counts, first error) from a `dbt build`'s run_results.json.

    Build counts: models (and seeds) by status, tests passed / warned / failed (dbt's `fail`
    and `error` of a test both count as failed); snapshot counts by status. The first error
    names the node and the first line of dbt's message."""
    data = _read_json(run_results)
    if data is None:
        return {}, {}, None
    nodes: Counter[str] = Counter()
    tests: Counter[str] = Counter()
    snapshots: Counter[str] = Counter()
    snapshot_seconds = 0.0
    error = None
    for result in data.get("results", []):
        kind, status = result["unique_id"].split(".", 1)[0], result["status"]
        if kind == "test":
            tests[{"pass": "passed", "warn": "warned"}.get(status, status)] += 1
        elif kind == "snapshot":
            snapshots[status] += 1
            snapshot_seconds += result.get("execution_time") or 0.0
        else:
            nodes[status] += 1
        if status in ("error", "fail") and error is None:
            name = result["unique_id"].split(".", 2)[-1]
            error = f"{kind} {name}: {first_line(result.get('message')) or status}"
    counts = {
        "models_ok": nodes["success"],
        "models_failed": nodes["error"],
        "skipped": nodes["skipped"] + tests["skipped"] + snapshots["skipped"],
        "tests_passed": tests["passed"],
        "tests_warned": tests["warned"],
        "tests_failed": tests["fail"] + tests["error"],
    }
    snapshot_counts = {
        "snapshots_ok": snapshots["success"],
        "snapshots_failed": snapshots["error"],
        "seconds": round(snapshot_seconds, 2),
    }
    return counts, snapshot_counts, error


# ----- the table ---------------------------------------------------------------------------
class JobLog:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def _execute(self, sql: str, params: Any = None) -> list[tuple]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def ensure(self) -> None:
        self._execute(f"create schema if not exists {SCHEMA}")
        self._execute(JOB_RUNS_DDL)

    def fail_dead_jobs(self, organization_id: str) -> int:
        """Jobs of this organization still `running`: we hold the lock, so they died."""
        return len(
            self._execute(
                f"update {TABLE} set status = 'failed', finished_at = now(),"
                " error = coalesce(error, 'the job ended without finishing (killed or crashed)')"
                " where status = 'running' and organization_id = %s returning job_id",
                (organization_id,),
            )
        )

    def start(self, job_id: str, organization_id: str, warehouse: str) -> Any:
        """Write the job's `running` row; returns its started_at (the database's clock)."""
        return self._execute(
            f"insert into {TABLE} (job_id, organization_id, warehouse, started_at, status)"
            " values (%s, %s, %s, now(), 'running') returning started_at",
            (job_id, organization_id, warehouse),
        )[0][0]

    def record_step(self, job_id: str, step: Step) -> None:
        self._execute(
            f"update {TABLE} set steps = steps || jsonb_build_object(%s, %s::jsonb)"
            " where job_id = %s",
            (step.name, json.dumps(step.as_json()), job_id),
        )

    def finish(
        self, job_id: str, status: str, exit_code: int, failed: Step | None, error: str | None
    ) -> None:
        self._execute(
            f"update {TABLE} set finished_at = now(), status = %s, exit_code = %s,"
            " failed_step = %s, error = %s where job_id = %s",
            (status, exit_code, failed.name if failed else None, error, job_id),
        )

    def last_build(self, job_id: str) -> tuple[str, dict[str, Any]] | None:
        """(job id, its dbt_build step) of the newest job before `job_id` that built the
        marts or found them unchanged, or whose build failed: what the marts are now."""
        rows = self._execute(
            f"select job_id, steps -> 'dbt_build' from {TABLE}"
            " where job_id <> %s"
            " and steps -> 'dbt_build' ->> 'status' in ('ok', 'warn', 'failed', 'unchanged')"
            " order by started_at desc limit 1",
            (job_id,),
        )
        return (rows[0][0], rows[0][1]) if rows else None

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last jobs, newest first (none when no job ran on this warehouse yet)."""
        if not self._execute("select to_regclass(%s)", (TABLE,))[0][0]:
            return []
        with self.conn.cursor() as cursor:
            cursor.execute(f"select * from {TABLE} order by started_at desc limit %s", (limit,))
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def load_counts(conn: Any, organization_id: str, since: Any) -> dict[str, Any]:
    """Rows written, API calls, quota left and pending details of the loader runs of this
    organization that started at or after `since` (the job's load: it holds the lock)."""
    with conn.cursor() as cursor:
        cursor.execute("select to_regclass('zoho_staging.sync_runs')")
        if cursor.fetchone()[0] is None:
            return {}
        cursor.execute(
            """
            select run_id, rows_loaded, api_calls, quota_remaining, details_pending, error
            from zoho_staging.sync_runs
            where organization_id = %s and started_at >= %s
            order by started_at
            """,
            (organization_id, since),
        )
        runs = cursor.fetchall()
    if not runs:
        return {}
    rows = sum(sum((r[1] or {}).values()) for r in runs)
    last = runs[-1]
    return {
        "run_ids": [r[0] for r in runs],
        "rows": rows,
        "api_calls": sum(r[2] or 0 for r in runs),
        "quota_remaining": last[3],
        "details_pending": last[4],
        "error": last[5],
    }
