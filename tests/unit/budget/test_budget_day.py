"""The simulated days of `make bench` (bench/day.py): the budget holds day after day."""

from datetime import timedelta

import pytest

from bench import day

DEMO, BIG = day.WORLDS
CRON_HOURS = day.CRON / timedelta(hours=1)


def test_the_business_case_fits_a_free_plan_day_with_deletion_checks_daily():
    # 1,319 products (1,379 items), a 15-minute cron, the Free plan's 1,000 calls
    outcome = day.simulate(DEMO, 1_000, planned=True).as_json()
    assert outcome["busiest_day_calls"] <= 900  # a tenth stays free for other integrations
    assert outcome["quota_stops"] == 0
    stale = outcome["worst_staleness_hours"]
    assert stale["invoices"] == stale["contacts"] == CRON_HOURS
    assert stale["contact_deletions"] <= 24 and stale["invoice_deletions"] <= 24
    assert stale["items"] <= 1


def test_todays_fixed_plan_overruns_the_free_plan_and_stops_at_the_quota():
    outcome = day.simulate(DEMO, 1_000, planned=False).as_json()
    assert outcome["quota_stops"] > 0
    assert outcome["worst_staleness_hours"]["invoice_deletions"] is None


@pytest.mark.parametrize("world", [DEMO, BIG], ids=["demo", "100k"])
@pytest.mark.parametrize("budget", day.BUDGETS)
def test_every_simulated_day_stays_within_budget_less_reserve(world, budget):
    outcome = day.simulate(world, budget, planned=True)
    assert max(outcome.calls_by_day) <= budget - round(budget / 10)
    assert outcome.quota_stops == 0
    assert outcome.worst["invoices"] == day.CRON


def test_the_days_table_has_a_heading_for_every_column_it_prints():
    results = {
        "demo @ 1000": {
            "world": "demo",
            "budget": 1_000,
            "allowance": 900,
            "planned": day.simulate(DEMO, 1_000, planned=True).as_json(),
            "fixed": day.simulate(DEMO, 1_000, planned=False).as_json(),
        }
    }
    table = [line for line in day.render(results) if line.startswith("|")]
    heading, rule, *rows = table
    assert rows
    for line in (rule, *rows):
        assert line.count("|") == heading.count("|"), line
    assert "| bills |" in heading and "| deleted bills |" in heading
