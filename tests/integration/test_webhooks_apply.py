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

from tests.integration.webhooks_support import ROOT, SECRET, Receiver, free_port, server_env, start
from tests.loader_checks import loader_env
from zoho_sim import ZohoSimulator


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=5, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    """The loader's and the receiver's environment, after one scheduled sync."""
    work = tmp_path_factory.mktemp("apply")
    full = {
        **server_env(pg_env, work, webhook_secret=SECRET),
        **loader_env(sim, pg_env, work, DETAILS_BUDGET="1000"),
        "SOURCES__ZOHO_BOOKS__WEBHOOK_MAX_ATTEMPTS": "2",
        "SOURCES__ZOHO_BOOKS__WEBHOOK_RETRY_SECONDS": "0",
    }
    done = loader("run", env=full)
    assert done.returncode == 0, done.stderr
    return full


def loader(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loader", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def receiver(env) -> Iterator[Receiver]:
    port = free_port()
    proc, url = start(["-m", "loader", "serve", "--no-worker", "--port", str(port)], env, port)
    yield Receiver(url)
    proc.terminate()
    proc.wait(timeout=30)


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


def test_edit_events_upsert_items_and_invoices_with_their_lines_without_api_calls(
    sim, env, receiver, pg_query
):
    item_id = some_item(sim, 0)
    sim.advance(60)
    sim.update_item(item_id, rate=4321.5)
    invoice_id = sorted(sim.invoices)[0]
    invoice = sim.invoices[invoice_id]
    sim.reset_counters()

    first = post(receiver, "items", "edited", sim.items[item_id])
    second = post(receiver, "invoices", "edited", invoice)
    apply(env)

    assert status_of(pg_query, first)[0] == "applied"
    assert status_of(pg_query, second)[0] == "applied"
    [(rate, name, deleted, _)] = stored_item(pg_query, item_id)
    assert (rate, name, deleted) == (Decimal("4321.5"), sim.items[item_id]["name"], False)
    lines = pg_query(
        "select line_item_id, quantity from zoho_staging.invoice_line_items"
        " where invoice_id = %s order by 1",
        (invoice_id,),
    )
    expected = sorted((line["line_item_id"], line["quantity"]) for line in invoice["line_items"])
    assert [(i, float(q)) for i, q in lines] == [(i, float(q)) for i, q in expected]
    assert sim.counters["api_calls"] == 0


def test_delete_event_marks_the_item_deleted(sim, env, receiver, pg_query):
    item_id = some_item(sim, 1)
    record = sim.items[item_id]
    sim.delete_item(item_id)

    event_id = post(receiver, "items", "deleted", record)
    apply(env)

    assert status_of(pg_query, event_id)[0] == "applied"
    [(_, _, deleted, _)] = stored_item(pg_query, item_id)
    assert deleted is True
    [(deleted_at,)] = pg_query(
        "select deleted_at from zoho_staging.items where item_id = %s", (item_id,)
    )
    assert deleted_at is not None


def test_an_older_event_never_overwrites_newer_data(sim, env, receiver, pg_query):
    item_id = some_item(sim, 2)
    sim.advance(60)
    older = sim.update_item(item_id, rate=100)
    sim.advance(60)
    newer = sim.update_item(item_id, rate=200)

    new_id = post(receiver, "items", "edited", newer)
    apply(env)
    old_id = post(receiver, "items", "edited", older)  # arrives late (reordered)
    apply(env)

    assert status_of(pg_query, new_id)[0] == "applied"
    status, note = status_of(pg_query, old_id)
    assert status == "ignored" and "older than stored" in note
    assert stored_item(pg_query, item_id)[0][0] == Decimal("200")


def test_in_one_round_only_the_newest_event_of_a_record_is_written(sim, env, receiver, pg_query):
    item_id = some_item(sim, 3)
    sim.advance(60)
    older = sim.update_item(item_id, rate=300)
    sim.advance(60)
    newer = sim.update_item(item_id, rate=400)

    new_id = post(receiver, "items", "edited", newer)
    old_id = post(receiver, "items", "edited", older)
    apply(env)

    assert status_of(pg_query, new_id)[0] == "applied"
    assert status_of(pg_query, old_id) == ("ignored", f"superseded by {new_id}")
    assert stored_item(pg_query, item_id)[0][0] == Decimal("400")


def test_a_payload_without_its_version_is_completed_by_one_api_call(sim, env, receiver, pg_query):
    item_id = some_item(sim, 4)
    sim.advance(60)
    sim.update_item(item_id, rate=555)
    sim.reset_counters()

    event_id = post(receiver, "items", "edited", {"item_id": item_id})
    apply(env)

    assert status_of(pg_query, event_id)[0] == "applied"
    assert stored_item(pg_query, item_id)[0][0] == Decimal("555")
    assert sim.calls("GET /items/{id}") == 1


def test_an_event_that_keeps_failing_is_dead_lettered_after_n_attempts(
    sim, env, receiver, pg_query
):
    item_id = some_item(sim, 5)
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
from loader.webhooks.store import Store

def hang(self, rows, status):
    print("loaded", flush=True)
    time.sleep(3600)

Store.finish = hang
from loader.__main__ import main
sys.exit(main(["webhooks", "apply", "--no-build"]))
"""


def test_a_worker_killed_mid_apply_resumes_and_loses_nothing(sim, env, receiver, pg_query):
    item_id = some_item(sim, 6)
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
