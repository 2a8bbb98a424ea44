"""Simulated days of 15-minute runs within Zoho's daily quota (issue 17).

`python -m bench.day` (also part of `make bench`): 96 runs a day for two weeks, on the demo
data set and on 100k items / 100k contacts / 100k invoices, with a trickle of edits and
deletions, for daily budgets of 1,000, 2,000 and 10,000 calls. Each run is planned by
loader.budget (the planner the loader runs) and costed by a model of what each call
fetches; today's fixed plan (every listing every run, no deletion checks) runs beside
it. Figures: the busiest day's calls (the plan must stay within budget - reserve) and
the worst staleness of each resource over the second week (how old the freshest view of it got
before a run brought it up to date; deletions: how long a deleted record went unnoticed).

Zoho's quota is modelled as the budget itself, shared with other integrations that
spend the reserve evenly over the day; a call beyond it is refused (code 45) and the
fixed plan's run stops there, as the loader does.

The cost model: a listing of n records costs ceil(n/200) calls (at least one); price
lists cost one listing call plus one per per_item list; invoices (modified filter) and
contacts (newest first) cost the pages of what changed since the last run; an invoice
detail costs one call.
"""

from __future__ import annotations

import json
import math
import sys
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from loader import budget
from loader.budget import PastRun, PlanInputs, QuotaSeen, Sizes

START = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday, 00:00 UTC
CRON = timedelta(minutes=15)
DAYS = 14  # the first week settles the cadences; staleness is measured in the second
MEASURED_FROM = START + timedelta(days=7)
BUDGETS = (1_000, 2_000, 10_000)
DETAILS_CAP = 300  # loader default DETAILS_BUDGET
RESOURCES = (
    "invoices",
    "contacts",
    "invoice_details",
    "items",
    "pricebooks",
    "contact_deletions",
    "invoice_deletions",
)


@dataclass(frozen=True)
class World:
    """One organization and its daily trickle of edits."""

    name: str
    items: int
    per_item_pricebooks: int
    contacts: int
    invoices: int
    item_edits: int  # a day
    contact_edits: int
    invoice_edits: int  # new or changed (each needs its details read again)
    deletions: int  # contacts and invoices each, a day

    @property
    def sizes(self) -> Sizes:
        return Sizes(self.items, self.per_item_pricebooks, self.contacts, self.invoices)


# The demo data set (zoho_sim "demo": 1,379 items of which 1,319 are products on sale,
# 6 per_item price lists, 200 contacts, 1,000 invoices) and the bench's 100k size.
WORLDS = (
    World("demo", 1_379, 6, 200, 1_000, 20, 5, 20, 1),
    World("100k", 100_000, 6, 100_000, 100_000, 500, 100, 500, 5),
)


@dataclass
class Outcome:
    calls_by_day: list[int] = field(default_factory=list)
    worst: dict[str, timedelta | None] = field(default_factory=dict)  # None: never
    quota_stops: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "busiest_day_calls": max(self.calls_by_day),
            "calls_by_day": self.calls_by_day,
            "quota_stops": self.quota_stops,
            "worst_staleness_hours": {
                name: None if value is None else round(value / timedelta(hours=1), 2)
                for name, value in self.worst.items()
            },
        }


class Zoho:
    """The quota: `limit` calls per UTC day, of which other integrations spend `others`
    evenly over the day."""

    def __init__(self, limit: int, others: int) -> None:
        self.limit, self.others = limit, others
        self.used = 0
        self.day = START.date()

    def at(self, now: datetime) -> None:
        if now.date() != self.day:
            self.day, self.used = now.date(), 0
        slot = (now - datetime.combine(now.date(), datetime.min.time(), timezone.utc)) / CRON
        others_so_far = math.floor(self.others * slot / (budget.DAY / CRON))
        self.used = max(self.used, others_so_far)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def spend(self, calls: int) -> int:
        """Calls granted of `calls` (the rest were refused with code 45)."""
        granted = min(calls, self.remaining)
        self.used += granted
        return granted

    def reset_at(self, now: datetime) -> datetime:
        return datetime.combine(now.date(), datetime.min.time(), timezone.utc) + budget.DAY


class Week:
    """The organization's state over the week and what each run brought up to date."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.fresh: dict[str, datetime] = dict.fromkeys(RESOURCES, START)
        self.worst: dict[str, timedelta] = dict.fromkeys(RESOURCES, timedelta(0))
        self.pending: deque[datetime] = deque()  # invoice edits awaiting details, oldest first
        self.changed = {"invoices": 0.0, "contacts": 0.0}
        self.detail_credit = 0.0
        self.ours_today = 0
        self.calls_by_day: list[int] = []
        self.quota_stops = 0

    def tick(self, now: datetime) -> None:
        """A cron interval of edits happens before the run at `now`."""
        per_run = CRON / budget.DAY
        self.changed["invoices"] += self.world.invoice_edits * per_run
        self.changed["contacts"] += self.world.contact_edits * per_run
        self.detail_credit += self.world.invoice_edits * per_run
        while self.detail_credit >= 1:
            self.pending.append(now - CRON / 2)  # edited during the interval
            self.detail_credit -= 1

    def watch(self, now: datetime) -> None:
        """Staleness just before the run at `now`."""
        for name in RESOURCES:
            if name == "invoice_details":
                age = now - self.pending[0] if self.pending else timedelta(0)
            else:
                age = now - self.fresh[name]
            self.worst[name] = max(self.worst[name], age)

    def refreshed(self, name: str, now: datetime) -> None:
        self.fresh[name] = now

    def incremental_cost(self, name: str) -> int:
        changed = self.changed[name]
        return budget.pages(math.ceil(changed) + (1 if name == "contacts" else 0))

    def details(self, count: int) -> None:
        """Read `count` details, newest first (the loader's order)."""
        for _ in range(min(count, len(self.pending))):
            self.pending.pop()

    def close_day(self) -> None:
        self.calls_by_day.append(self.ours_today)
        self.ours_today = 0


def _run_fixed(week: Week, zoho: Zoho, now: datetime) -> bool:
    """Today's plan: every listing every run, details up to the cap; False at code 45."""
    world = week.world
    costs = budget.listing_costs(world.sizes)
    steps = [
        ("items", costs[budget.ITEMS]),
        ("contacts", week.incremental_cost("contacts")),
        ("invoices", week.incremental_cost("invoices")),
        ("pricebooks", costs[budget.PRICEBOOKS]),
    ]
    for name, cost in steps:
        granted = zoho.spend(cost)
        week.ours_today += granted
        if granted < cost:
            return False
        week.refreshed(name, now)
        if name in week.changed:
            week.changed[name] = 0.0
    wanted = min(DETAILS_CAP, len(week.pending))
    granted = zoho.spend(wanted)
    week.ours_today += granted
    week.details(granted)
    return granted == wanted


def _run_planned(
    week: Week, zoho: Zoho, now: datetime, runs: list[PastRun], state: dict[str, Any]
) -> None:
    world = week.world
    sizes = Sizes(**{**world.sizes.__dict__, "pending_details": len(week.pending)})
    refreshed = {name: week.fresh[name] for name in budget.COMPLETE_LISTINGS}
    refreshed[budget.ORGANIZATIONS] = state.get("organizations", START - budget.DAY)
    plan = budget.plan(
        PlanInputs(
            now=now,
            sizes=sizes,
            runs=runs[-200:],
            refreshed=refreshed,
            daily_budget=state["budget"],
            quota=state.get("quota"),
            quota_stop_until=state.get("stop_until"),
            details_cap=DETAILS_CAP,
        )
    )
    costs = budget.listing_costs(world.sizes)
    spent = details = 0
    for name in plan.resources:
        if name == budget.INVOICE_DETAILS:
            cost = plan.details_budget
        elif name in week.changed:
            cost = week.incremental_cost(name)
        elif name == budget.ORGANIZATIONS:
            cost = 1
        else:
            cost = costs[name]
        granted = zoho.spend(cost)
        spent += granted
        if granted < cost:
            state["stop_until"] = zoho.reset_at(now)
            week.quota_stops += 1
            break
        if name == budget.INVOICE_DETAILS:
            week.details(cost)
            details = cost
        elif name == budget.ORGANIZATIONS:
            state["organizations"] = now
        else:
            week.refreshed(name, now)
            if name in week.changed:
                week.changed[name] = 0.0
    week.ours_today += spent
    runs.append(PastRun(now, spent, details))
    state["quota"] = QuotaSeen(
        seen_at=now, limit=zoho.limit, remaining=zoho.remaining, reset_at=zoho.reset_at(now)
    )


def simulate(world: World, daily_budget: int, planned: bool) -> Outcome:
    reserve = round(daily_budget * budget.DEFAULT_RESERVED_SHARE)
    zoho = Zoho(daily_budget, reserve)
    week = Week(world)
    runs: list[PastRun] = [PastRun(START - CRON * k, 0) for k in range(8, 0, -1)]
    state: dict[str, Any] = {"budget": daily_budget}
    now = START
    for _ in range(DAYS * int(budget.DAY / CRON)):
        zoho.at(now)
        if now.date() != (now - CRON).date() and now > START:
            week.close_day()
        week.tick(now)
        if now >= MEASURED_FROM:
            week.watch(now)
        if planned:
            _run_planned(week, zoho, now, runs, state)
        elif not _run_fixed(week, zoho, now):
            week.quota_stops += 1
        now += CRON
    week.close_day()
    worst: dict[str, timedelta | None] = dict(week.worst)
    if not planned:
        for name in ("contact_deletions", "invoice_deletions"):
            worst[name] = None  # the fixed plan never looks for deleted records
    return Outcome(week.calls_by_day, worst, week.quota_stops)


def simulate_all() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for world in WORLDS:
        for daily in BUDGETS:
            allowance = daily - round(daily * budget.DEFAULT_RESERVED_SHARE)
            key = f"{world.name} @ {daily}"
            results[key] = {
                "world": world.name,
                "budget": daily,
                "allowance": allowance,
                "planned": simulate(world, daily, planned=True).as_json(),
                "fixed": simulate(world, daily, planned=False).as_json(),
            }
    return results


def _hours(value: float | None) -> str:
    if value is None:
        return "never"
    if value < 48:
        return f"{value:.2g} h" if value < 10 else f"{value:.0f} h"
    return f"{value / 24:.1f} d"


def render(results: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Simulated days of 15-minute runs within the daily API budget",
        "",
        "96 runs a day for 14 days, each planned by loader.budget and costed by a model of "
        "the calls it makes (bench/day.py), beside today's fixed plan (every listing every "
        "run, no deletion checks). Calls: the busiest day, against budget - reserve (a tenth "
        "is kept for other integrations). Staleness: the worst age of each resource's "
        "freshest view over the second week (the first settles the cadences).",
        "",
        "| data | budget | plan | busiest day calls | allowance | quota stops | invoices "
        "| contacts | invoice details | items | price lists | deleted contacts "
        "| deleted invoices |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results.values():
        for plan in ("planned", "fixed"):
            r = row[plan]
            stale = r["worst_staleness_hours"]
            cells = [_hours(stale[name]) for name in RESOURCES]
            lines.append(
                f"| {row['world']} | {row['budget']} | {plan} | {r['busiest_day_calls']} | "
                f"{row['allowance']} | {r['quota_stops']} | " + " | ".join(cells) + " |"
            )
    return lines


def main() -> int:
    results = simulate_all()
    print("\n".join(render(results)))
    if "--json" in sys.argv:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
