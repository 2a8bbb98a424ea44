"""The budget planner's vocabulary (loader/run/budget/ has the rules): the planner's names
(the modules' of loader/zoho/modules.py) and their declared costs, what a run gathers for it
(`PlanInputs`) and the `Plan` it returns, with the plan's summary lines (`loader status`)
and its JSON form (`sync_runs.plan`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loader.zoho import modules
from loader.zoho.modules import DEFAULT_DETAILS_BUDGET

# The planner's names are the modules' (loader/zoho/modules.py), their deletion checks' and
# invoice details. Modules refreshed every run, in priority order; complete listings (the
# modules refreshed at a cadence, then the deletion checks) in their tie-break order.
INCREMENTAL = tuple(
    m.name for m in sorted(modules.MODULES, key=lambda m: m.priority) if m.refresh == "every_run"
)
DAILY = tuple(m.name for m in modules.MODULES if m.refresh == "daily")
COMPLETE_LISTINGS = tuple(m.name for m in modules.MODULES if m.refresh == "cadence") + tuple(
    check.name for _, check in modules.DELETION_CHECKS
)
INVOICE_DETAILS = modules.INVOICE_DETAILS
# The names the rules' tests and status lines use.
ORGANIZATIONS = modules.ORGANIZATIONS.name
CONTACTS = modules.CONTACTS.name
INVOICES = modules.INVOICES.name
ITEMS = modules.ITEMS.name
PRICEBOOKS = modules.PRICEBOOKS.name
CONTACT_DELETIONS = modules.CONTACT_DELETIONS.name
INVOICE_DELETIONS = modules.INVOICE_DELETIONS.name


def declared_costs() -> dict[str, tuple[modules.Cost, int]]:
    """Each planner name's cost of one refresh and its page size, as declared."""
    costs = {m.name: (m.cost, m.page_size) for m in modules.MODULES}
    for module, check in modules.DELETION_CHECKS:
        costs[check.name] = (check.cost, module.page_size)
    return costs


def safety_nets() -> dict[str, str]:
    """Complete listings that become a daily safety net when webhooks deliver the
    module's changes: listing -> webhook module (the same name)."""
    return {m.name: m.name for m in modules.MODULES if m.webhook_safety_net}


# ----- inputs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """What the warehouse holds (rows not marked deleted), for the cost of a listing: a
    field named after a module counts its rows (loader/run/budget/inputs.py)."""

    items: int = 0
    per_item_pricebooks: int = 0
    contacts: int = 0
    invoices: int = 0
    bills: int = 0
    # invoices and bills waiting for their detail call; None before the first invoice listing is
    # stored (the backlog is what this run lists)
    pending_details: int | None = 0
    # inventory items changed since their stock per location was read (modules.ITEM_STOCK)
    pending_item_stock: int = 0


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
class SpentCalls:
    """API calls of the organization made outside the loader's runs (the webhook worker's
    GETs completing events): `calls` made by `at` (the last of them)."""

    at: datetime
    calls: int


@dataclass(frozen=True)
class PlanInputs:
    now: datetime
    sizes: Sizes = field(default_factory=Sizes)
    runs: Sequence[PastRun] = ()  # recent runs of this organization (two days suffice)
    worker_calls: Sequence[SpentCalls] = ()  # the same days' calls of the webhook worker
    refreshed: Mapping[str, datetime] = field(default_factory=dict)  # last complete run
    daily_budget: int | None = None  # DAILY_CALL_BUDGET
    reserved_calls: int | None = None  # RESERVED_CALLS
    quota: QuotaSeen | None = None
    quota_stop_until: datetime | None = None  # reset time after a code-45 stop
    webhook_families: frozenset[str] = frozenset()  # "items"/"contacts"/"invoices" events
    details_cap: int = DEFAULT_DETAILS_BUDGET  # per run
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
