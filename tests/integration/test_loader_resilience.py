"""Runs that meet trouble end with the same tables as a clean run: nothing lost, nothing
duplicated. Trouble: tokens expiring mid-run, 429 storms, 5xx/dropped/truncated answers,
records listed twice, a killed process, the daily quota."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loader.errors import BrokenAnswer, find_loader_error
from loader.zoho.http.auth import cache_key
from tests.integration.conftest import load
from tests.loader_checks import (
    differences,
    duplicate_keys,
    loader_env,
    pass_quota_reset,
    simulator_tables,
    unique_indexes,
)
from zoho_sim import ZohoSimulator
from zoho_sim.api import STREAM_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_sim(clean_warehouse, tmp_path, monkeypatch) -> Iterator:
    """Start a simulator of a given scale and point the loader's environment at it."""
    started: list[ZohoSimulator] = []

    def start(scale: object = "unit", **limits: object) -> ZohoSimulator:
        # The loader's own limiter is lifted in tests (loader_env), so lift Zoho's
        # per-minute window too unless a test is about it.
        limits.setdefault("per_minute", 100_000)
        sim = ZohoSimulator(scale=scale, seed=3, **limits).start()
        started.append(sim)
        for name, value in loader_env(sim, clean_warehouse, tmp_path).items():
            monkeypatch.setenv(name, value)
        return sim

    yield start
    for sim in started:
        sim.stop()


def when_calls_reach(sim: ZohoSimulator, count: int, action) -> threading.Thread:
    """Run `action` once the simulator has answered `count` API calls (a test helper
    thread; bounded to 60 s)."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sim.counters["api_calls"] >= count:
                action()
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_token_expiring_mid_run_is_refreshed_once_and_nothing_is_lost(make_sim, pg_query):
    sim = make_sim(latency_seconds=0.005)
    watcher = when_calls_reach(sim, 15, sim.expire_tokens)

    result = load()

    watcher.join(timeout=1)
    assert sim.counters["statuses"].get(401, 0) >= 1, "the token did expire mid-run"
    assert sim.counters["tokens_minted"] == result.tokens_minted == 2
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}


def test_stale_cached_token_is_replaced_and_the_request_re_signed(make_sim, tmp_path):
    sim = make_sim()
    key = cache_key(sim.accounts_url, sim.client_id, sim.refresh_token)
    cache = {key: {"access_token": "1000.revoked.token", "expires_at": time.time() + 3000}}
    (tmp_path / "zoho_token.json").write_text(json.dumps(cache))

    result = load(resources=["organizations"])

    assert result.status == "success"
    assert sim.counters["statuses"].get(401) == 1
    assert sim.counters["tokens_minted"] == 1
    assert sim.calls("GET /organizations") == 2  # the 401, then the re-signed retry


def test_429_storms_back_off_and_load_everything(make_sim, pg_query):
    sim = make_sim(
        per_minute=10, per_minute_window_seconds=0.3, max_concurrent=2, latency_seconds=0.005
    )

    result = load()

    limited = sim.counters["rate_limited"]
    assert limited.get(44, 0) > 0 and limited.get(1070, 0) > 0, limited
    assert result.status == "success"
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}


def test_injected_faults_and_repeated_records_change_nothing(make_sim, pg_query):
    sim = make_sim(
        {"items": 450, "contacts": 450, "invoices": 250},
        fault_rate=0.12,
        slow_seconds=0.05,
        duplicate_rate=0.6,
    )

    load(details_budget=1000)  # 250 invoices and 75 bills: one run reads every detail

    faults = sim.counters["faults"]
    assert {"http500", "http503_html", "truncated_json", "dropped_connection"} <= set(faults)
    assert sim.counters["duplicates"] > 0
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}


def staged_tables(pg_query) -> set[str]:
    """Tables in the staging datasets dlt's merges copy into (none before a merge)."""
    rows = pg_query(
        "select tablename from pg_tables where schemaname like 'zoho_staging%%staging%%'"
    )
    return {name for (name,) in rows}


def test_a_first_load_goes_straight_in_and_keeps_the_newest_copy_of_a_repeated_key(
    make_sim, pg_query, caplog
):
    sim = make_sim({"items": 1500, "contacts": 20, "invoices": 20})
    # Renamed while the listing (sorted by name) is read: listed first as it was and again
    # last as renamed, farther apart than the listing's window for repeats.
    names = {item["name"]: item_id for item_id, item in sim.items.items()}
    moved, renamed = names[min(names)], max(names) + " renamed while listed"
    sim.after_call("GET /items", 1, sim.update_item, moved, name=renamed)

    with caplog.at_level(logging.INFO, logger="loader"):
        result = load()

    assert result.status == "success"
    assert pg_query("select name from zoho_staging.items where item_id = %s", (moved,)) == [
        (renamed,)
    ]
    assert duplicate_keys(pg_query) == {}
    assert "items" in unique_indexes(pg_query)
    assert "items" not in staged_tables(pg_query)  # written straight into the table
    [kept] = [r.getMessage() for r in caplog.records if "kept the newest" in r.getMessage()]
    assert "items" in kept

    sim.advance(60)
    sim.update_item(moved, rate=4321)
    load()  # the table exists now: merged as before

    assert "items" in staged_tables(pg_query)
    assert duplicate_keys(pg_query) == {}
    assert differences(pg_query, sim) == {}


def test_killed_run_is_finished_by_the_next_run(make_sim, pg_query, clean_warehouse, tmp_path):
    sim = make_sim({"items": 300, "contacts": 40, "invoices": 200}, latency_seconds=0.02)
    env = {**os.environ, **loader_env(sim, clean_warehouse, tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "loader", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while sim.calls("GET /invoices/{id}") < 25 and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, "the run was still going when killed"

    load()

    assert pg_query("select status from zoho_staging.sync_runs order by started_at") == [
        ("failed",),
        ("success",),
    ]
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}


def test_quota_exhaustion_keeps_what_was_loaded_and_the_next_run_completes(make_sim, pg_query):
    sim = make_sim(daily_quota=20)

    first = load()

    assert first.status == "quota_exhausted" and first.exit_code == 3
    # invoices' details first; the bills' and stock readers, started beside them, stop too
    assert first.stopped_by_quota[0] == "invoice_details"
    assert set(first.stopped_by_quota) <= {
        "invoice_details",
        "bill_details",
        "item_stock_readings",
    }
    details = pg_query("select count(*) from zoho_staging.invoice_details")[0][0]
    assert 0 < details < len(sim.invoices)
    bill_details = (
        pg_query(
            "select count(*) from information_schema.tables where table_name = 'bill_details'"
        )[0][0]
        and pg_query("select count(*) from zoho_staging.bill_details")[0][0]
    )
    assert first.details_pending == len(sim.invoices) + len(sim.bills) - details - bill_details
    assert pg_query("select count(*) from zoho_staging.items")[0][0] == len(sim.items)
    [(status, error)] = pg_query("select status, error from zoho_staging.sync_runs")
    assert status == "quota_exhausted"
    assert error.startswith("daily API quota used up during: invoice_details")
    refused = sim.counters["rate_limited"].get(45, 0)
    # only the calls already in flight when the quota ran out are refused (invoices' and
    # bills' detail readers: 5 each at most); no new ones
    assert 1 <= refused <= 10, refused

    pass_quota_reset(sim, pg_query)
    sim.configure(daily_quota=10_000)
    second = load()

    assert second.status == "success" and second.details_pending == 0
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}


def test_quota_stop_mid_invoice_listing_keeps_the_cursor_for_the_rest(make_sim, pg_query):
    sim = make_sim({"items": 20, "contacts": 10, "invoices": 450}, daily_quota=1)

    first = load(resources=["invoices"])

    assert first.status == "quota_exhausted"
    assert pg_query("select count(*) from zoho_staging.invoices") == [(200,)]
    pass_quota_reset(sim, pg_query)
    sim.configure(daily_quota=10_000)
    load(resources=["invoices"])

    assert pg_query("select count(*) from zoho_staging.invoices") == [(len(sim.invoices),)]
    assert duplicate_keys(pg_query) == {}


def test_price_list_cut_off_mid_stream_fails_clearly_and_marks_nothing_deleted(make_sim, pg_query):
    sim = make_sim({"items": 7000, "contacts": 2, "invoices": 2})
    price_lists = ["pricebooks", "pricebook_items"]
    load(resources=price_lists)
    stored_sql = (
        "select pricebook_id, item_id, is_deleted, content_hash "
        "from zoho_staging.pricebook_items order by 1, 2"
    )
    stored = pg_query(stored_sql)
    first = next(  # the first list read (by name) is the biggest: sent chunked
        p
        for p, pb in sorted(sim.pricebooks.items(), key=lambda kv: kv[1]["name"])
        if pb["pricebook_type"] == "per_item"
    )
    rows = sim.pricebooks[first]["pricebook_items"]
    assert len(rows) > STREAM_THRESHOLD
    gone = [row["item_id"] for row in rows[-50:]]  # past the cut: unseen by the broken run
    for item_id in gone:
        sim.remove_pricebook_item(first, item_id)
    sim.configure(fault_endpoints=("GET /pricebooks/{id}",))
    sim.inject_fault("cut_stream")

    with pytest.raises(Exception) as raised:
        load(resources=price_lists)

    error = find_loader_error(raised.value)
    assert isinstance(error, BrokenAnswer)
    assert f"GET /pricebooks/{first} broke off" in str(error)
    assert pg_query(stored_sql) == stored
    runs = pg_query("select status, error from zoho_staging.sync_runs order by started_at")
    assert runs[-1] == ("failed", str(error))

    load(resources=price_lists)  # the fault is spent: the list arrives whole

    live = pg_query(
        "select pricebook_id, item_id, pricebook_rate from zoho_staging.pricebook_items "
        "where not is_deleted"
    )
    expected = simulator_tables(sim)["pricebook_items"]
    assert {(p, i, r.normalize()) for p, i, r in live} == expected
    deleted = pg_query(
        "select item_id from zoho_staging.pricebook_items where pricebook_id = %s and is_deleted",
        (first,),
    )
    assert sorted(row[0] for row in deleted) == sorted(gone)
    assert duplicate_keys(pg_query) == {}
