"""Alert state per organization: the real job (`python -m loader.job`, every organization)
against the simulator and a real PostgreSQL, with a second organization Zoho does not
know. Its failure alerts once, naming it, however many jobs fail the same way; the first
organization's state is its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import job_environment, run_job
from zoho_sim import ZohoSimulator

GHOST = "999000111"


@pytest.fixture
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator("unit", seed=2, per_minute=100_000) as simulator:
        yield simulator


def test_one_organization_failing_alerts_once_and_names_it(
    sim, clean_warehouse, pg_query, tmp_path
):
    first = sim.organization_id
    sent = tmp_path / "alerts.txt"
    env = {
        **job_environment(sim, clean_warehouse, tmp_path),
        "SOURCES__ZOHO_BOOKS__ORGANIZATIONS__GHOST__ORGANIZATION_ID": GHOST,
        "ALERTS__COMMAND": f"cat >> {sent}; echo >> {sent}",
    }
    for _ in range(2):  # two jobs of both organizations: the ghost fails both times
        done = run_job(env, timeout=900)
        assert done.returncode not in (0, 3, 75), done.stdout + done.stderr

    messages = [m.strip() for m in sent.read_text().split("\n\n") if m.strip()]
    failures = [m for m in messages if "job failed" in m]
    assert len(failures) == 1, messages
    assert failures[0].startswith(f"organization {GHOST} (ghost): job failed at step load")
    states = dict(
        pg_query(
            "select organization_id, alerting from zoho_staging.alert_state"
            " where condition = 'job_failed'"
        )
    )
    assert states == {first: False, GHOST: True}
    jobs = dict(pg_query("select organization_id, status from zoho_staging.job_runs"))
    assert jobs == {first: "success", GHOST: "failed"}


# The previous version's tables (before several organizations), as it created them.
PREVIOUS_TABLES = """
create schema if not exists zoho_staging;
create table zoho_staging.webhook_events (
    id bigserial primary key,
    received_at timestamptz not null default now(),
    last_received_at timestamptz not null default now(),
    module text not null, event_type text, entity_id text, last_modified_time text,
    payload jsonb, raw_body text, body_sha256 text not null, body_bytes integer not null,
    signature_ok boolean, result text not null, idempotency_key text unique,
    deliveries integer not null default 1, status text not null,
    attempts integer not null default 0, next_attempt_at timestamptz, last_error text,
    applied_at timestamptz
);
create table zoho_staging.webhook_rejections (
    hour timestamptz not null, module text not null, reason text not null,
    requests bigint not null default 0, bytes bigint not null default 0,
    last_at timestamptz not null default now(),
    primary key (hour, module, reason)
);
create table zoho_staging.alert_state (
    condition text primary key, alerting boolean not null, since timestamptz not null,
    message text, value text
);
create table zoho_staging.alert_delivery (
    condition text not null, destination text not null, alerting boolean not null,
    value text, delivered_at timestamptz not null default now(),
    primary key (condition, destination)
);
create table zoho_staging.alert_log (
    sent_at timestamptz not null default now(), condition text not null,
    alerting boolean not null, message text not null, delivered boolean not null,
    error text, destination text
);
"""


def test_a_one_organization_warehouses_webhook_and_alert_tables_upgrade_in_place(
    clean_warehouse, pg_query, tmp_path
):
    from loader.ops.alerts import AlertSettings, Destination, job_conditions, notify_changes
    from loader.warehouse.webhook_events import Event, Store, of_organization
    from tests.integration.conftest import connect

    old_key = "items:edited:4605000000123:-:abc"
    sent = tmp_path / "alerts.txt"
    command = f"cat >> {sent}"
    pg_query(PREVIOUS_TABLES)
    pg_query(
        "insert into zoho_staging.webhook_events (module, event_type, entity_id, body_sha256,"
        " body_bytes, result, idempotency_key, status, payload)"
        " values ('items', 'edited', '4605000000123', 'x', 1, 'accepted', %s, 'applied', '{}')",
        (old_key,),
    )
    pg_query(
        "insert into zoho_staging.webhook_rejections (hour, module, reason, requests)"
        " values (date_trunc('hour', now()), 'items', 'bad_signature', 5)"
    )
    pg_query(
        "insert into zoho_staging.alert_state values"
        " ('job_failed', true, now(), 'job failed', null);"
        "insert into zoho_staging.alert_delivery (condition, destination, alerting, value)"
        " values ('job_failed', %s, true, null)",
        (Destination("command", command).key,),
    )

    store = Store(clean_warehouse, size=1)
    try:
        store.ensure("111")
        assert pg_query(
            "select organization_id, idempotency_key from zoho_staging.webhook_events"
        ) == [("111", f"111:{old_key}")]
        # Zoho's redelivery of the old event is still a duplicate
        _, duplicate = store.insert(
            Event(
                module="items", event_type="edited", entity_id="4605000000123",
                last_modified_time=None, payload={}, raw_body=None, body_sha256="x",
                body_bytes=1, signature_ok=True, result="accepted", status="pending",
                idempotency_key=of_organization("111", old_key), organization_id="111",
            )
        )  # fmt: skip
        assert duplicate
        store.count_rejected("items", "bad_signature", 0, "111")
        assert pg_query(
            "select organization_id, requests from zoho_staging.webhook_rejections"
        ) == [("111", 6)]
    finally:
        store.close()

    conn = connect(clean_warehouse)
    try:
        # the job of the organization of [sources.zoho_books] keeps the alert already sent
        failed = job_conditions("failed", "load", "Zoho said no")
        notify_changes(conn, failed, AlertSettings(command=command), "111", legacy=True)
    finally:
        conn.close()
    assert not sent.exists()
    assert pg_query(
        "select organization_id, condition, alerting from zoho_staging.alert_state"
        " where condition = 'job_failed'"
    ) == [("111", "job_failed", True)]
