"""Retention: old bookkeeping goes, raw data and the state dlt restores from stay.

dlt's own tables come from a real (tiny) dlt pipeline on the test database, so the test
proves what matters: after the purge a pipeline with no local state still restores its
newest state from the warehouse (dlt's `sync_destination`)."""

from __future__ import annotations

import dlt

from loader import warehouse
from loader.ops.alerts import AlertSettings, job_conditions, notify_changes
from loader.ops.retention import purge
from loader.warehouse.job_runs import JobLog
from loader.warehouse.sync_runs import RunLog
from tests.integration.conftest import connect


def tiny_pipeline(pg_env, pipelines_dir) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name="retention_probe",
        destination=dlt.destinations.postgres(warehouse.dlt_credentials(pg_env)),
        dataset_name="zoho_staging",
        pipelines_dir=str(pipelines_dir),
    )


@dlt.resource(name="items", primary_key="item_id", write_disposition="merge")
def items(batch: int):
    dlt.current.resource_state()["last_batch"] = batch
    yield {"item_id": str(batch), "name": f"item {batch}"}


def test_old_bookkeeping_is_deleted_and_raw_data_and_dlt_state_are_kept(pg_env, tmp_path):
    conn = connect(pg_env)
    with conn.cursor() as cur:
        cur.execute("drop schema if exists zoho_staging cascade")
    pipeline = tiny_pipeline(pg_env, tmp_path / "a")
    for batch in (1, 2, 3):
        pipeline.run(items(batch))
    RunLog(conn).ensure()
    jobs = JobLog(conn)
    jobs.ensure()
    for job_id in ("old", "new"):
        jobs.start(job_id, "org", "test")
        jobs.finish(job_id, "success", 0, None, None)
    jobs.start("old-running", "org", "test")
    notify_changes(conn, job_conditions("failed", "load", "x"), AlertSettings(command="cat"))
    with conn.cursor() as cur:
        cur.execute(
            "insert into zoho_staging.sync_runs (run_id, started_at, status) values"
            " ('old', now() - interval '100 days', 'success'), ('new', now(), 'success');"
            " update zoho_staging.job_runs set started_at = now() - interval '100 days'"
            "  where job_id like 'old%';"
            " update zoho_staging.alert_log set sent_at = now() - interval '100 days';"
            " update zoho_staging._dlt_loads set inserted_at = now() - interval '100 days';"
            " create table zoho_staging.webhook_events (received_at timestamptz, status text);"
            " insert into zoho_staging.webhook_events values"
            "  (now() - interval '100 days', 'applied'), (now() - interval '100 days', 'dead'),"
            "  (now() - interval '100 days', 'pending'), (now(), 'applied');"
        )

    deleted = purge(conn, days=90)

    def rows(sql):
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    assert deleted["_dlt_loads"] == 2 and deleted["_dlt_pipeline_state"] == 2
    assert rows("select job_id from zoho_staging.job_runs order by 1") == [
        ("new",),
        ("old-running",),
    ]
    assert rows("select run_id from zoho_staging.sync_runs") == [("new",)]
    assert rows("select count(*) from zoho_staging.alert_log") == [(0,)]
    assert rows("select status from zoho_staging.webhook_events order by 1") == [
        ("applied",),
        ("dead",),
        ("pending",),
    ]
    assert rows("select item_id from zoho_staging.items order by 1") == [("1",), ("2",), ("3",)]
    conn.close()

    restored = tiny_pipeline(pg_env, tmp_path / "b")  # no local state: restored from the warehouse
    restored.sync_destination()
    state = restored.state["sources"]["retention_probe"]["resources"]["items"]
    assert state["last_batch"] == 3
