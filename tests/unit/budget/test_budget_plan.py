"""The daily call budget planner (loader/run/budget/): each rule, as a user would see it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from loader.run import budget
from loader.run.budget import model as budget_model
from loader.run.budget import plan
from loader.run.budget.model import PastRun, PlanInputs, QuotaSeen, Sizes, SpentCalls

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
DEMO = Sizes(items=1_379, per_item_pricebooks=6, contacts=200, invoices=1_000)
BIG = Sizes(items=100_000, per_item_pricebooks=6, contacts=100_000, invoices=100_000)
LISTINGS = budget_model.COMPLETE_LISTINGS


def cron_runs(count: int = 40, every: timedelta = 15 * MIN, calls: int = 2) -> list[PastRun]:
    """`count` earlier runs, the last one `every` ago."""
    return [PastRun(NOW - every * k, calls) for k in range(1, count + 1)]


def fresh(age: timedelta, names=LISTINGS) -> dict[str, datetime]:
    return {name: NOW - age for name in [*names, budget_model.ORGANIZATIONS]}


def test_without_settings_or_headers_the_budget_is_the_free_plan_less_a_tenth():
    p = plan(PlanInputs(now=NOW))
    assert (p.budget, p.reserved, p.allowance) == (1_000, 100, 900)


def test_budget_defaults_to_the_daily_limit_zoho_reported():
    seen = QuotaSeen(seen_at=NOW - MIN, limit=7_500, remaining=7_000)
    assert plan(PlanInputs(now=NOW, quota=seen)).budget == 7_500


def test_budget_setting_and_reserve_setting_win_over_the_defaults():
    seen = QuotaSeen(seen_at=NOW - MIN, limit=7_500, remaining=7_400)
    p = plan(PlanInputs(now=NOW, quota=seen, daily_budget=2_000, reserved_calls=0))
    assert (p.budget, p.reserved, p.allowance) == (2_000, 0, 2_000)


def test_calls_today_count_only_runs_of_the_utc_day_before_any_header():
    runs = [PastRun(NOW - timedelta(hours=11), 300), PastRun(NOW - timedelta(hours=13), 500)]
    p = plan(PlanInputs(now=NOW, runs=runs))
    assert p.day_start == datetime(2026, 11, 26, tzinfo=timezone.utc)
    assert p.calls_today == 300


def test_the_webhook_workers_completing_gets_count_in_todays_calls_and_leave_less():
    runs = cron_runs(count=8, calls=2)
    # GETs completing webhook events: two minutes of today, one of yesterday
    worker = [
        SpentCalls(NOW - timedelta(hours=2), 150),
        SpentCalls(NOW - 5 * MIN, 50),
        SpentCalls(NOW - timedelta(hours=13), 999),
    ]
    without = plan(PlanInputs(now=NOW, runs=runs))
    spent = plan(PlanInputs(now=NOW, runs=runs, worker_calls=worker))

    assert spent.calls_today == without.calls_today + 200
    assert spent.spendable == without.spendable - 200
    assert spent.summary()[0].startswith(f"API calls today: {without.calls_today + 200} of 900")


def test_quota_day_follows_zoho_reset_time_once_seen():
    # Zoho said at 11:00 the window resets in 3 hours: the day is 14:00 yesterday to 14:00.
    seen = QuotaSeen(seen_at=NOW - 60 * MIN, limit=1_000, reset_at=NOW + 2 * 60 * MIN)
    runs = [PastRun(NOW - timedelta(hours=21), 400), PastRun(NOW - timedelta(hours=23), 500)]
    p = plan(PlanInputs(now=NOW, runs=runs, quota=seen))
    assert (p.day_start, p.day_end) == (NOW - timedelta(hours=22), NOW + timedelta(hours=2))
    assert p.calls_today == 400
    # a reset time seen days ago still marks the window, 24 hours at a time
    old = QuotaSeen(seen_at=NOW - timedelta(days=3), reset_at=NOW - timedelta(days=2, hours=1))
    assert plan(PlanInputs(now=NOW, quota=old)).day_end == NOW + timedelta(hours=23)


def test_cron_interval_is_the_median_gap_of_recent_runs_not_a_manual_run_between():
    runs = [*cron_runs(12, every=30 * MIN), PastRun(NOW - 100 * MIN, 2)]
    assert plan(PlanInputs(now=NOW, runs=runs)).cron == 30 * MIN
    assert plan(PlanInputs(now=NOW)).cron == budget.DEFAULT_CRON


def test_invoices_and_contacts_run_every_run_while_listings_wait_their_interval():
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=cron_runs(), refreshed=fresh(15 * MIN)))
    assert p.resources == budget_model.INCREMENTAL  # invoices, contacts, bills
    assert not any(c.runs_now for c in p.cadences.values())


def test_free_plan_lists_the_demo_items_every_45_minutes_and_checks_deletions_daily():
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=cron_runs(), daily_budget=1_000))
    assert p.cadences[budget_model.ITEMS].interval == 45 * MIN
    assert p.cadences[budget_model.PRICEBOOKS].interval == 45 * MIN
    assert p.cadences[budget_model.CONTACT_DELETIONS].interval == timedelta(days=1)
    assert p.cadences[budget_model.INVOICE_DELETIONS].interval == timedelta(days=1)
    assert "every 45 min: 7 calls a complete listing" in p.cadences[budget_model.ITEMS].why


def test_invoice_details_read_in_the_last_day_slow_the_complete_listings():
    busy = [PastRun(r.started_at, 6, details=4) for r in cron_runs(96)]
    quiet = plan(PlanInputs(now=NOW, sizes=DEMO, runs=cron_runs(96), daily_budget=1_000))
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=busy, daily_budget=1_000))
    assert p.cadences[budget_model.ITEMS].interval > quiet.cadences[budget_model.ITEMS].interval
    assert "384 to invoice details" in p.cadences[budget_model.ITEMS].why


def test_a_details_backfill_still_leaves_complete_listings_a_quarter_of_the_day():
    sizes = Sizes(**{**BIG.__dict__, "pending_details": 100_000})
    p = plan(PlanInputs(now=NOW, sizes=sizes, runs=cron_runs(), daily_budget=10_000))
    room = 9_000 - 289  # 96 runs of invoices, contacts and bills; organizations once
    assert p.cadences[budget_model.ITEMS].interval is not None
    assert "2178 calls a day complete listings get" in p.cadences[budget_model.ITEMS].why
    assert round(room * budget.LISTING_SHARE_MIN) == 2178


def test_an_ample_budget_lists_items_every_run():
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=cron_runs(), daily_budget=10_000))
    assert p.cadences[budget_model.ITEMS].interval == 15 * MIN
    assert p.cadences[budget_model.ITEMS].why.startswith("every run (15 min)")


def test_cheap_price_lists_stay_fresh_beside_an_expensive_items_listing():
    p = plan(PlanInputs(now=NOW, sizes=BIG, runs=cron_runs(), daily_budget=2_000))
    assert p.cadences[budget_model.PRICEBOOKS].interval <= timedelta(hours=2)
    assert p.cadences[budget_model.ITEMS].interval > timedelta(days=1)


def test_listings_due_now_run_oldest_refreshed_first_when_not_all_fit():
    refreshed = {
        **fresh(
            timedelta(days=1),
            names=[budget_model.CONTACT_DELETIONS, budget_model.INVOICE_DELETIONS],
        ),
        budget_model.ITEMS: NOW - timedelta(days=5),
        budget_model.PRICEBOOKS: NOW - 15 * MIN,
    }
    refreshed[budget_model.INVOICE_DELETIONS] = NOW - timedelta(days=6)
    # 900 calls left today: one 500-call listing fits beside later runs' needs, not two
    p = plan(
        PlanInputs(
            now=NOW,
            sizes=BIG,
            runs=cron_runs(calls=15),
            refreshed=refreshed,
            daily_budget=1_500,
            reserved_calls=0,
        )
    )
    assert budget_model.INVOICE_DELETIONS in p.resources
    assert budget_model.ITEMS not in p.resources
    assert "deferred" in p.cadences[budget_model.ITEMS].why


def test_a_run_never_plans_more_than_the_day_has_left():
    runs = cron_runs(calls=21)  # 40 runs today, 840 calls of the 900 allowed
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=runs, daily_budget=1_000))
    assert p.calls_today == 840
    assert p.planned_calls <= p.spendable == 60
    assert budget_model.ITEMS not in p.resources
    assert "deferred" in p.cadences[budget_model.ITEMS].why
    assert p.resources[:2] == (budget_model.INVOICES, budget_model.CONTACTS)


def test_a_spent_day_makes_no_call():
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=cron_runs(calls=23), daily_budget=1_000))
    assert p.spendable == 0
    assert p.resources == () and p.planned_calls == 0


def test_other_integrations_spending_beyond_their_reserve_lowers_this_run():
    # Our runs spent 80 today; Zoho says 150 remain: others used 770, far over their 100.
    seen = QuotaSeen(seen_at=NOW - 15 * MIN, limit=1_000, remaining=150)
    runs = cron_runs(40, calls=2)
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=runs, quota=seen))
    assert p.calls_today == 80
    assert p.spendable == 150


def test_reserve_not_yet_used_by_others_is_kept_out_of_zoho_remaining():
    # Zoho: 830 remain, we spent the 170 used: the others' 100 must stay in the 830.
    seen = QuotaSeen(seen_at=NOW - 15 * MIN, limit=1_000, remaining=830)
    p = plan(PlanInputs(now=NOW, runs=[PastRun(NOW - 15 * MIN, 170)], quota=seen))
    assert p.spendable == 730


def test_budget_too_small_for_one_items_listing_says_so_in_one_line_and_keeps_invoices_fresh():
    p = plan(PlanInputs(now=NOW, sizes=BIG, runs=cron_runs(), daily_budget=600))
    items_notes = [n for n in p.notes if "items" in n]
    assert len(items_notes) == 1 and "\n" not in items_notes[0]
    assert "budget too small for items" in items_notes[0]
    assert "DAILY_CALL_BUDGET" in items_notes[0]
    assert p.cadences[budget_model.ITEMS].interval is None
    assert budget_model.ITEMS not in p.resources
    assert p.resources[:2] == (budget_model.INVOICES, budget_model.CONTACTS)
    assert items_notes[0] in p.summary()


def test_webhook_events_turn_the_items_listing_into_a_daily_safety_net():
    inputs = dict(now=NOW, sizes=DEMO, runs=cron_runs(), daily_budget=10_000)
    p = plan(PlanInputs(**inputs, webhook_families=frozenset({"items"})))
    assert p.cadences[budget_model.ITEMS].interval == timedelta(days=1)
    assert "webhooks deliver items changes" in p.cadences[budget_model.ITEMS].why
    assert plan(PlanInputs(**inputs)).cadences[budget_model.ITEMS].interval == 15 * MIN


def test_no_call_is_planned_before_the_reset_after_a_quota_stop():
    reset = NOW + 90 * MIN
    p = plan(PlanInputs(now=NOW, sizes=DEMO, quota_stop_until=reset))
    assert p.resources == () and p.planned_calls == 0 and p.details_budget == 0
    assert p.wait_until == reset
    assert "13:30 UTC" in p.notes[0]
    after = plan(PlanInputs(now=reset + MIN, sizes=DEMO, quota_stop_until=reset))
    assert after.wait_until is None and budget_model.INVOICES in after.resources


def test_zoho_reporting_nothing_remaining_waits_for_its_reset():
    seen = QuotaSeen(seen_at=NOW - MIN, limit=1_000, remaining=0, reset_at=NOW + 60 * MIN)
    p = plan(PlanInputs(now=NOW, sizes=DEMO, quota=seen))
    assert p.resources == () and p.wait_until == NOW + 60 * MIN


def test_a_few_pending_details_are_all_read_at_once():
    sizes = Sizes(**{**DEMO.__dict__, "pending_details": 4})
    p = plan(PlanInputs(now=NOW, sizes=sizes, runs=cron_runs(), refreshed=fresh(15 * MIN)))
    assert p.details_budget == 4
    assert budget_model.INVOICE_DETAILS in p.resources


def test_a_details_backlog_takes_what_the_rest_of_the_day_is_not_promised():
    # issue 23: 628 details pending with 9,597 calls left were read ~100 a run
    sizes = Sizes(**{**DEMO.__dict__, "pending_details": 628})
    inputs = dict(now=NOW, sizes=sizes, runs=cron_runs(48), refreshed=fresh(15 * MIN))
    p = plan(PlanInputs(**inputs, daily_budget=10_000, details_cap=1_000))
    assert p.details_budget == 628
    capped = plan(PlanInputs(**inputs, daily_budget=10_000, details_cap=300))
    assert capped.details_budget == 300  # the per-run DETAILS_BUDGET still caps it


def test_a_details_backfill_leaves_later_runs_their_incremental_calls_and_due_listings():
    sizes = Sizes(**{**DEMO.__dict__, "pending_details": 100_000})
    inputs = dict(now=NOW, sizes=sizes, runs=cron_runs(48), refreshed=fresh(15 * MIN))
    p = plan(PlanInputs(**inputs, daily_budget=1_000, details_cap=100_000))
    runs_left = (p.day_end - NOW) // p.cron  # after this one
    assert p.details_budget > 100  # not ~700 free calls spread over 48 runs
    assert p.calls_today + p.planned_calls + runs_left * 2 <= p.allowance
    assert p.projected_calls <= p.allowance


def test_without_a_backlog_changed_invoices_details_get_an_even_share():
    busy = [PastRun(r.started_at, 6, details=40) for r in cron_runs(96)]
    sizes = Sizes(**{**DEMO.__dict__, "pending_details": 10})  # fewer than a run's arrivals
    p = plan(PlanInputs(now=NOW, sizes=sizes, runs=busy, refreshed=fresh(15 * MIN)))
    assert 0 < p.details_budget < 50


def test_the_plan_says_when_pending_details_should_all_be_read():
    sizes = Sizes(**{**DEMO.__dict__, "pending_details": 1_000})
    inputs = dict(now=NOW, sizes=sizes, runs=cron_runs(48), refreshed=fresh(15 * MIN))
    p = plan(PlanInputs(**inputs, daily_budget=100_000, details_cap=300))
    assert p.details_budget == 300
    assert p.details_caught_up_at == NOW + 3 * p.cron  # 700 left: 300 + 300 + 100
    assert json.loads(json.dumps(p.to_json()))["details_caught_up_at"] == (
        p.details_caught_up_at.isoformat()
    )
    tight = plan(PlanInputs(**inputs, daily_budget=1_000, details_cap=300))
    assert tight.details_caught_up_at is not None and tight.details_caught_up_at > tight.day_end
    done = plan(PlanInputs(**{**inputs, "sizes": Sizes(**{**DEMO.__dict__, "pending_details": 4})}))
    assert done.details_caught_up_at == NOW


def test_projected_day_at_this_cadence_stays_within_the_allowance():
    for size in (DEMO, BIG):
        for daily in (1_000, 2_000, 10_000):
            p = plan(PlanInputs(now=NOW, sizes=size, runs=cron_runs(calls=5), daily_budget=daily))
            assert p.calls_today + p.planned_calls <= p.allowance
            assert p.projected_calls <= p.allowance


def test_status_lines_show_todays_calls_projection_and_each_interval_with_why():
    p = plan(PlanInputs(now=NOW, sizes=DEMO, runs=cron_runs(), daily_budget=1_000))
    lines = p.summary()
    assert lines[0].startswith("API calls today: 80 of 900 (budget 1000, 100 reserved")
    assert "projected for the day" in lines[0]
    for name in LISTINGS:
        assert any(line.strip().startswith(f"{name}: ") for line in lines)
    recorded = json.loads(json.dumps(p.to_json()))
    assert recorded["cadences"]["items"]["interval_seconds"] == 45 * 60
    assert recorded["cadences"]["items"]["why"] == p.cadences[budget_model.ITEMS].why


def test_a_first_load_reads_details_of_the_invoices_it_lists():
    # no invoice stored yet: the run's own listing is the backlog; reading none would leave
    # invoice_details and invoice_line_items unmade and the marts' build failing
    first = Sizes(items=0, per_item_pricebooks=0, contacts=0, invoices=0, pending_details=None)
    p = plan(PlanInputs(now=NOW, sizes=first, details_cap=300))
    assert 0 < p.details_budget <= 300
    assert budget_model.INVOICE_DETAILS in p.resources
