"""The budget holds over a simulated day: the real loader (in-process `run_sync`, real dlt
pipeline, real PostgreSQL) against the simulator, whose clock it follows
(ZOHO_BOOKS_CLOCK=zoho_sim.loader_clock:now, loader/clock.py) while `sim.advance`
fast-forwards the day.

To stay well under a minute of test time the day is 24 runs at 1-hour intervals (`make
bench` runs the 96-run day at 15 minutes on the demo data), on the simulator's smallest
data set (40 items, 12 contacts, 30 invoices: a complete listing of items is one call, of
price lists 7) with a budget scaled down to match: 150 calls, 15 reserved. Incremental
work (invoices and contacts every run) costs 49 calls a day, invoice details about 30:
the complete listings share the rest and cannot all run every run. Before every run one
item, one contact and one invoice are edited; before the second an invoice and a contact
are deleted, just after the first load's deletion checks."""

from __future__ import annotations

from itertools import pairwise

import pytest

from bench.day import RealDay, first_load, real_day, warm_up
from loader.run.pipeline import RunOptions, run_sync
from tests.integration.conftest import connect
from tests.loader_checks import loader_env
from zoho_sim import ZohoSimulator

BUDGET = 150
RESERVED = 15
CRON = 3600
RUNS = 24


@pytest.fixture(scope="module")
def day(pg_env, tmp_path_factory) -> RealDay:
    monkeypatch = pytest.MonkeyPatch()
    sim = ZohoSimulator("unit", seed=1, per_minute=100_000, daily_quota=BUDGET)
    sim.start()
    conn = connect(pg_env)
    conn.autocommit = True

    def query(sql: str, params: tuple = ()) -> list[tuple]:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    try:
        query("drop schema if exists zoho_staging cascade")
        env = loader_env(sim, pg_env, tmp_path_factory.mktemp("budget_day"))
        env |= {"ZOHO_BOOKS_CLOCK": "zoho_sim.loader_clock:now", "ZOHO_SIM_URL": sim.base_url}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        warm_up(sim, first_load, CRON)
        monkeypatch.setenv("SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET", str(BUDGET))
        monkeypatch.setenv("SOURCES__ZOHO_BOOKS__RESERVED_CALLS", str(RESERVED))
        yield real_day(sim, lambda: run_sync(RunOptions()), query, RUNS, CRON)
    finally:
        conn.close()
        monkeypatch.undo()
        sim.stop()


def test_the_calls_the_simulator_counted_for_the_day_stay_within_budget_less_reserve(day):
    assert 0 < day.calls <= BUDGET - RESERVED
    assert day.statuses == {"success": RUNS + 1}


def test_invoices_and_contacts_edited_before_a_run_are_in_the_warehouse_after_it(day):
    assert day.lag["invoices"] == day.lag["contacts"] == CRON - 1
    assert day.open_edits["invoices"] == day.open_edits["contacts"] == 0


def test_items_are_refreshed_at_least_at_the_interval_the_plan_announced(day):
    longest = day.longest_announced()["items"]
    assert longest is not None and longest > CRON  # the budget does not allow every run
    assert day.lag["items"] <= longest + CRON  # at most one run late (below)
    # The first load (one interval before the day) counts as a refresh; between any two the
    # plans of the runs in between said how long items may wait. The run after the first
    # load plans for the default 15-minute cron (one run shows no interval yet), so the first
    # gap may be the longest. A listing is due at the first run at or after its interval:
    # the planner rounds the interval up to the cron it observed, and the observed cron
    # includes each run's own seconds on the simulator's clock (it runs in real time during
    # a run, slower on a loaded machine), so an interval may end just after a run (14,632 s
    # against runs 3,600 s apart, seen in CI); the refresh is then the next run's. Near the
    # day's end a due listing was also seen deferred by one run (18,000 s after a 14,400 s
    # plan): the bound this test holds the planner to is one run beyond its announcement.
    refreshed = [-float(CRON), *day.refreshed_at["items"]]
    assert len(refreshed) > 2  # refreshed during the day, more than once
    for start, end in pairwise(refreshed):
        runs_between = range(int(start // CRON) + 1, int(end // CRON) + 1)
        announced = max(day.announced[k]["items"] or 0 for k in runs_between)
        assert end - start <= announced + CRON


def test_a_deleted_invoice_and_contact_are_flagged_within_the_reconciliation_interval(day):
    for check in ("invoice_deletions", "contact_deletions"):
        assert day.lag[check] is not None
        assert CRON < day.lag[check] <= day.longest_announced()[check]
