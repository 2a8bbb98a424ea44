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

from loader.errors import one_line
from loader.names import RAW_SCHEMA
from loader.warehouse import per_day
from loader.warehouse.catalog import organization_filter, table_exists
from loader.warehouse.locking import schema_changes

TABLE = f"{RAW_SCHEMA}.job_runs"
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
            error = f"{kind} {name}: {one_line(result.get('message')) or status}"
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
        with schema_changes(self.conn):
            self._execute(f"create schema if not exists {RAW_SCHEMA}")
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

    def last_success_by_step(self) -> dict[str, Any]:
        """When each step (load, dbt_build, ...) last finished `ok` or `warn`."""
        if not table_exists(self.conn, "job_runs"):
            return {}
        rows = self._execute(
            f"select key, max(j.finished_at) from {TABLE} as j, jsonb_each(j.steps)"
            " where value ->> 'status' in ('ok', 'warn') group by key"
        )
        return {step: finished for step, finished in rows}

    def last_finished(self) -> dict[str, Any] | None:
        """The latest job that is not running (health, alerts, report); None without one."""
        if not table_exists(self.conn, "job_runs"):
            return None
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"select * from {TABLE} where status <> 'running' order by started_at desc limit 1"
            )
            names = [d.name for d in cursor.description]
            row = cursor.fetchone()
        return None if row is None else dict(zip(names, row, strict=True))

    def recent(self, limit: int = 10, organization_id: str | None = None) -> list[dict[str, Any]]:
        """The last jobs, newest first (none when no job ran on this warehouse yet), of
        one organization or all when None."""
        if not table_exists(self.conn, "job_runs"):
            return []
        mine, params = organization_filter(organization_id)
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"select * from {TABLE} where {mine} order by started_at desc limit %s",
                (*params, limit),
            )
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def health_facts(conn: Any, organization_id: str | None = None) -> dict[str, Any] | None:
    """What the one health (loader/ops/health.py) reads of the jobs (of one organization,
    or all when None): the end of the last job whose step was `ok` or `warn`, per step,
    and the last finished job (its dbt build's failing tests included). None without the
    table."""
    if not table_exists(conn, "job_runs"):
        return None
    mine, params = organization_filter(organization_id)
    with conn.cursor() as cursor:
        cursor.execute(
            f"select step.key, max(job.finished_at) from {TABLE} as job,"
            " jsonb_each(job.steps) as step"
            " where job.finished_at is not null and step.value ->> 'status' in ('ok', 'warn')"
            f" and {mine} group by step.key",
            params,
        )
        steps = dict(cursor.fetchall())
        cursor.execute(
            f"select job_id, status, exit_code, finished_at, failed_step, error, steps"
            f" from {TABLE} where status <> 'running' and {mine}"
            " order by started_at desc limit 1",
            params,
        )
        row = cursor.fetchone()
    last = None
    if row:
        job_id, status, code, finished, step, error, job_steps = row
        build = (job_steps or {}).get("dbt_build") or {}
        failing = None
        if build.get("status") not in (None, "skipped"):
            failing = (build.get("counts") or {}).get("tests_failed")
        last = {
            "job_id": job_id,
            "status": status,
            "exit_code": code,
            "finished_at": finished,
            "failed_step": step,
            "error": error,
            "tests_failed": failing,
        }
    return {"last_success_by_step": steps, "last_job": last}


# ----- the report (loader/ops/report/) ------------------------------------------------------
def runs_per_day(conn: Any, tz: str) -> list[tuple] | None:
    """(day, failed, running, all) jobs per day of the organization (time zone `tz`); None
    before the first job."""
    if not table_exists(conn, "job_runs"):
        return None
    return per_day.runs_per_day(conn, TABLE, "job_id", tz)


def latest(conn: Any, limit: int = 10) -> list[tuple]:
    """(started, status, exit code, failed step, error) of the latest jobs, newest first."""
    if not table_exists(conn, "job_runs"):
        return []
    with conn.cursor() as cursor:
        cursor.execute(
            f"select started_at, status, exit_code, failed_step, error from {TABLE}"
            " order by started_at desc limit %s",
            (limit,),
        )
        return cursor.fetchall()


def purge(conn: Any, days: int) -> int | None:
    """Retention (loader/ops/retention.py): delete the finished jobs started over `days`
    days ago; how many (None without the table). A job still `running` stays."""
    if not table_exists(conn, "job_runs"):
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            f"delete from {TABLE}"
            " where started_at < now() - %s * interval '1 day' and status <> 'running'",
            (days,),
        )
        return int(cursor.rowcount)


def job_record(conn: Any, job_id: str) -> dict[str, Any] | None:
    """One job's row as `GET /sync/{job_id}` answers it (times as ISO text); None when
    there is no such job (yet)."""
    if not table_exists(conn, "job_runs"):
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            "select job_id, organization_id, status, exit_code, started_at, finished_at,"
            f" failed_step, error from {TABLE} where job_id = %s",
            (job_id,),
        )
        names = [d.name for d in cursor.description]
        row = cursor.fetchone()
    if row is None:
        return None
    values = row.values() if isinstance(row, dict) else row
    return {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in zip(names, values, strict=True)
    }
