"""Simulated days of 15-minute runs within Zoho's daily quota (issue 17).

`python -m bench.day` (also part of `make bench`): 96 runs a day for two weeks, on the demo
data set and on 100k items / 100k contacts / 100k invoices, with a trickle of edits and
deletions, for daily budgets of 1,000, 2,000 and 10,000 calls. Each run is planned by
loader.run.budget (the planner the loader runs) and costed by a model of what each call
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
or bill detail, and a stock reading (an inventory item whose stock moved), costs one call.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

from loader.run import budget
from loader.run.budget import model as budget_model
from loader.run.budget.model import PastRun, PlanInputs, QuotaSeen, Sizes
from loader.zoho.modules import ALL_RESOURCES, DEFAULT_DETAILS_BUDGET, RECONCILE_RESOURCES

START = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday, 00:00 UTC
CRON = timedelta(minutes=15)
DAYS = 14  # the first week settles the cadences; staleness is measured in the second
MEASURED_FROM = START + timedelta(days=7)
BUDGETS = (1_000, 2_000, 10_000)
DETAILS_CAP = DEFAULT_DETAILS_BUDGET  # the loader's default DETAILS_BUDGET
RESOURCES = (
    "invoices",
    "contacts",
    "invoice_details",
    "items",
    "pricebooks",
    "contact_deletions",
    "invoice_deletions",
    "bills",
    "bill_deletions",
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
    bills: int = 0
    bill_edits: int = 0  # new or changed bills a day (each needs its details read again)
    # inventory items whose stock moves a day (sales, purchases, adjustments): each needs
    # its stock per location read again (GET /items/{id}, from the details budget)
    stock_changes: int = 0

    @property
    def sizes(self) -> Sizes:
        return Sizes(self.items, self.per_item_pricebooks, self.contacts, self.invoices, self.bills)


# The demo data set (zoho_sim "demo": 1,379 items of which 1,319 are products on sale,
# 6 per_item price lists, 200 contacts, 1,000 invoices, 300 bills; about 30 inventory items
# a day whose stock moves: 20 invoices and 6 bills of a few lines) and the bench's 100k
# size (30k bills, as the demo's proportion).
WORLDS = (
    World("demo", 1_379, 6, 200, 1_000, 20, 5, 20, 1, bills=300, bill_edits=6, stock_changes=30),
    World(
        "100k",
        100_000,
        6,
        100_000,
        100_000,
        500,
        100,
        500,
        5,
        bills=30_000,
        bill_edits=150,
        stock_changes=750,
    ),
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
        self.changed = {"invoices": 0.0, "contacts": 0.0, "bills": 0.0}
        self.detail_credit = 0.0
        self.ours_today = 0
        self.calls_by_day: list[int] = []
        self.quota_stops = 0

    def tick(self, now: datetime) -> None:
        """A cron interval of edits happens before the run at `now`."""
        per_run = CRON / budget.DAY
        self.changed["invoices"] += self.world.invoice_edits * per_run
        self.changed["contacts"] += self.world.contact_edits * per_run
        self.changed["bills"] += self.world.bill_edits * per_run
        edits = self.world.invoice_edits + self.world.bill_edits + self.world.stock_changes
        self.detail_credit += edits * per_run  # details and stock readings: one budget
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
        ("items", costs[budget_model.ITEMS]),
        ("contacts", week.incremental_cost("contacts")),
        ("invoices", week.incremental_cost("invoices")),
        ("bills", week.incremental_cost("bills")),
        ("pricebooks", costs[budget_model.PRICEBOOKS]),
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
    refreshed = {name: week.fresh[name] for name in budget_model.COMPLETE_LISTINGS}
    refreshed[budget_model.ORGANIZATIONS] = state.get("organizations", START - budget.DAY)
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
        if name == budget_model.INVOICE_DETAILS:
            cost = plan.details_budget
        elif name in week.changed:
            cost = week.incremental_cost(name)
        elif name == budget_model.ORGANIZATIONS:
            cost = 1
        else:
            cost = costs[name]
        granted = zoho.spend(cost)
        spent += granted
        if granted < cost:
            state["stop_until"] = zoho.reset_at(now)
            week.quota_stops += 1
            break
        if name == budget_model.INVOICE_DETAILS:
            week.details(cost)
            details = cost
        elif name == budget_model.ORGANIZATIONS:
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
        for name in ("contact_deletions", "invoice_deletions", "bill_deletions"):
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


def _label(resource: str) -> str:
    """A column heading for one of the planner's resource names."""
    if resource.endswith("_deletions"):
        return "deleted " + resource.removesuffix("_deletions") + "s"
    return {"pricebooks": "price lists"}.get(resource, resource.replace("_", " "))


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
        "96 runs a day for 14 days, each planned by loader.run.budget and costed by a model of "
        "the calls it makes (bench/day.py), beside today's fixed plan (every listing every "
        "run, no deletion checks). Calls: the busiest day, against budget - reserve (a tenth "
        "is kept for other integrations). Staleness: the worst age of each resource's "
        "freshest view over the second week (the first settles the cadences).",
        "",
        "| data | budget | plan | busiest day calls | allowance | quota stops | "
        + " | ".join(_label(name) for name in RESOURCES)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(RESOURCES),
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


# ----- a real day: the loader against the simulator ---------------------------------------
# The figures above come from a cost model; these from the real loader (in-process
# `run_sync`, real dlt pipeline, real PostgreSQL) against the simulator, whose clock the
# loader follows (ZOHO_BOOKS_CLOCK=zoho_sim.loader_clock:now, loader/clock.py) while the day is
# fast-forwarded by `sim.advance`. Calls per day are the simulator's own count
# (`sim.quota_usage["past_days"]`): the ground truth.
REAL_RESOURCES = ("invoices", "contacts", "invoice_details", "items", "pricebooks")
DELETED = RECONCILE_RESOURCES


@dataclass
class RealDay:
    """What one simulated day of real runs measured (seconds of simulated time)."""

    cron_seconds: int
    runs: int
    calls: int  # the simulator's count for the quota day
    statuses: dict[str, int]
    lag: dict[str, float | None]  # worst edit-to-warehouse (None: never landed / flagged)
    open_edits: dict[str, int]  # edits not in the warehouse by the day's end
    refreshed_at: dict[str, list[float]]  # seconds from the day's start, per listing
    announced: list[dict[str, int | None]]  # each run's plan: each listing's interval
    wall_seconds: float = 0.0

    def longest_announced(self) -> dict[str, int | None]:
        """Each listing's longest interval a plan of the day announced."""
        longest: dict[str, int | None] = {}
        for plan in self.announced:
            for name, value in plan.items():
                if value is not None:
                    longest[name] = max(longest.get(name) or 0, value)
                else:
                    longest.setdefault(name, None)
        return longest

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "runs": self.runs,
            "cron_seconds": self.cron_seconds,
            "statuses": self.statuses,
            "worst_staleness_hours": {
                name: None if value is None else round(value / 3600, 2)
                for name, value in self.lag.items()
            },
            "open_edits": self.open_edits,
            "announced_interval_hours": {
                name: None if value is None else round(value / 3600, 2)
                for name, value in self.longest_announced().items()
            },
            "wall_seconds": round(self.wall_seconds, 1),
        }


def _edit_targets(sim: Any) -> dict[str, list[str]]:
    """Records the day edits, in a fixed order (active items, any contact, any invoice)."""
    return {
        "items": sorted(sim.active_item_ids()),
        "contacts": sorted(sim.contacts),
        "invoices": sorted(i for i, inv in sim.invoices.items() if inv.get("line_items")),
    }


def real_day(
    sim: Any,
    run: Any,
    query: Any,
    runs: int = 96,
    cron_seconds: int = 900,
    deletion_run: int = 1,
) -> RealDay:
    """A quota day of `runs` loader runs `cron_seconds` apart, then the next day's first
    run (a deletion made just after a daily check is found there). Before each run one
    item, one contact and one invoice are edited; before run `deletion_run` one contact
    and one invoice are deleted. `run()` runs the loader once and returns its RunResult;
    `query(sql, params)` reads the warehouse.

    The warehouse must already hold the data (a first load), made in the last minutes of
    the simulator's quota day: the measured day then starts with the simulator's next one
    (quota days are back to back from the simulator's start: `sim.quota_usage`)."""
    import time as _time

    from loader.zoho.records import parse_zoho_timestamp

    started = _time.perf_counter()
    targets = _edit_targets(sim)
    deleted_invoice = targets["invoices"].pop()
    customer = sim.invoices[deleted_invoice]["customer_id"]
    deleted_contact = next(c for c in reversed(targets["contacts"]) if c != customer)
    targets["contacts"].remove(deleted_contact)
    day_index = len(sim.quota_usage["past_days"])
    # (edited at, the last_modified_time the warehouse must show) per resource and record
    edits: dict[str, dict[str, tuple[float, Any]]] = {name: {} for name in REAL_RESOURCES}
    deletions: dict[str, tuple[str, float]] = {}
    lag: dict[str, float | None] = dict.fromkeys(REAL_RESOURCES, 0.0)
    statuses: Counter[str] = Counter()
    refreshed_at: dict[str, list[float]] = {name: [] for name in budget_model.COMPLETE_LISTINGS}
    announced: list[dict[str, int | None]] = []
    tables = {
        "items": ("items", "item_id"),
        "contacts": ("contacts", "contact_id"),
        "invoices": ("invoices", "invoice_id"),
        "invoice_details": ("invoice_details", "invoice_id"),
    }
    t = 0.0  # simulated seconds since the day's first run
    for number in range(runs + 1):
        if number:
            sim.advance(1)
            t += 1
            k = number - 1
            item = targets["items"][k % len(targets["items"])]
            record = sim.update_item(item, rate=1000 + 250 * number)
            edits["items"][item] = (t, record["last_modified_time"])
            contact = targets["contacts"][k % len(targets["contacts"])]
            record = sim.update_contact(contact, notes=f"edit {number}")
            edits["contacts"][contact] = (t, record["last_modified_time"])
            invoice = targets["invoices"][k % len(targets["invoices"])]
            record = sim.update_invoice(invoice, reference_number=f"R-{number}")
            edits["invoices"][invoice] = (t, record["last_modified_time"])
            edits["invoice_details"][invoice] = (t, record["last_modified_time"])
            if number == deletion_run:
                sim.delete_contact(deleted_contact)
                sim.delete_invoice(deleted_invoice)
                deletions["contact_deletions"] = (deleted_contact, t)
                deletions["invoice_deletions"] = (deleted_invoice, t)
            sim.advance(cron_seconds - 1)
            t += cron_seconds - 1
        result = run()
        statuses[result.status] += 1
        for name in result.refreshed:
            if name in refreshed_at:
                refreshed_at[name].append(t)
        cadences = (result.plan or {}).get("cadences", {})
        announced.append({name: c["interval_seconds"] for name, c in cadences.items()})
        for name, (table, key) in tables.items():
            pending = edits[name]
            if not pending:
                continue
            rows = query(
                f"select {key}, last_modified_time from zoho_staging.{table} where {key} = any(%s)",
                (list(pending),),
            )
            for record_id, modified in rows:
                edited_at, expected = pending[record_id]
                if modified is not None and modified >= parse_zoho_timestamp(expected):
                    lag[name] = max(lag[name] or 0.0, t - edited_at)
                    del pending[record_id]
        for name, (record_id, deleted_at) in list(deletions.items()):
            table, key = (
                ("contacts", "contact_id")
                if name == "contact_deletions"
                else (
                    "invoices",
                    "invoice_id",
                )
            )
            flagged = query(
                f"select 1 from zoho_staging.{table} where {key} = %s and is_deleted", (record_id,)
            )
            if flagged:
                lag[name] = t - deleted_at
                del deletions[name]
    for name, pending in edits.items():  # edits never landed: as old as the day got
        for edited_at, _ in pending.values():
            lag[name] = max(lag[name] or 0.0, t - edited_at)
    for name in deletions:
        lag[name] = None
    # Price lists: edits are not made; their worst age is the longest gap between complete
    # listings (the first load, one interval before the day, counts as one).
    times = [-float(cron_seconds), *refreshed_at[budget_model.PRICEBOOKS], t]
    lag["pricebooks"] = max(b - a for a, b in pairwise(times))
    past = sim.quota_usage["past_days"]
    return RealDay(
        cron_seconds=cron_seconds,
        runs=runs,
        calls=past[day_index] if len(past) > day_index else sim.quota_usage["used_today"],
        statuses=dict(statuses),
        lag=lag,
        open_edits={name: len(p) for name, p in edits.items()},
        refreshed_at=refreshed_at,
        announced=announced,
        wall_seconds=_time.perf_counter() - started,
    )


def warm_up(sim: Any, first_load: Any, cron_seconds: int = 900) -> None:
    """The first full load, one cron interval before the simulator's next quota day, then
    on to that day: the measured day starts with the simulator's day and a loaded
    warehouse. The quota is lifted for the load (a demo first load costs 1,021 calls)."""
    quota = sim.config.daily_quota
    sim.configure(daily_quota=10**9)
    sim.advance(max(0, sim.quota_usage["reset_seconds"] - cron_seconds))
    first_load()
    sim.advance_to_next_day()
    # A minute into the day: a run at the very reset instant could still read the load's
    # reset time (rounded to whole seconds) as today's end and count the load's calls.
    sim.advance(60)
    sim.configure(daily_quota=quota)


FIRST_LOAD_RESOURCES = (*ALL_RESOURCES, *RECONCILE_RESOURCES)


def first_load(details_budget: int = 10**6) -> Any:
    """Everything, deletion checks included, every invoice's details (not planned)."""
    from loader.run.pipeline import RunOptions, run_sync

    return run_sync(RunOptions(resources=list(FIRST_LOAD_RESOURCES), details_budget=details_budget))


def real_days(
    recreate: Any, server_env: dict[str, str], workdir: Any, budgets: tuple[int, ...] = BUDGETS
) -> dict[str, Any]:
    """The demo data set (the business's 1,319 products), one real day per budget, planned
    and fixed (DAILY_CALL_BUDGET = 0: every listing every run, no deletion checks). The
    simulator's quota is the budget; the planned loader keeps a tenth for others."""
    import os
    import shutil

    import psycopg2

    from loader.run.pipeline import RunOptions, run_sync
    from zoho_sim import ZohoSimulator

    results: dict[str, Any] = {}
    for daily in budgets:
        row: dict[str, Any] = {"world": "demo", "budget": daily}
        row["allowance"] = daily - round(daily * budget.DEFAULT_RESERVED_SHARE)
        for plan in ("planned", "fixed"):
            print(f"==> real day: demo, budget {daily}, {plan} plan", flush=True)
            database = f"bench_day_{daily}_{plan}"
            recreate(server_env, database)
            state = workdir / database
            shutil.rmtree(state, ignore_errors=True)
            state.mkdir(parents=True)
            sim = ZohoSimulator(
                "demo", seed=7, per_minute=10**9, max_concurrent=64, daily_quota=daily
            )
            sim.start()
            saved = dict(os.environ)
            pg = {**server_env, "PGDATABASE": database}
            os.environ.update(
                {
                    **pg,
                    **sim.env(),
                    "SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH": str(state / "token.json"),
                    "SOURCES__ZOHO_BOOKS__MAX_CALLS_PER_MINUTE": str(10**9),
                    "SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET": "0",
                    "DLT_PIPELINES_DIR": str(state / "dlt"),
                    "ZOHO_BOOKS_CLOCK": "zoho_sim.loader_clock:now",
                    "ZOHO_SIM_URL": sim.base_url,
                }
            )
            conn = psycopg2.connect(
                host=pg["PGHOST"],
                port=pg["PGPORT"],
                user=pg["PGUSER"],
                password=pg["PGPASSWORD"],
                dbname=database,
            )
            conn.autocommit = True

            def query(sql: str, params: Any = (), conn: Any = conn) -> list[tuple]:
                with conn.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchall()

            try:
                warm_up(sim, first_load)
                if plan == "planned":
                    os.environ["SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET"] = str(daily)
                measured = real_day(sim, lambda: run_sync(RunOptions()), query)
                row[plan] = measured.as_json()
                print(f"    {row[plan]}", flush=True)
            finally:
                conn.close()
                os.environ.clear()
                os.environ.update(saved)
                sim.stop()
        results[f"demo @ {daily}"] = row
    return results


def render_real(results: dict[str, Any]) -> list[str]:
    names = (*REAL_RESOURCES, *DELETED)
    lines = [
        "",
        "## A real simulated day: the loader against the simulator, demo data",
        "",
        "The real loader (in-process `run_sync`: dlt pipeline, embedded PostgreSQL) runs 96 "
        "times at 15-minute intervals against the simulator, whose clock it follows "
        "(`ZOHO_BOOKS_CLOCK=zoho_sim.loader_clock:now`) while the bench advances it; then "
        "the next day's first run. Before every run one item, one contact and one invoice "
        "are edited; before the "
        "second run a contact and an invoice are deleted. The warehouse starts loaded (a full "
        "first load in the previous quota day). Calls: the simulator's own count for the quota "
        "day (its quota is the budget). Staleness: the longest an edit took to reach "
        "`zoho_staging` (deletions: to be flagged; price lists: the longest gap between "
        "complete listings). 100k items / 100k invoices: the cost model above only (a real day "
        "there takes hours).",
        "",
        "| data | budget | plan | calls in the day | allowance | runs ok / quota stopped "
        "/ waiting | " + " | ".join(_label(name) for name in names) + " | wall s |",
        "|---|---|---|---|---|---|" + "---|" * (len(names) + 1),
    ]
    for row in results.values():
        for plan in ("planned", "fixed"):
            r = row.get(plan)
            if r is None:
                continue
            stale = r["worst_staleness_hours"]
            st = r["statuses"]
            runs = (
                f"{st.get('success', 0)} / {st.get('quota_exhausted', 0)} / "
                f"{st.get('waiting', 0) + st.get('deferred', 0)}"
            )
            cells = [_hours(stale.get(name)) for name in names]
            lines.append(
                f"| {row['world']} | {row['budget']} | {plan} | {r['calls']} | "
                f"{row['allowance']} | {runs} | " + " | ".join(cells) + f" | {r['wall_seconds']} |"
            )
    return lines
