"""Each bookkeeping table is queried through its owner in loader/warehouse/: what the
health check, the alerts, the job and the planner read from sync_runs, job_runs and
webhook_events, on a warehouse with and without those tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from loader.warehouse.catalog import table_columns, table_exists
from loader.warehouse.job_runs import JobLog, Step
from loader.warehouse.sync_runs import SYNC_RUNS_ADDED, RunLog, RunResult, upgrade
from loader.warehouse.webhook_events import modules_applied_since
from tests.integration.conftest import connect


@pytest.fixture
def conn(pg_env):
    connection = connect(pg_env)
    with connection.cursor() as cur:
        cur.execute("drop schema if exists zoho_staging cascade")
    yield connection
    connection.close()


def test_a_warehouse_without_bookkeeping_reads_as_nothing_happened_yet(conn):
    since = datetime.now(timezone.utc) - timedelta(days=1)
    assert not table_exists(conn, "sync_runs")
    assert table_columns(conn, "sync_runs") == {}
    assert RunLog(conn).last_success() is None
    assert RunLog(conn).latest_finished() is None
    assert RunLog(conn).load_counts("org", since) == {}
    assert JobLog(conn).last_finished() is None
    assert JobLog(conn).last_success_by_step() == {}
    assert modules_applied_since(conn, since) == frozenset()


def test_the_run_log_answers_the_health_the_job_and_the_planner(conn):
    log = RunLog(conn)
    log.ensure()
    assert table_exists(conn, "sync_runs")
    assert table_columns(conn, "sync_runs")["started_at"] == "timestamp with time zone"
    before = datetime.now(timezone.utc) - timedelta(minutes=1)
    run_id = "run-1"
    log.start(run_id, "org", ["items", "invoices"])
    result = RunResult(
        run_id,
        "success",
        0,
        rows_loaded={"items": 3, "invoices": 2},
        api_calls=5,
        quota_remaining=900,
        refreshed=["items"],
    )
    log.finish(run_id, "success", result, None)

    assert log.last_success() is not None and log.last_success() >= before
    assert log.latest_finished() == {"quota_remaining": 900, "details_pending": None}
    counts = log.load_counts("org", before)
    assert (counts["rows"], counts["api_calls"], counts["run_ids"]) == (5, 5, [run_id])
    assert [row[1] for row in log.finished_since("org", before)] == [5]
    assert set(log.last_refreshed("org")) == {"items"}
    assert log.load_counts("another org", before) == {}


def test_the_job_log_answers_the_last_job_and_each_steps_last_success(conn):
    log = JobLog(conn)
    log.ensure()
    log.start("job-1", "org", "test")
    log.record_step("job-1", Step("load", "ok"))
    failed = Step("dbt_build", "failed", error="model invoices: relation missing")
    log.record_step("job-1", failed)
    log.finish("job-1", "failed", 10, failed, failed.error)

    last = JobLog(conn).last_finished()
    assert last is not None
    assert (last["job_id"], last["status"], last["failed_step"]) == ("job-1", "failed", "dbt_build")
    assert set(JobLog(conn).last_success_by_step()) == {"load"}


def test_a_sync_runs_of_an_earlier_version_gains_its_columns_once_and_keeps_its_rows(conn):
    with conn.cursor() as cur:
        cur.execute("create schema zoho_staging")
        cur.execute(  # the table's first version: none of SYNC_RUNS_ADDED
            "create table zoho_staging.sync_runs (run_id text primary key,"
            " organization_id text, started_at timestamptz not null, finished_at timestamptz,"
            " status text not null, resources text, rows_loaded jsonb, api_calls bigint,"
            " api_calls_by_endpoint jsonb, tokens_minted bigint, quota_remaining bigint,"
            " details_pending bigint, error text)"
        )
        cur.execute(
            "insert into zoho_staging.sync_runs (run_id, organization_id, started_at, status,"
            " api_calls) values ('old', 'org', now(), 'success', 7)"
        )

    assert upgrade(conn) == [name for name, _ in SYNC_RUNS_ADDED]
    assert upgrade(conn) == []  # once
    assert set(table_columns(conn, "sync_runs")) >= {"plan", "details_read", "quarantined"}
    assert [
        row[1]
        for row in RunLog(conn).finished_since("org", datetime(2000, 1, 1, tzinfo=timezone.utc))
    ] == [7]


def test_a_run_does_not_wait_for_a_reader_of_its_run_log(conn, pg_env):
    """The table is created complete: a run's `ensure` alters nothing, so a report or a
    health check reading sync_runs in an open transaction does not hold the run up."""
    RunLog(conn).ensure()
    reader = connect(pg_env)
    reader.autocommit = False
    try:
        with reader.cursor() as cur:
            cur.execute("select count(*) from zoho_staging.sync_runs")  # holds its lock
        with conn.cursor() as cur:
            cur.execute("set lock_timeout = '2s'")
        RunLog(conn).ensure()
        RunLog(conn).start("run-2", "org", ["items"])
    finally:
        reader.rollback()
        reader.close()


def test_two_first_runs_create_the_run_log_in_turns_not_at_once(conn, pg_env):
    """Two organizations' first runs start together: `create table if not exists` twice at
    once fails in PostgreSQL's catalog, so the second waits for the first's schema change."""
    import threading

    from loader.warehouse.locking import SCHEMA_LOCK_KEY, schema_changes

    conn.autocommit = True
    other = connect(pg_env)
    other.autocommit = True
    finished = threading.Event()

    def second_run() -> None:
        RunLog(other).ensure()
        finished.set()

    try:
        with schema_changes(conn):
            thread = threading.Thread(target=second_run)
            thread.start()
            with conn.cursor() as cur:  # the second run waits on the lock, table not made
                for _ in range(100):
                    cur.execute(
                        "select count(*) from pg_locks where locktype = 'advisory'"
                        " and not granted and objid = %s",
                        (SCHEMA_LOCK_KEY & 0xFFFFFFFF,),
                    )
                    if cur.fetchone()[0]:
                        break
                    finished.wait(0.05)
                else:
                    pytest.fail("the second run never waited for the schema lock")
            assert not finished.is_set()
            RunLog(conn).ensure()  # the first run makes the table meanwhile
        thread.join(30)
        assert finished.is_set()  # and the second finds it, without an error
        assert table_exists(conn, "sync_runs")
    finally:
        other.close()
