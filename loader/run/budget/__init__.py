"""The daily API call budget: what one run may fetch, and why (issue 17).

Zoho counts every API call against a daily quota per organization (1,000 on the Free
plan, 2,000 on Standard, ...), shared with every other integration of the organization.
A fixed plan (every listing every run) costs 16 calls a run on the demo data set: a
15-minute cron spends 1,540 a day, over the Free plan before anything else runs. So each
run asks `plan()` first. The planner is pure (no database, no HTTP): the run gathers its
inputs (`PlanInputs`), and the plan says which resources run now, how many invoice
details may be read, every complete listing's refresh interval with a sentence saying why,
and the calls projected for the day at the current cadence.

The rules (docs/decisions.md, "API budget planning", has worked examples):

1. The day's allowance is the budget less the calls reserved for other integrations.
   Calls already made today (this loader's runs of the quota day, and the webhook
   worker's GETs completing events) and Zoho's own count (the last
   `X-Rate-Limit-Remaining`) are both subtracted: the smaller headroom wins.
2. Cheap incremental work runs every run: invoices (server-side modified filter) and
   contacts (newest first), one call each when little changed; the organization once
   a day.
3. Expensive complete listings (items, price lists, and the deletion checks of contacts
   and invoices) share what incremental work and invoice details (those read in the last
   24 hours plus the backlog) leave of the day: at most 80% of what incremental work
   leaves (room for pages of changes), at least 25% (listings go on in a backfill). Each
   listing gets an equal part of that share (one needing less at its floor leaves the
   rest to the others), and its interval is the whole number of cron intervals its part
   pays for, never shorter than its floor: every run for items and price lists, daily
   for the deletion checks, daily for items when webhooks deliver item events (the
   listing is then a safety net). Due listings run oldest-refreshed first.
4. A run never spends more than the day has left, less what later runs of the day are
   promised (their incremental calls, and the listings falling due up to the listings'
   share of the rest of the day): a listing that does not fit is deferred.
   Invoice details: a backlog (more pending than the run's own listing adds) takes all
   that nobody is promised, up to the run's DETAILS_BUDGET, so it is read as fast as the
   day allows instead of spread thin while most of the quota sits unused; without a
   backlog, details get an even share of it. The plan says when the backlog should be
   read (`details_caught_up_at`).
5. A complete listing that cannot fit even in a whole day's allowance is never run, and
   the plan says so in one line; invoices and contacts stay fresh regardless.
6. After a daily-quota stop (code 45) no call is made before Zoho's reset time.

The quota day: the window Zoho reports, ending at the last `X-Rate-Limit-Reset` seen
(reset instants repeat every 24 hours); before any header has been seen, the UTC
calendar day. Zoho documents neither the window nor its time zone, and its own header is
the only authority on it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from itertools import pairwise
from typing import Any

from loader.run.budget.model import (
    COMPLETE_LISTINGS,
    DAILY,
    INCREMENTAL,
    INVOICE_DETAILS,
    Cadence,
    PastRun,
    Plan,
    PlanInputs,
    QuotaSeen,
    Sizes,
    declared_costs,
    duration,
    safety_nets,
)
from loader.zoho.modules import PAGE_SIZE, READINGS, Cost

DEFAULT_DAILY_BUDGET = 1_000  # Zoho's Free plan, when no X-Rate-Limit-Limit was ever seen
DEFAULT_RESERVED_SHARE = 0.10  # kept for other integrations when RESERVED_CALLS is unset
DEFAULT_CRON = timedelta(minutes=15)  # assumed until two runs show the real interval
MIN_CRON = timedelta(minutes=1)
RECENT_RUNS = 20  # runs whose gaps give the observed interval
# Of what incremental work leaves of the day, complete listings get what invoice details
# need not (the details read in the last 24 hours plus the backlog), within these bounds:
# the upper keeps room for pages of changes, the lower keeps listings alive in a backfill.
LISTING_SHARE_MAX = 0.8
LISTING_SHARE_MIN = 0.25
DAY = timedelta(days=1)
DELETION_CHECK_FLOOR = DAY
WEBHOOK_SAFETY_NET = DAY
MAX_INTERVAL = timedelta(days=60)  # longer than this reads as "never"

# What each planner name costs, declared with its module (loader/zoho/modules.py); which
# complete listing webhooks make a safety net.
COSTS = declared_costs()
WEBHOOK_SAFETY_NETS = safety_nets()


# ----- pieces -------------------------------------------------------------------------------
def pages(rows: int, page_size: int = PAGE_SIZE) -> int:
    """Calls to list `rows` records (an empty listing still costs one call)."""
    return max(1, math.ceil(rows / page_size))


def calls_of(name: str, sizes: Sizes) -> int:
    """Calls of one refresh of `name`, from its declared `Cost` and what is stored."""
    cost, page_size = COSTS[name]
    return _calls_of(cost, page_size, sizes)


def _calls_of(cost: Cost, page_size: int, sizes: Sizes) -> int:
    calls = cost.calls
    if cost.pages_of is not None:
        calls += pages(getattr(sizes, cost.pages_of), page_size)
    if cost.one_per is not None:
        calls += getattr(sizes, cost.one_per)
    return calls


def pending_reads(sizes: Sizes) -> int | None:
    """Detail calls waiting: invoices and bills, and the readings' declared cost
    (loader/zoho/modules.py, READINGS: stock per location). None before the first invoice
    listing is stored."""
    readings = sum(_calls_of(r.cost, PAGE_SIZE, sizes) for r in READINGS)
    if sizes.pending_details is None:
        return None
    return sizes.pending_details + readings


def listing_costs(sizes: Sizes) -> dict[str, int]:
    """Calls of one complete refresh of each complete listing."""
    return {name: calls_of(name, sizes) for name in COMPLETE_LISTINGS}


def quota_day(now: datetime, quota: QuotaSeen | None) -> tuple[datetime, datetime]:
    """[start, end) of the quota day holding `now` (see the module docstring)."""
    if quota is not None and quota.reset_at is not None:
        end = quota.reset_at
        if end <= now:
            end += DAY * (math.floor((now - end) / DAY) + 1)
        elif end - now > DAY:
            end -= DAY * math.floor((end - now) / DAY)
        return end - DAY, end
    start = datetime.combine(now.astimezone(timezone.utc).date(), time(), timezone.utc)
    return start, start + DAY


def observed_cron(runs: Sequence[PastRun]) -> timedelta:
    """The median gap between the recent runs' starts (manual runs and outages barely move
    a median); the default until there are two runs."""
    starts = sorted(r.started_at for r in runs)[-RECENT_RUNS:]
    gaps = [b - a for a, b in pairwise(starts) if b > a]
    if not gaps:
        return DEFAULT_CRON
    return max(MIN_CRON, statistics.median_low(gaps))


def _round_up(interval: timedelta, cron: timedelta) -> timedelta:
    """A whole number of cron intervals, at least one."""
    return cron * max(1, math.ceil(interval / cron - 1e-9))


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


@dataclass(frozen=True)
class _Day:
    """The day's economy at the observed cadence."""

    allowance: int
    runs_per_day: float
    incremental_per_run: int
    incremental_day: int
    details_day: int
    listing_share: float


def _economy(allowance: int, cron: timedelta, details_day: int) -> _Day:
    """Incremental work first, invoice details next, complete listings from the rest."""
    runs_per_day = DAY / cron
    per_run = sum(calls_of(name, Sizes()) for name in INCREMENTAL)
    daily = sum(calls_of(name, Sizes()) for name in DAILY)  # the organization
    incremental_day = math.ceil(runs_per_day * per_run) + daily
    room = max(0, allowance - incremental_day)
    details_day = min(details_day, math.floor(room * (1 - LISTING_SHARE_MIN)))
    share = min(room * LISTING_SHARE_MAX, room - details_day)
    return _Day(allowance, runs_per_day, per_run, incremental_day, details_day, share)


def _floors(cron: timedelta, webhook_families: frozenset[str]) -> dict[str, tuple[timedelta, str]]:
    """Each listing's shortest useful interval and the reason for it."""
    floors = {
        name: (DELETION_CHECK_FLOOR, "daily")
        if name.endswith("_deletions")
        else (cron, "every run")
        for name in COMPLETE_LISTINGS
    }
    for listing, family in WEBHOOK_SAFETY_NETS.items():
        if family in webhook_families:
            floors[listing] = (
                WEBHOOK_SAFETY_NET,
                f"daily as a safety net (webhooks deliver {family} changes)",
            )
    return {name: (_round_up(f, cron), why) for name, (f, why) in floors.items()}


def share_out(
    costs: Mapping[str, int], floors: Mapping[str, timedelta], share: float
) -> dict[str, float]:
    """Calls a day for each listing: equal shares of `share`, where a listing that needs
    less at its floor takes only that and leaves the rest to the others (water-filling).
    Cheap listings (price lists: a few calls) thus stay fresh beside expensive ones."""
    wanted = {name: costs[name] * (DAY / floors[name]) for name in costs}
    shares: dict[str, float] = {}
    left, open_ = float(share), set(costs)
    while open_:
        each = left / len(open_)
        saturated = {name for name in open_ if wanted[name] <= each}
        if not saturated:
            shares.update(dict.fromkeys(open_, each))
            break
        for name in saturated:
            shares[name] = wanted[name]
            left -= wanted[name]
        open_ -= saturated
    return shares


def _occurrences(first: datetime, interval: timedelta, start: datetime, end: datetime) -> int:
    """How many of first, first + interval, ... fall in [start, end)."""
    if first >= end:
        return 0
    if first < start:
        first += interval * math.ceil((start - first) / interval)
    return 0 if first >= end else math.ceil((end - first) / interval)


# ----- the plan -----------------------------------------------------------------------------
def plan(inputs: PlanInputs) -> Plan:
    """What this run may fetch; see the module docstring for the rules."""
    now = inputs.now
    quota = inputs.quota
    budget = inputs.daily_budget or (quota.limit if quota and quota.limit else None)
    budget = int(budget or DEFAULT_DAILY_BUDGET)
    reserved = (
        int(inputs.reserved_calls)
        if inputs.reserved_calls is not None
        else round(budget * DEFAULT_RESERVED_SHARE)
    )
    allowance = max(0, budget - reserved)
    day_start, day_end = quota_day(now, quota)
    calls_today = sum(r.api_calls for r in inputs.runs if day_start <= r.started_at < now)
    calls_today += sum(w.calls for w in inputs.worker_calls if day_start <= w.at < now)
    spendable = max(0, allowance - calls_today)
    if quota is not None and quota.remaining is not None and day_start <= quota.seen_at < now:
        # Zoho's count includes other integrations: keep what is left of their reserve.
        others = max(0, (quota.limit or budget) - quota.remaining - calls_today)
        spendable = min(spendable, max(0, quota.remaining - max(0, reserved - others)))
    cron = observed_cron(inputs.runs)
    costs = {n: c for n, c in listing_costs(inputs.sizes).items() if n in inputs.listings}
    last_day = [r for r in inputs.runs if now - DAY <= r.started_at < now]
    pending = pending_reads(inputs.sizes)
    details_day = sum(r.details for r in last_day) + (pending or 0)
    economy = _economy(allowance, cron, details_day)
    cadences, notes = _cadences(inputs, costs, economy, cron)
    common: dict[str, Any] = dict(
        now=now,
        day_start=day_start,
        day_end=day_end,
        budget=budget,
        reserved=reserved,
        calls_today=calls_today,
        spendable=spendable,
        cron=cron,
    )

    wait_until = _quota_stop(inputs)
    if wait_until is not None:
        waiting = {
            name: Cadence(name, c.calls, c.interval, False, c.why, c.next_due)
            for name, c in cadences.items()
        }
        note = (
            f"Zoho's daily quota is used up until {wait_until:%H:%M} UTC: this run makes no "
            "call before then"
        )
        return Plan(
            **common,
            resources=(),
            details_budget=0,
            planned_calls=0,
            projected_calls=calls_today,
            cadences=waiting,
            notes=(note, *notes),
            wait_until=wait_until,
        )

    runs_left = max(1, math.ceil((day_end - now) / cron))  # this run included
    later = now + cron
    # This run: incremental work first, as far as the day has calls left.
    chosen: list[str] = []
    planned = 0
    daily_due = [n for n in DAILY if _due(inputs.refreshed.get(n), DAY, now, cron)]
    for name in (*INCREMENTAL, *daily_due):
        cost = calls_of(name, inputs.sizes)
        if planned + cost <= spendable:
            chosen.append(name)
            planned += cost
    # What the rest of the day is promised: incremental work and listings falling due (no
    # more than the listings' share of the rest of the day: more would starve details for
    # listings that could not all run anyway).
    falling_due = 0
    for name, cadence in cadences.items():
        if cadence.interval is not None and cadence.next_due is not None:
            first = cadence.next_due if not cadence.runs_now else now + cadence.interval
            falling_due += costs[name] * _occurrences(first, cadence.interval, later, day_end)
    listing_part = economy.listing_share * max(0.0, (day_end - later) / DAY)
    promised = (runs_left - 1) * economy.incremental_per_run + min(
        falling_due, math.ceil(listing_part)
    )
    # Due listings, oldest refreshed first, as far as they fit beside those promises.
    final: dict[str, Cadence] = {}
    for name, cadence in sorted(cadences.items(), key=lambda kv: _age_key(inputs, kv[0])):
        if cadence.runs_now and planned + costs[name] + promised <= spendable:
            chosen.append(name)
            planned += costs[name]
            final[name] = cadence
        elif cadence.runs_now:
            final[name] = Cadence(
                name,
                cadence.calls,
                cadence.interval,
                False,
                f"{cadence.why}; due now but deferred: its {costs[name]} calls would leave "
                f"too few for the rest of today ({spendable - planned} left, "
                f"{promised} promised to later runs)",
                cadence.next_due,
            )
        else:
            final[name] = cadence
    # Details: what nobody is promised; all of it for a backlog, else an even share.
    available = max(0, spendable - planned - promised)
    # What is pending now, plus what this run's own invoice listing will add (the last
    # day's rate): read newest first, a change found by this run would otherwise take the
    # place of an older one, which then waits as long as changes keep coming.
    arriving = math.ceil(sum(r.details for r in last_day) / economy.runs_per_day)
    # No invoice stored yet (None): this run's own listing is the backlog, so a first load
    # reads details (the run's details budget) rather than leaving their tables unmade.
    wanted = inputs.details_cap if pending is None else (pending + arriving if pending else 0)
    backlog = pending is None or pending > arriving
    share = available if backlog else math.ceil(available / runs_left)
    details = min(max(0, inputs.details_cap), wanted, share)
    if details:
        chosen.append(INVOICE_DETAILS)
        planned += details
    # Later runs read details at the last day's rate, within what is left.
    rate = math.ceil(economy.details_day / economy.runs_per_day)
    projected = calls_today + planned + promised + min(available - details, rate * (runs_left - 1))
    ordered = {name: final[name] for name in COMPLETE_LISTINGS if name in final}
    caught_up = details_caught_up_at(
        now=now,
        pending=max(0, (pending or 0) - details),
        per_run=max(0, inputs.details_cap),
        today_left=max(0, available - details),
        runs_left=runs_left - 1,
        cron=cron,
        day_end=day_end,
        day_room=max(
            0,
            math.floor(economy.allowance - economy.incremental_day - economy.listing_share),
        ),
    )
    return Plan(
        **common,
        resources=tuple(chosen),
        details_budget=details,
        planned_calls=planned,
        projected_calls=projected,
        cadences=ordered,
        notes=tuple(notes),
        details_caught_up_at=caught_up,
    )


def details_caught_up_at(
    *,
    now: datetime,
    pending: int,
    per_run: int,
    today_left: int,
    runs_left: int,
    cron: timedelta,
    day_end: datetime,
    day_room: int,
) -> datetime | None:
    """When `pending` invoice details (those this run leaves) should all be read: later
    runs of today read up to `per_run` each from `today_left` calls, each following quota
    day up to `per_run` a run from `day_room` (what incremental work and listings leave of
    a day). `now` when nothing is left pending; None when no call is ever free for them."""
    if pending <= 0:
        return now
    if per_run <= 0:
        return None
    today = min(pending, today_left, per_run * runs_left)
    if today >= pending:
        return now + cron * math.ceil(pending / per_run)
    runs_per_day = max(1, math.floor(DAY / cron))
    per_day = min(day_room, per_run * runs_per_day)
    if per_day <= 0:
        return None
    rest = pending - today
    days, last = divmod(rest, per_day)
    if last == 0:
        days, last = days - 1, per_day
    return day_end + DAY * days + cron * math.ceil(last / per_run)


def _quota_stop(inputs: PlanInputs) -> datetime | None:
    """When calls may resume after a code-45 stop (or a remaining count of zero)."""
    until = inputs.quota_stop_until
    quota = inputs.quota
    if quota is not None and quota.remaining == 0 and quota.reset_at is not None:
        until = max(until or quota.reset_at, quota.reset_at)
    return until if until is not None and inputs.now < until else None


def _due(last: datetime | None, interval: timedelta, now: datetime, cron: timedelta) -> bool:
    """Due when the interval has passed, give or take half a run (cron start jitter)."""
    return last is None or now - last >= interval - cron / 2


_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def _age_key(inputs: PlanInputs, name: str) -> tuple[datetime, int]:
    """Oldest refreshed first (never refreshed before all), then the listing order."""
    return inputs.refreshed.get(name) or _NEVER, COMPLETE_LISTINGS.index(name)


def _cadences(
    inputs: PlanInputs, costs: Mapping[str, int], economy: _Day, cron: timedelta
) -> tuple[dict[str, Cadence], list[str]]:
    """Each complete listing's interval, whether it is due, and why."""
    floors = _floors(cron, inputs.webhook_families)
    day_room = economy.allowance - economy.incremental_day
    notes: list[str] = []
    fitting = {n: c for n, c in costs.items() if c <= day_room}
    for name in costs:
        if name not in fitting:
            notes.append(
                f"budget too small for {name}: one complete listing costs {costs[name]} calls "
                f"but a day has {max(0, day_room)} left after incremental work; it is not "
                "refreshed (raise DAILY_CALL_BUDGET or lower RESERVED_CALLS); invoices and "
                "contacts stay fresh"
            )
    shares = share_out(fitting, {n: floors[n][0] for n in fitting}, economy.listing_share)
    cadences: dict[str, Cadence] = {}
    for name in (n for n in COMPLETE_LISTINGS if n in costs):
        floor, floor_why = floors[name]
        cost = costs[name]
        per_day = shares.get(name, 0.0)
        interval = _round_up(cost * DAY / per_day, cron) if per_day > 0 else None
        if interval is not None and interval > MAX_INTERVAL:
            interval = None
        if interval is None:
            why = (
                f"not refreshed: {_calls(cost)} a listing, more than a day's budget allows"
                if name not in fitting
                else f"not refreshed: {_calls(cost)} a listing do not fit within "
                f"{duration(MAX_INTERVAL)}"
            )
            cadences[name] = Cadence(name, cost, None, False, why)
            continue
        interval = max(floor, interval)
        what = "complete ID listing" if name.endswith("_deletions") else "complete listing"
        if interval == floor:
            why = f"{floor_why} ({duration(interval)}): {_calls(cost)} a {what}, within budget"
        else:
            why = (
                f"every {duration(interval)}: {_calls(cost)} a {what}, its share of the "
                f"{economy.listing_share:.0f} calls a day complete listings get (of "
                f"{economy.allowance}: {economy.incremental_day} go to incremental work, "
                f"{economy.details_day} to invoice details)"
            )
        last = inputs.refreshed.get(name)
        due = _due(last, interval, inputs.now, cron)
        next_due = inputs.now if last is None else max(inputs.now, last + interval)
        cadences[name] = Cadence(name, cost, interval, due, why, next_due)
    return cadences, notes
