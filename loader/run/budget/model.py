"""The budget planner's vocabulary (loader/run/budget/ has the rules): the planner's resource
names, what a run gathers for it (`PlanInputs`) and the `Plan` it returns, with the plan's
summary lines (`loader status`) and its JSON form (`sync_runs.plan`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

DEFAULT_DETAILS_CAP = 300  # per run (DETAILS_BUDGET)

# Planner names. Incremental resources run every run; complete listings at a cadence.
ORGANIZATIONS = "organizations"
CONTACTS = "contacts"
INVOICES = "invoices"
ITEMS = "items"
PRICEBOOKS = "pricebooks"
CONTACT_DELETIONS = "contact_deletions"
INVOICE_DELETIONS = "invoice_deletions"
INVOICE_DETAILS = "invoice_details"
COMPLETE_LISTINGS = (ITEMS, PRICEBOOKS, CONTACT_DELETIONS, INVOICE_DELETIONS)


# ----- inputs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """What the warehouse holds (rows not marked deleted), for the cost of a listing."""

    items: int = 0
    per_item_pricebooks: int = 0
    contacts: int = 0
    invoices: int = 0
    # invoices waiting for their detail call; None before the first invoice listing is
    # stored (the backlog is what this run lists)
    pending_details: int | None = 0


@dataclass(frozen=True)
class QuotaSeen:
    """The X-Rate-Limit-* headers of the last response a run saw."""

    seen_at: datetime
    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None  # seen_at + X-Rate-Limit-Reset seconds


@dataclass(frozen=True)
class PastRun:
    started_at: datetime
    api_calls: int
    details: int = 0  # invoice details it read


@dataclass(frozen=True)
class PlanInputs:
    now: datetime
    sizes: Sizes = field(default_factory=Sizes)
    runs: Sequence[PastRun] = ()  # recent runs of this organization (two days suffice)
    refreshed: Mapping[str, datetime] = field(default_factory=dict)  # last complete run
    daily_budget: int | None = None  # DAILY_CALL_BUDGET
    reserved_calls: int | None = None  # RESERVED_CALLS
    quota: QuotaSeen | None = None
    quota_stop_until: datetime | None = None  # reset time after a code-45 stop
    webhook_families: frozenset[str] = frozenset()  # "items"/"contacts"/"invoices" events
    details_cap: int = DEFAULT_DETAILS_CAP
    listings: tuple[str, ...] = COMPLETE_LISTINGS  # the complete listings the loader runs


# ----- output -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cadence:
    """One resource's place in the plan."""

    resource: str
    calls: int  # what one refresh costs
    interval: timedelta | None  # None: not within the budget at all
    runs_now: bool
    why: str
    next_due: datetime | None = None


@dataclass(frozen=True)
class Plan:
    now: datetime
    day_start: datetime
    day_end: datetime
    budget: int
    reserved: int
    calls_today: int
    spendable: int  # what the rest of today may still spend
    cron: timedelta
    resources: tuple[str, ...]  # planner names that run now
    details_budget: int
    planned_calls: int  # this run
    projected_calls: int  # the whole quota day at the current cadence
    cadences: dict[str, Cadence]
    notes: tuple[str, ...] = ()
    wait_until: datetime | None = None
    # when the invoice details still pending after this run should all be read
    details_caught_up_at: datetime | None = None

    @property
    def allowance(self) -> int:
        return max(0, self.budget - self.reserved)

    def runs(self, resource: str) -> bool:
        return resource in self.resources

    def summary(self) -> list[str]:
        """Lines for `loader status`."""
        lines = [
            f"API calls today: {self.calls_today} of {self.allowance} "
            f"(budget {self.budget}, {self.reserved} reserved for other integrations); "
            f"projected for the day at one run every {duration(self.cron)}: "
            f"{self.projected_calls}",
        ]
        if self.wait_until is not None:
            lines.append(f"no call before {self.wait_until:%Y-%m-%d %H:%M} UTC")
        lines.extend(self.notes)
        for cadence in self.cadences.values():
            lines.append(f"  {cadence.resource}: {cadence.why}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The plan as recorded in sync_runs."""
        return {
            "budget": self.budget,
            "reserved": self.reserved,
            "calls_today": self.calls_today,
            "spendable": self.spendable,
            "cron_seconds": int(self.cron.total_seconds()),
            "resources": list(self.resources),
            "details_budget": self.details_budget,
            "planned_calls": self.planned_calls,
            "projected_calls": self.projected_calls,
            "day_end": self.day_end.isoformat(),
            "wait_until": self.wait_until.isoformat() if self.wait_until else None,
            "details_caught_up_at": (
                self.details_caught_up_at.isoformat() if self.details_caught_up_at else None
            ),
            "notes": list(self.notes),
            "cadences": {
                name: {
                    "calls": c.calls,
                    "interval_seconds": int(c.interval.total_seconds()) if c.interval else None,
                    "runs_now": c.runs_now,
                    "why": c.why,
                }
                for name, c in self.cadences.items()
            },
        }


def duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        hours = seconds / 3600
        return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"
    return f"{seconds / 86400:.1f} days"
