"""A burst of Zoho webhooks through the whole real-time path: the simulator's workflow
rules post events (10 % duplicated, 5 % with a bad signature) to `python -m loader serve`
with its worker; afterwards every valid event is applied exactly once and the marts equal
those a scheduled sync builds from the same Zoho state in a fresh database.

The issue's burst is 2,000 events in a minute; `make test` posts 600 (the simulator
delivers about 40 a second here, and two syncs and dbt builds are the fixed cost).
WEBHOOK_BURST_EVENTS=2000 runs the full burst (about 130 s on 2 cores)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from loader.ops.job import MARTS
from tests.integration.conftest import connect, execute
from tests.integration.webhooks_support import ROOT, SECRET, free_port, server_env, start
from tests.loader_checks import loader_env
from zoho_sim import ZohoSimulator

EVENTS = int(os.environ.get("WEBHOOK_BURST_EVENTS", "600"))


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=11, per_minute=100_000) as simulator:
        yield simulator


def job_env(sim, pg, work) -> dict[str, str]:
    profiles = work / "profiles"
    profiles.mkdir(exist_ok=True)
    (profiles / "profiles.yml").write_text((ROOT / "profiles.example.yml").read_text())
    return {
        **server_env(pg, work, webhook_secret=SECRET),
        **loader_env(sim, pg, work, DETAILS_BUDGET="1000"),
        "DBT_PROFILES_DIR": str(profiles),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }


def run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def scheduled_job(env: dict[str, str]) -> None:
    """The scheduled sync and a full dbt build (the job without freshness)."""
    run([sys.executable, "-m", "loader", "run"], env)
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    run([dbt, "build", "--exclude-resource-type", "unit_test", "--no-write-json"], env)


def marts(pg: dict[str, str]) -> dict[str, list[tuple]]:
    """Every mart's rows, without dlt's load ids (which load wrote a row differs). Not
    product_stock: stock per location comes from item-detail readings, which only the
    scheduled path takes, as many as each run's details budget allows (webhooks carry no
    per-location stock): the two warehouses' readings differ by design (tests/integration/
    test_stock.py covers them)."""
    out = {}
    for mart in (m for m in MARTS if m != "product_stock"):
        names = [
            name
            for (name,) in execute(
                pg,
                "select column_name from information_schema.columns where table_schema ="
                f" 'analytics' and table_name = '{mart}' and column_name not like '%load_id'"
                " order by ordinal_position",
            )
        ]
        rows = execute(pg, f"select {', '.join(names)} from analytics.{mart}")
        out[mart] = sorted(rows, key=repr)
    return out


def edit(sim: ZohoSimulator, rng: random.Random) -> None:
    """One edit a workflow rule reports: mostly price changes, some contacts, invoices
    and new items."""
    sim.advance(1)  # Zoho stamps last_modified_time to the second
    roll = rng.random()
    if roll < 0.70:
        item_id = rng.choice(sim.active_item_ids())
        sim.update_item(item_id, rate=round(rng.uniform(1, 5000), 2))
    elif roll < 0.85:
        contact_id = rng.choice(sorted(sim.contacts))
        sim.update_contact(contact_id, phone=f"+964 {rng.randrange(10**9):09d}")
    elif roll < 0.97:
        invoice_id = rng.choice(sorted(sim.invoices))
        sim.update_invoice(invoice_id, reference_number=f"REF-{rng.randrange(10**6)}")
    else:
        sim.add_item(rate=round(rng.uniform(1, 5000), 2))


def test_a_burst_applies_each_valid_event_once_and_the_marts_match_a_sync(
    sim, pg_env, pg_server_env, tmp_path_factory
):
    work = tmp_path_factory.mktemp("burst")
    env = {**job_env(sim, pg_env, work), "SOURCES__ZOHO_BOOKS__WEBHOOK_BATCH_SIZE": "1000"}
    scheduled_job(env)
    port = free_port()
    proc, url = start(["-m", "loader", "serve", "--port", str(port)], env, port)
    try:
        sim.configure_webhooks(
            url=f"{url}/webhooks/zoho",
            secret=SECRET,
            duplicate_rate=0.10,
            bad_signature_rate=0.05,
            seed=3,
        )
        rng = random.Random(5)
        for _ in range(EVENTS):
            edit(sim, rng)
        assert sim.flush_webhooks(timeout=120)
        health = wait_until_applied(url)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    counts = sim.webhooks.counts()

    # every valid event stored once and applied once (or knowingly skipped as superseded)
    rows = execute(
        pg_env,
        "select status, count(*), sum(deliveries), max(attempts), min(attempts)"
        " from zoho_staging.webhook_events group by status",
    )
    by_status = {status: (n, sent, most, least) for status, n, sent, most, least in rows}
    assert set(by_status) <= {"applied", "ignored"}, by_status
    stored = by_status["applied"][0] + by_status.get("ignored", (0,))[0]
    assert stored == counts["events"] == EVENTS, missing(sim, pg_env)
    assert {by_status[s][2] for s in ("applied", "ignored") if s in by_status} == {1}
    # refused deliveries are counted per hour, not stored
    [(refused,)] = execute(
        pg_env,
        "select coalesce(sum(requests), 0) from zoho_staging.webhook_rejections"
        " where reason = 'bad_signature'",
    )
    assert refused == counts["bad_signatures"] > 0
    assert counts["duplicated"] > 0 and counts.get("gave_up", 0) == 0
    assert health["webhooks"]["dead_letters"] == 0

    # the marts equal a scheduled sync's of the same Zoho state, in a fresh database
    fresh = {**pg_env, "PGDATABASE": pg_env["PGDATABASE"] + "_sync"}
    admin = connect(pg_server_env, "postgres")
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{fresh["PGDATABASE"]}" with (force)')
        cur.execute(f'create database "{fresh["PGDATABASE"]}"')
    try:
        scheduled_job(job_env(sim, fresh, tmp_path_factory.mktemp("sync")))
        by_webhooks, by_sync = marts(pg_env), marts(fresh)
        diff = differences(by_webhooks, by_sync)
        (work / "differences.txt").write_text(repr(diff))
        assert by_webhooks == by_sync, diff
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{fresh["PGDATABASE"]}" with (force)')
        admin.close()


def differences(ours: dict[str, list], theirs: dict[str, list]) -> dict[str, dict]:
    """Per mart that differs, a few rows only one side has (for a failure message)."""
    out = {}
    for mart in ours:
        mine, other = set(ours[mart]), set(theirs[mart])
        if mine != other:
            out[mart] = {
                "webhooks only": sorted(mine - other, key=repr)[:3],
                "sync only": sorted(other - mine, key=repr)[:3],
            }
    return out


def missing(sim: ZohoSimulator, pg: dict[str, str]) -> list[dict]:
    """The deliveries of events the receiver has no row of (for a failure message)."""
    stored = {
        (module, entity, str(event))
        for module, entity, event in execute(
            pg, "select module, entity_id, event_type from zoho_staging.webhook_events"
        )
    }
    deliveries = sim.webhook_deliveries
    return [d for d in deliveries if (d["module"], d["entity_id"], d["event"]) not in stored][
        :10
    ] or [{"counts": sim.webhooks.counts(), "deliveries": len(deliveries)}]


def wait_until_applied(url: str, timeout: float = 300) -> dict:
    """/health once nothing is pending and the marts are rebuilt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = requests.get(f"{url}/health", timeout=10).json()
        if health["webhooks"]["pending"] == 0 and not health["worker"]["tables_to_rebuild"]:
            return health
        time.sleep(1)
    raise AssertionError(f"events still pending after {timeout} s: {health}")
