"""Alerts reach a person once per change of state: through Apprise to a real HTTP receiver
on loopback (json:// URL) and through ALERTS__COMMAND; state kept in the warehouse."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loader.ops import alerts
from loader.ops.alerts import AlertSettings, Condition, job_conditions, notify_changes
from loader.ops.health import Thresholds
from loader.warehouse.sync_runs import RunLog
from loader.warehouse.webhook_events import DDL as WEBHOOK_EVENTS_DDL
from tests.integration.conftest import connect


@pytest.fixture(scope="module")
def receiver():
    """A tiny HTTP server on loopback that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/alerts", received
    server.shutdown()


@pytest.fixture
def conn(pg_env):
    connection = connect(pg_env)
    with connection.cursor() as cur:
        cur.execute("drop schema if exists zoho_staging cascade; create schema zoho_staging")
        cur.execute("drop schema if exists analytics cascade")
    yield connection
    connection.close()


def test_a_failing_job_alerts_once_and_its_recovery_once(conn, receiver):
    url, received = receiver
    received.clear()
    settings = AlertSettings(urls=(url,))

    for _ in range(3):  # three failed jobs in a row: one message
        notify_changes(
            conn, job_conditions("failed", "dbt_build", "test unique_x: 2 rows"), settings
        )
    assert [m["message"] for m in received] == [
        "job failed at step dbt_build: test unique_x: 2 rows"
    ]
    assert received[0]["type"] == "failure"

    notify_changes(conn, job_conditions("success", None, None), settings)
    notify_changes(conn, job_conditions("success", None, None), settings)
    assert len(received) == 2
    assert received[1]["message"].startswith("job succeeded again (alerting since ")
    assert received[1]["type"] == "success"


def test_a_quota_stop_alerts_and_a_first_healthy_job_says_nothing(conn, receiver):
    url, received = receiver
    received.clear()
    settings = AlertSettings(urls=(url,))

    notify_changes(conn, job_conditions("success", None, None), settings)
    assert received == []
    notify_changes(
        conn, job_conditions("quota_exhausted", None, "quota used up during items"), settings
    )
    assert [m["message"].split(":")[0] for m in received] == ["Zoho's daily API quota is used up"]


def test_coverage_under_target_and_dead_letters_alert_on_change(conn, receiver, tmp_path):
    url, received = receiver
    received.clear()
    out = tmp_path / "messages.txt"
    settings = AlertSettings(urls=(url,), command=f"cat >> {out}")
    with conn.cursor() as cur:
        cur.execute(
            "create schema analytics;"
            " create table analytics.price_coverage as select 90.5::numeric as coverage_percent,"
            " 95::numeric as coverage_target_percent, 200 as active_products;"
        )
        cur.execute(WEBHOOK_EVENTS_DDL)
    add_events(conn, "applied", "dead")

    notify_changes(conn, alerts.warehouse_conditions(conn, settings), settings)
    notify_changes(conn, alerts.warehouse_conditions(conn, settings), settings)
    add_events(conn, "dead")
    notify_changes(conn, alerts.warehouse_conditions(conn, settings), settings)

    messages = [m["message"] for m in received if not m["message"].startswith("data is")]
    assert messages == [
        "1 webhook event(s) dead-lettered (not applied: `python -m loader webhooks list "
        "--status dead`)",
        "price coverage is 90.5% of 200 active products, under the target of 95% "
        "(analytics.product_price_coverage lists them)",
        "2 webhook event(s) dead-lettered (not applied: `python -m loader webhooks list "
        "--status dead`)",
    ]
    assert [m for m in out.read_text().splitlines() if not m.startswith("data is")] == messages


def test_an_alert_no_channel_accepts_is_tried_again_by_the_next_job(conn, receiver):
    url, received = receiver
    received.clear()
    failing = AlertSettings(command="exit 3")
    failed = job_conditions("failed", "load", "warehouse unreachable")

    assert notify_changes(conn, failed, failing) == []
    with conn.cursor() as cur:
        cur.execute("select delivered, error from zoho_staging.alert_log")
        assert cur.fetchall() == [(False, "ALERTS__COMMAND exited 3 ")]

    sent = notify_changes(conn, failed, AlertSettings(urls=(url,)))
    assert [c.name for c in sent] == ["job_failed"] and len(received) == 1


def test_stale_data_alerts_past_the_threshold(conn, receiver):
    url, received = receiver
    received.clear()
    settings = AlertSettings(urls=(url,), thresholds=Thresholds(critical_age_hours=26))
    add_load(conn, hours_ago=30)

    conditions = alerts.warehouse_conditions(conn, settings)
    notify_changes(conn, conditions, settings)

    assert [c for c in conditions if c.alerting] == [
        Condition("data_stale", True, "data is stale: data 30.0 h old (over 26 h)", "2")
    ]
    assert [m["message"] for m in received] == ["data is stale: data 30.0 h old (over 26 h)"]


def add_load(conn, hours_ago: float) -> None:
    RunLog(conn).ensure()
    with conn.cursor() as cur:
        cur.execute(
            "insert into zoho_staging.sync_runs (run_id, started_at, finished_at, status)"
            " values (gen_random_uuid()::text, now() - %s * interval '1 hour',"
            " now() - %s * interval '1 hour', 'success')",
            (hours_ago, hours_ago),
        )


def add_events(conn, *statuses: str) -> None:
    with conn.cursor() as cur:
        for status in statuses:
            cur.execute(
                "insert into zoho_staging.webhook_events (module, body_sha256, body_bytes,"
                " result, status) values ('items', md5(random()::text), 1, 'ok', %s)",
                (status,),
            )


@pytest.fixture
def flaky():
    """A receiver that answers 503 while `state["down"]`, keeping what it accepted."""
    state: dict = {"down": True, "received": [], "refused": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state["down"]:
                state["refused"] += 1
                self.send_response(503)
            else:
                state["received"].append(json.loads(body))
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"json://127.0.0.1:{server.server_address[1]}/down", state
    server.shutdown()


def test_a_down_alert_url_is_retried_alone_and_the_others_are_not_sent_it_again(
    conn, receiver, flaky
):
    url, received = receiver
    received.clear()
    down_url, down = flaky
    settings = AlertSettings(urls=(url, down_url))
    failed = job_conditions("failed", "load", "warehouse unreachable")

    for _ in range(2):  # two jobs while one destination is down
        notify_changes(conn, failed, settings)
    assert [m["message"] for m in received] == ["job failed at step load: warehouse unreachable"]
    assert down["refused"] == 2 and down["received"] == []

    down["down"] = False
    notify_changes(conn, failed, settings)  # the third job: only the one that missed it
    notify_changes(conn, failed, settings)  # the fourth: nobody

    assert len(received) == 1
    assert [m["message"] for m in down["received"]] == [
        "job failed at step load: warehouse unreachable"
    ]
    with conn.cursor() as cur:
        cur.execute(
            "select delivered, count(*) from zoho_staging.alert_log"
            " where condition = 'job_failed' group by 1 order by 1"
        )
        assert cur.fetchall() == [(False, 2), (True, 2)]
        cur.execute("select destination from zoho_staging.alert_log")
        assert all(row[0].startswith("json:") and "127.0.0.1" not in row[0] for row in cur)


def test_the_coverage_alert_reads_the_marts_schema_in_use(conn, receiver, monkeypatch):
    url, received = receiver
    received.clear()
    monkeypatch.setenv("ANALYTICS_SCHEMA", "marts_elsewhere")
    with conn.cursor() as cur:
        cur.execute(
            "drop schema if exists marts_elsewhere cascade; create schema marts_elsewhere;"
            " create table marts_elsewhere.price_coverage as select 80::numeric as"
            " coverage_percent, 95::numeric as coverage_target_percent, 10 as active_products"
        )
    settings = AlertSettings(urls=(url,))

    conditions = alerts.coverage_condition(conn)
    notify_changes(conn, conditions, settings)

    assert [m["message"] for m in received] == [
        "price coverage is 80% of 10 active products, under the target of 95% "
        "(marts_elsewhere.product_price_coverage lists them)"
    ]


def test_each_organization_has_its_own_alert_state_and_is_named(conn, receiver):
    url, received = receiver
    received.clear()
    settings = AlertSettings(urls=(url,))
    failed = job_conditions("failed", "load", "Zoho said no")

    for _ in range(2):  # two failed jobs of one organization, healthy ones of the other
        notify_changes(conn, failed, settings, "111", "organization 111 (eu)")
        notify_changes(conn, job_conditions("success", None, None), settings, "222", "x")
    assert [m["message"] for m in received] == [
        "organization 111 (eu): job failed at step load: Zoho said no"
    ]

    notify_changes(conn, failed, settings, "222", "organization 222")  # now the other fails
    notify_changes(
        conn, job_conditions("success", None, None), settings, "111", "organization 111 (eu)"
    )
    assert [m["message"].split(" (alerting since")[0] for m in received[1:]] == [
        "organization 222: job failed at step load: Zoho said no",
        "organization 111 (eu): job succeeded again",
    ]
