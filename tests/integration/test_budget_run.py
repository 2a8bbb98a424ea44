"""The API budget planner in the loader run, against the simulator: what a planned run
fetches, what sync_runs and `loader status` show, and the quota's reset time respected."""

from __future__ import annotations

import json

import pytest

from loader.__main__ import _print_status
from loader.ops.status import read_status
from loader.run.pipeline import RunOptions, RunResult, run_sync
from tests.loader_checks import loader_env, pass_quota_reset
from zoho_sim import ZohoSimulator


@pytest.fixture
def sim(zoho_sim, clean_warehouse, tmp_path, monkeypatch) -> ZohoSimulator:
    zoho_sim.configure(per_minute=100_000)
    env = loader_env(zoho_sim, clean_warehouse, tmp_path, daily_call_budget="1000")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return zoho_sim


def load(sim: ZohoSimulator, **options) -> RunResult:
    sim.reset_counters()
    return run_sync(RunOptions(**options))


def plan_of(pg_query, run_id: str) -> dict:
    (row,) = pg_query("select plan from zoho_staging.sync_runs where run_id = %s", (run_id,))
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def test_a_planned_run_records_its_plan_and_the_next_run_skips_listings_not_due(sim, pg_query):
    first = load(sim)
    assert first.status == "success"
    plan = plan_of(pg_query, first.run_id)
    assert plan["budget"] == 1000 and plan["reserved"] == 100
    assert set(plan["cadences"]) == {
        "items",
        "pricebooks",
        "contact_deletions",
        "invoice_deletions",
        "bill_deletions",
    }
    assert sim.calls("GET /items") > 0

    second = load(sim)

    assert second.status == "success"
    assert sim.calls("GET /items") == 0 and sim.calls("GET /pricebooks") == 0
    assert sim.calls("GET /invoices") == 1 and sim.calls("GET /contacts") == 1
    why = plan_of(pg_query, second.run_id)["cadences"]["items"]["why"]
    assert "a complete listing" in why
    assert plan_of(pg_query, second.run_id)["calls_today"] == first.api_calls


def test_status_shows_todays_calls_the_projected_day_and_each_interval_with_why(sim, capsys):
    load(sim)
    report = read_status(RunOptions())
    summary = report.runs[0]["plan"]["summary"]
    assert summary[0].startswith("API calls today: 0 of 900 (budget 1000, 100 reserved")
    assert any(line.strip().startswith("items: ") for line in summary)
    _print_status(report)
    printed = capsys.readouterr().out
    assert "API budget (as the last run planned it):" in printed
    assert "projected for the day at one run every 15 min" in printed


def test_no_call_before_the_reset_after_a_quota_stop_then_the_run_resumes(sim, pg_query):
    sim.configure(daily_quota=5)
    first = load(sim)
    assert first.status == "quota_exhausted" and first.exit_code == 3
    (reset_at,) = pg_query("select quota_reset_at from zoho_staging.sync_runs")[0]
    assert reset_at is not None

    waiting = load(sim)

    assert waiting.status == "waiting" and waiting.exit_code == 3
    assert waiting.api_calls == 0 and sim.counters["api_calls"] == 0
    assert sim.counters["tokens_minted"] == 0
    (error,) = pg_query(
        "select error from zoho_staging.sync_runs where run_id = %s", (waiting.run_id,)
    )[0]
    assert "no call before then" in error

    sim.configure(daily_quota=10_000)
    pass_quota_reset(sim, pg_query)
    resumed = load(sim)

    assert resumed.status == "success"
    assert sim.counters["api_calls"] > 0


def test_a_budget_too_small_for_the_items_listing_says_so_and_keeps_invoices_fresh(
    sim, pg_query, monkeypatch
):
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET", "193")
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__RESERVED_CALLS", "0")
    load(sim, resources=["items"])  # the warehouse knows the items (as after a first load)
    result = load(sim)

    assert sim.calls("GET /items") == 0
    assert sim.calls("GET /invoices") == 1 and sim.calls("GET /contacts") == 1
    notes = plan_of(pg_query, result.run_id)["notes"]
    assert [n for n in notes if n.startswith("budget too small for items")]
    assert pg_query("select count(*) from zoho_staging.invoices")[0][0] == len(sim.invoices)
