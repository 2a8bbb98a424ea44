"""`python -m loader health`: one line and the Nagios exit code, from the warehouse's own
records (sync_runs, job_runs, webhook_events)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import connect

from loader.ops.health import health_report
from loader.warehouse.job_runs import JobLog, Step
from loader.warehouse.sync_runs import RunLog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def conn(pg_env):
    connection = connect(pg_env)
    with connection.cursor() as cur:
        cur.execute("drop schema if exists zoho_staging cascade")
    RunLog(connection).ensure()
    JobLog(connection).ensure()
    yield connection
    connection.close()


def add_load(conn, status: str, hours_ago: float, quota: int = 9000, pending: int = 0) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "insert into zoho_staging.sync_runs (run_id, organization_id, started_at,"
            " finished_at, status, quota_remaining, details_pending)"
            " values (gen_random_uuid()::text, 'org', now() - %s * interval '1 hour',"
            " now() - %s * interval '1 hour', %s, %s, %s)",
            (hours_ago, hours_ago, status, quota, pending),
        )


def add_job(conn, status: str, failed: Step | None = None, tests_failed: int = 0) -> None:
    log = JobLog(conn)
    job_id = f"job-{os.urandom(4).hex()}"
    log.start(job_id, "org", "test")
    log.record_step(job_id, Step("load", "ok"))
    log.record_step(
        job_id,
        Step(
            "dbt_build", "failed" if tests_failed else "ok", counts={"tests_failed": tests_failed}
        ),
    )
    log.finish(job_id, status, 10 if failed else 0, failed, failed.error if failed else None)


def health(pg_env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loader", "health", *args],
        env={**os.environ, **pg_env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_fresh_data_and_a_good_job_are_ok_in_one_line(conn, pg_env):
    add_load(conn, "success", 0.2, quota=9123, pending=4)
    add_job(conn, "success")

    result = health(pg_env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ZOHO_BOOKS OK - data 12 min old; last job success;")
    assert "quota left 9123" in result.stdout and "details pending 4" in result.stdout
    assert len(result.stdout.splitlines()) == 1


def test_failing_tests_are_a_warning_and_json_lists_the_last_success_per_step(conn, pg_env):
    add_load(conn, "success", 0.1)
    add_job(conn, "success")
    add_job(conn, "failed", Step("dbt_build", "failed", error="test x failed"), tests_failed=2)

    result = health(pg_env, "--json")

    report = json.loads(result.stdout)
    assert (result.returncode, report["status"]) == (1, "WARNING")
    assert report["problems"] == [
        "last job failed at dbt_build: test x failed",
        "2 dbt test(s) failing",
    ]
    assert report["tests_failed"] == 2
    assert set(report["last_success"]) == {"load", "dbt_build"}


def test_data_older_than_a_day_is_critical_and_no_load_ever_too(conn):
    assert health_report(conn)["problems"] == ["no successful load yet"]
    add_load(conn, "success", 30)
    add_load(conn, "failed", 0.1)

    report = health_report(conn)

    assert (report["status"], report["exit_code"]) == ("CRITICAL", 2)
    assert report["problems"] == ["data 30.0 h old (over 26 h)"]


def test_an_unreachable_warehouse_is_critical_in_one_line(pg_env):
    result = health({**pg_env, "PGHOST": "127.0.0.1", "PGPORT": "9", "PGUSER": "x"})

    assert result.returncode == 2
    assert result.stdout.startswith("ZOHO_BOOKS CRITICAL - warehouse unreachable: ")
    assert "refuses connections" in result.stdout and len(result.stdout.splitlines()) == 1
