"""Applying stored webhook events: the simulator's records posted as Zoho posts them, a
scheduled sync's tables underneath, `python -m loader webhooks apply` (the worker's
rounds) writing through dlt. dbt is not run here (the burst test does)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.conftest import execute
from tests.integration.webhooks_support import (
    ROOT,
    Receiver,
    free_port,
    loader,
    serving,
    webhook_env,
)
from zoho_sim import ZohoSimulator


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=5, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    """The loader's and the receiver's environment, after one scheduled sync."""
    work = tmp_path_factory.mktemp("apply")
    return webhook_env(sim, pg_env, work, WEBHOOK_MAX_ATTEMPTS="2", WEBHOOK_RETRY_SECONDS="0")


@pytest.fixture(scope="module")
def receiver(env) -> Iterator[Receiver]:
    with serving(env) as receiver:
        yield receiver


def apply(env: dict[str, str]) -> None:
    done = loader("webhooks", "apply", "--no-build", env=env)
    assert done.returncode == 0, done.stderr


def status_of(pg_query, event_id: int) -> tuple[str, str | None]:
    [(status, note)] = pg_query(
        "select status, last_error from zoho_staging.webhook_events where id = %s", (event_id,)
    )
    return status, note


def post(receiver: Receiver, module: str, event: str, record: dict) -> int:
    singular = module.removesuffix("s")
    answer = receiver.post(module, {singular: record}, event=event)
    assert answer.status_code == 200, answer.text
    return answer.json()["event_id"]


def stored_item(pg_query, item_id: str) -> tuple:
    return pg_query(
        "select rate, name, is_deleted, last_modified_time from zoho_staging.items"
        " where item_id = %s",
        (item_id,),
    )


def some_item(sim: ZohoSimulator, n: int) -> str:
    return sorted(sim.active_item_ids())[n]


def deletion_marks(pg: dict[str, str], invoice_id: str) -> dict[str, set]:
    """(is_deleted, deleted_at set) of an invoice's rows in each table (details: flag)."""
    marks = {}
    for table, stamp in (
        ("invoices", "deleted_at"),
        ("invoice_details", "null"),
        ("invoice_line_items", "deleted_at"),
    ):
        rows = execute(
            pg,
            f"select is_deleted, {stamp} is not null from zoho_staging.{table}"
            f" where invoice_id = '{invoice_id}'",
        )
        marks[table] = set(rows)
    return marks


@pytest.fixture(scope="module")
def scenarios(sim, env, receiver, pg_env) -> dict:
    """Events of several records posted, then applied in two `webhooks apply` runs (the
    second for an event that arrives after a newer one was applied); what each test
    asserts on."""
    ids = sorted(sim.active_item_ids())
    names = ("edit", "delete", "late", "round", "bare", "broken")
    out: dict = {"items": dict(zip(names, ids, strict=False))}
    sim.advance(60)
    sim.update_item(out["items"]["edit"], rate=4321.5)
    invoice_id = sorted(sim.invoices)[0]
    out["invoice"] = sim.invoices[invoice_id]
    deleted = sim.items[out["items"]["delete"]]
    sim.delete_item(out["items"]["delete"])
    late_old = sim.update_item(out["items"]["late"], rate=100)
    round_old = sim.update_item(out["items"]["round"], rate=300)
    sim.update_item(out["items"]["bare"], rate=555)
    sim.advance(60)
    late_new = sim.update_item(out["items"]["late"], rate=200)
    round_new = sim.update_item(out["items"]["round"], rate=400)
    sim.reset_counters()

    out["event"] = {
        "edit": post(receiver, "items", "edited", sim.items[out["items"]["edit"]]),
        "invoice": post(receiver, "invoices", "edited", out["invoice"]),
        "delete": post(receiver, "items", "deleted", deleted),
        "late_new": post(receiver, "items", "edited", late_new),
        "round_new": post(receiver, "items", "edited", round_new),
        "round_old": post(receiver, "items", "edited", round_old),
        "bare": post(receiver, "items", "edited", {"item_id": out["items"]["bare"]}),
        "broken": post(
            receiver,
            "items",
            "edited",
            {**sim.items[out["items"]["broken"]], "rate": "1e999999"},  # beyond numeric
        ),
    }
    out["bill"], out["bill_gone"] = sorted(sim.bills)[:2]
    edited_bill = sim.update_bill(out["bill"], status="paid")
    out["event"].update(
        bill_edit=post(receiver, "bills", "edited", edited_bill),
        bill_delete=post(receiver, "bills", "deleted", sim.bills[out["bill_gone"]]),
    )
    out["contact"] = sorted(sim.contacts)[0]
    out["gone"], out["back"] = sorted(sim.invoices)[1:3]
    out["event"].update(
        contact_delete=post(receiver, "contacts", "deleted", sim.contacts[out["contact"]]),
        invoice_delete=post(receiver, "invoices", "deleted", sim.invoices[out["gone"]]),
        back_delete=post(receiver, "invoices", "deleted", sim.invoices[out["back"]]),
    )
    apply(env)
    out["back_deleted"] = deletion_marks(pg_env, out["back"])
    out["event"]["late_old"] = post(receiver, "items", "edited", late_old)  # reordered
    sim.advance(60)
    back = sim.update_invoice(out["back"], reference_number="BACK-1")
    out["event"]["back_edit"] = post(receiver, "invoices", "edited", back)
    apply(env)
    out["api_calls"] = sim.counters["api_calls"]
    out["item_calls"] = sim.calls("GET /items/{id}")
    out["invoice_calls"] = sim.calls("GET /invoices/{id}")
    return out


def test_edit_events_upsert_items_and_invoices_with_their_lines(scenarios, pg_query):
    item_id, invoice = scenarios["items"]["edit"], scenarios["invoice"]

    assert status_of(pg_query, scenarios["event"]["edit"])[0] == "applied"
    assert status_of(pg_query, scenarios["event"]["invoice"])[0] == "applied"
    [(rate, _, deleted, _)] = stored_item(pg_query, item_id)
    assert (rate, deleted) == (Decimal("4321.5"), False)
    lines = pg_query(
        "select line_item_id, quantity from zoho_staging.invoice_line_items"
        " where invoice_id = %s order by 1",
        (invoice["invoice_id"],),
    )
    expected = sorted((line["line_item_id"], line["quantity"]) for line in invoice["line_items"])
    assert [(i, float(q)) for i, q in lines] == [(i, float(q)) for i, q in expected]
    assert scenarios["invoice_calls"] == 0  # the payload carries the lines: no detail call


def test_bill_events_update_and_delete_bills_through_the_same_receiver(scenarios, pg_query):
    assert status_of(pg_query, scenarios["event"]["bill_edit"])[0] == "applied"
    assert status_of(pg_query, scenarios["event"]["bill_delete"])[0] == "applied"
    rows = dict(
        pg_query(
            "select bill_id, (status, is_deleted, deleted_at is not null) from zoho_staging.bills"
            " where bill_id = any(%s)",
            ([scenarios["bill"], scenarios["bill_gone"]],),
        )
    )
    assert rows[scenarios["bill"]] == "(paid,f,f)"
    assert rows[scenarios["bill_gone"]].endswith(",t,t)")


def test_delete_event_marks_the_item_deleted(scenarios, pg_query):
    assert status_of(pg_query, scenarios["event"]["delete"])[0] == "applied"
    [(deleted, deleted_at)] = pg_query(
        "select is_deleted, deleted_at from zoho_staging.items where item_id = %s",
        (scenarios["items"]["delete"],),
    )
    assert deleted is True and deleted_at is not None


def test_delete_events_mark_contacts_and_invoices_with_their_details_and_lines(
    scenarios, pg_env, pg_query
):
    for name in ("contact_delete", "invoice_delete", "back_delete"):
        assert status_of(pg_query, scenarios["event"][name])[0] == "applied"
    [(deleted, stamped)] = pg_query(
        "select is_deleted, deleted_at is not null from zoho_staging.contacts"
        " where contact_id = %s",
        (scenarios["contact"],),
    )
    assert (deleted, stamped) == (True, True)
    marked = {"invoices": {(True, True)}, "invoice_details": {(True, False)}}
    marked["invoice_line_items"] = {(True, True)}
    assert deletion_marks(pg_env, scenarios["gone"]) == marked
    assert scenarios["back_deleted"] == marked


def test_a_later_edit_event_undeletes_a_deleted_invoice(scenarios, pg_env, pg_query):
    assert status_of(pg_query, scenarios["event"]["back_edit"])[0] == "applied"
    marks = deletion_marks(pg_env, scenarios["back"])
    assert marks["invoices"] == {(False, False)}
    assert marks["invoice_details"] == {(False, False)}
    assert all(not deleted for deleted, _ in marks["invoice_line_items"])


def test_an_older_event_never_overwrites_newer_data(scenarios, pg_query):
    assert status_of(pg_query, scenarios["event"]["late_new"])[0] == "applied"
    status, note = status_of(pg_query, scenarios["event"]["late_old"])
    assert status == "ignored" and "older than stored" in note
    assert stored_item(pg_query, scenarios["items"]["late"])[0][0] == Decimal("200")


def test_in_one_round_only_the_newest_event_of_a_record_is_written(scenarios, pg_query):
    new_id, old_id = scenarios["event"]["round_new"], scenarios["event"]["round_old"]

    assert status_of(pg_query, new_id)[0] == "applied"
    assert status_of(pg_query, old_id) == ("ignored", f"superseded by {new_id}")
    assert stored_item(pg_query, scenarios["items"]["round"])[0][0] == Decimal("400")


def test_a_record_that_cannot_be_stored_is_quarantined_not_retried(scenarios, pg_query):
    status, note = status_of(pg_query, scenarios["event"]["broken"])

    assert status == "ignored" and note.startswith("quarantined")
    assert pg_query(
        "select count(*) from zoho_staging.quarantine where table_name = 'items'"
        " and record_id = %s",
        (scenarios["items"]["broken"],),
    ) == [(1,)]


def test_a_payload_without_its_version_is_completed_by_one_api_call(scenarios, pg_query):
    assert status_of(pg_query, scenarios["event"]["bare"])[0] == "applied"
    assert stored_item(pg_query, scenarios["items"]["bare"])[0][0] == Decimal("555")
    assert scenarios["item_calls"] == 1
    assert scenarios["api_calls"] == 1  # and nothing else was called


def test_an_event_that_keeps_failing_is_dead_lettered_after_n_attempts(
    sim, env, receiver, pg_query
):
    item_id = some_item(sim, 10)
    broken = {**env, "SOURCES__ZOHO_BOOKS__API_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    broken["RUNTIME__REQUEST_MAX_ATTEMPTS"] = "1"

    event_id = post(receiver, "items", "edited", {"item_id": item_id})
    apply(broken)

    [(status, attempts, error)] = pg_query(
        "select status, attempts, last_error from zoho_staging.webhook_events where id = %s",
        (event_id,),
    )
    assert (status, attempts) == ("dead", 2)
    assert "completing the record" in error
    replayed = loader("webhooks", "replay", str(event_id), env=env)
    assert replayed.returncode == 0, replayed.stderr
    apply(env)
    assert status_of(pg_query, event_id)[0] == "applied"


# The real `webhooks apply`, killed after its rows are committed and before its events
# are marked: the worst moment for exactly-once.
KILLED_AFTER_LOAD = """
import sys, time
from loader.warehouse.webhook_events import Store

def hang(self, rows, status):
    print("loaded", flush=True)
    time.sleep(3600)

Store.finish = hang
from loader.__main__ import main
sys.exit(main(["webhooks", "apply", "--no-build"]))
"""


def test_a_worker_killed_mid_apply_resumes_and_loses_nothing(sim, env, receiver, pg_query):
    item_id = some_item(sim, 11)
    sim.advance(60)
    record = sim.update_item(item_id, rate=777)
    event_id = post(receiver, "items", "edited", record)

    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_AFTER_LOAD],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "loaded"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert status_of(pg_query, event_id)[0] == "pending"
    apply(env)

    assert status_of(pg_query, event_id)[0] == "applied"
    assert stored_item(pg_query, item_id)[0][0] == Decimal("777")
    [(count,)] = pg_query("select count(*) from zoho_staging.items where item_id = %s", (item_id,))
    assert count == 1


def test_the_workers_completing_gets_are_spent_calls_in_the_next_runs_plan(
    sim, env, scenarios, pg_query
):
    """Every GET the worker made to complete an event (here and in the tests above, all of
    the simulator's calls since the scenarios began) is recorded, and the next run's plan
    counts it among the calls the quota day has spent."""
    [(worker_calls,)] = pg_query("select sum(calls) from zoho_staging.worker_api_calls")
    assert worker_calls == sim.counters["api_calls"] >= scenarios["api_calls"] >= 1

    done = loader("run", env=env)
    assert done.returncode == 0, done.stderr
    [(plan, started)] = pg_query(
        "select plan, started_at from zoho_staging.sync_runs order by started_at desc limit 1"
    )
    [(runs_calls,)] = pg_query(
        "select coalesce(sum(api_calls), 0) from zoho_staging.sync_runs"
        " where started_at >= %s::timestamptz - interval '1 day' and started_at < %s",
        (plan["day_end"], started),
    )
    assert plan["calls_today"] == runs_calls + worker_calls
