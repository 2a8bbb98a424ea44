"""`python -m loader health`: one line and the Nagios exit code, from the warehouse's own
records (sync_runs, job_runs, webhook_events)."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loader.ops import alerts
from loader.ops.health import health_report
from loader.ops.report import render_report
from loader.warehouse.job_runs import JobLog, Step
from loader.warehouse.sync_runs import RunLog
from loader.warehouse.webhook_events import DDL as WEBHOOK_EVENTS_DDL
from loader.warehouse.webhook_events import Store
from loader.webhooks.health import read_health
from tests.integration.conftest import connect

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


def add_load(
    conn,
    status: str,
    hours_ago: float,
    quota: int = 9000,
    pending: int = 0,
    plan: dict | None = None,
    resources: str = "invoices,contacts",
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "insert into zoho_staging.sync_runs (run_id, organization_id, started_at,"
            " finished_at, status, quota_remaining, details_pending, plan, resources)"
            " values (gen_random_uuid()::text, 'org', now() - %s * interval '1 hour',"
            " now() - %s * interval '1 hour', %s, %s, %s, %s, %s)",
            (hours_ago, hours_ago, status, quota, pending, json.dumps(plan), resources),
        )


def add_dead_letter(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(WEBHOOK_EVENTS_DDL)
        cur.execute(
            "insert into zoho_staging.webhook_events (module, body_sha256, body_bytes, result,"
            " status) values ('items', 'x', 1, 'failed 8 times', 'dead')"
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


def three_verdicts(conn, pg_env, monkeypatch, **settings: str) -> tuple[dict, dict, list]:
    """The same warehouse judged by `loader health --json`, GET /health's document and the
    alerts, each reading its thresholds from the settings (environment) as in production."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    cli = json.loads(health({**pg_env, **settings}, "--json").stdout)
    store = Store(pg_env, size=1)
    try:
        served = read_health(store)
    finally:
        store.close()
    alerting = [
        c.name
        for c in alerts.warehouse_conditions(conn, alerts.settings_from_config())
        if c.alerting
    ]
    return cli, served, alerting


def test_cli_health_endpoint_and_alerts_give_one_verdict_for_one_state(conn, pg_env, monkeypatch):
    add_load(conn, "success", 3)  # over the 2 h warning, under the 26 h critical age
    add_dead_letter(conn)

    cli, served, alerting = three_verdicts(conn, pg_env, monkeypatch)

    problems = ["data 3.0 h old (over 2 h)", cli["problems"][1]]
    assert cli["status"] == served["status"] == "WARNING"
    assert cli["problems"] == served["problems"] == problems
    assert problems[1].startswith("1 webhook event(s) dead-lettered")
    assert served["healthy"] is True  # a WARNING keeps the receiver in service (200)
    assert alerting == ["data_stale", "webhook_dead_letters"]
    page = render_report(conn)
    section = page.split("<h3>Health check</h3>", 1)[1].split("<h3>", 1)[0]
    assert '<p id="health-status">WARNING' in section
    assert "the data is 3 hours old" in page.split('id="verdict">', 1)[1].split("</div>")[0]
    assert all(html.escape(problem) in section for problem in problems)


def test_one_setting_moves_the_threshold_for_all_three(conn, pg_env, monkeypatch):
    add_load(conn, "success", 3)

    cli, served, alerting = three_verdicts(conn, pg_env, monkeypatch, HEALTH__WARN_AGE_HOURS="4")
    assert cli["status"] == served["status"] == "OK" and alerting == []
    assert cli["thresholds"]["warn_age_hours"] == 4

    cli, served, alerting = three_verdicts(
        conn, pg_env, monkeypatch, HEALTH__WARN_AGE_HOURS="1", HEALTH__CRITICAL_AGE_HOURS="2"
    )
    assert cli["status"] == served["status"] == "CRITICAL"
    assert served["healthy"] is False  # GET /health answers 503
    assert cli["problems"] == served["problems"] == ["data 3.0 h old (over 2 h)"]
    assert alerting == ["data_stale"]


def test_an_invalid_threshold_is_unknown_naming_the_setting(conn, pg_env):
    result = health({**pg_env, "HEALTH__WARN_AGE_HOURS": "soon"}, "--json")

    assert result.returncode == 3
    assert json.loads(result.stdout)["problems"] == [
        "HEALTH__WARN_AGE_HOURS must be a number of hours, e.g. 2"
    ]


def test_pending_invoice_details_warn_with_the_count_and_the_expected_catch_up(conn, pg_env):
    caught_up = "2026-12-07T03:15:00+00:00"
    add_load(conn, "success", 0.1, pending=628, plan={"details_caught_up_at": caught_up})
    add_job(conn, "success")

    result = health(pg_env, "--json")

    report = json.loads(result.stdout)
    assert (result.returncode, report["status"]) == (1, "WARNING")
    assert report["problems"] == [
        "628 invoice(s) still wait for their details (over 20); expected caught up by "
        "2026-12-07 03:15 UTC"
    ]
    assert report["details_caught_up_at"] == caught_up
    few = health({**pg_env, "HEALTH__DETAILS_PENDING": "1000"})
    assert few.returncode == 0, few.stdout


def test_json_shows_each_resources_data_age_and_the_retention_in_force(conn, pg_env):
    add_load(conn, "success", 5, resources="items,pricebooks")
    add_load(conn, "success", 1, resources="invoices,contacts")

    report = json.loads(health({**pg_env, "RETENTION_DAYS": "30"}, "--json").stdout)

    ages = report["data_age_seconds_by_resource"]
    assert set(ages) == {"items", "pricebooks", "invoices", "contacts"}
    assert 4.9 * 3600 < ages["items"] < 5.1 * 3600 and ages["invoices"] < 1.1 * 3600
    assert report["retention_days"] == 30
    assert "retention days 30" in health({**pg_env, "RETENTION_DAYS": "30"}).stdout
