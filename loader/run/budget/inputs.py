"""What a run reads before it plans (loader/run/budget/ is the pure planner), and what the
plan means for the run: which of the loader's resources run, how many invoice details.

Read before extraction, without calling Zoho: the organization's recent runs in
`zoho_staging.sync_runs` (their calls, invoice details read, complete listings finished
and the quota headers each last saw), the webhook worker's calls in the same days
(`zoho_staging.worker_api_calls`), what the warehouse holds (for what a listing costs) and
whether webhook events arrived lately."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from loader.run import budget
from loader.run.budget import model as budget_model
from loader.run.budget.model import Plan, PlanInputs, QuotaSeen, Sizes, SpentCalls
from loader.warehouse import worker_api_calls
from loader.warehouse.sync_runs import RunLog
from loader.warehouse.webhook_events import EVIDENCE_WINDOW, modules_applied_since
from loader.zoho.modules import BY_NAME, WEBHOOK_LANDED_RESOURCES, planned_resources
from loader.zoho.stored import Destination

HISTORY = timedelta(days=2)


def history(run_log: RunLog, organization_id: str, now: datetime) -> dict[str, Any]:
    """Recent runs and the webhook worker's calls, the last complete refresh of each
    listing, and the quota as last seen."""
    rows = run_log.finished_since(organization_id, now - HISTORY)
    worker = worker_api_calls.since(run_log.conn, organization_id, now - HISTORY)
    refreshed = run_log.last_refreshed(organization_id)
    runs = [budget_model.PastRun(r[0], int(r[1]), int(r[2])) for r in rows]
    quota = stop_until = None
    if rows:
        last = rows[-1]
        seen_at = last[5] or last[0]
        if last[6] is not None or last[7] is not None or last[8] is not None:
            quota = QuotaSeen(seen_at=seen_at, limit=last[6], remaining=last[7], reset_at=last[8])
        if last[4] in ("quota_exhausted", "waiting") and last[8] is not None:
            stop_until = last[8]
    return {
        "runs": runs,
        "worker_calls": [SpentCalls(at, calls) for at, calls in worker],
        "refreshed": refreshed,
        "quota": quota,
        "stop_until": stop_until,
    }


def sizes(destination: Destination) -> Sizes:
    """Rows the warehouse holds (not marked deleted) and the invoices awaiting details."""

    def count(table: str, where: str = "") -> int:
        existing = destination.existing_columns(table)
        if not existing:
            return 0
        conditions = [where] if where else []
        if "is_deleted" in existing:
            conditions.append("not coalesce(is_deleted, false)")
        # this organization's rows only (its own quota pays for them)
        organization, params = destination.scope()
        conditions += [organization] if organization else []
        sql = f"select count(*) from {destination.table(table)}"
        if conditions:
            sql += " where " + " and ".join(conditions)
        return int(destination.fetch(sql, *params)[0][0])

    per_item = 0
    if "pricebook_type" in destination.existing_columns("pricebooks"):
        per_item = count("pricebooks", "pricebook_type = 'per_item'")
    # Sizes' fields named after a module (loader/zoho/modules.py) count its rows.
    rows = {f.name: count(BY_NAME[f.name].tables[0]) for f in fields(Sizes) if f.name in BY_NAME}
    return Sizes(
        **rows,
        per_item_pricebooks=per_item,
        pending_details=destination.count_pending_details(),
        pending_item_stock=destination.count_pending_item_stock(),
    )


def webhook_families(
    conn: Any, now: datetime, organization_id: str | None = None
) -> frozenset[str]:
    """Modules whose webhook events were verified and applied lately (EVIDENCE_WINDOW,
    loader/warehouse/webhook_events.py): evidence, not traffic; the organization's own
    events only (another organization's webhooks say nothing of its listings)."""
    return modules_applied_since(conn, now - EVIDENCE_WINDOW, organization_id)


def make_plan(
    run_log: RunLog,
    organization_id: str,
    destination: Destination,
    now: datetime,
    daily_budget: int | None,
    reserved_calls: int | None,
    details_cap: int,
) -> Plan:
    past = history(run_log, organization_id, now)
    return budget.plan(
        PlanInputs(
            now=now,
            sizes=sizes(destination),
            runs=past["runs"],
            worker_calls=past["worker_calls"],
            refreshed=past["refreshed"],
            daily_budget=daily_budget,
            reserved_calls=reserved_calls,
            quota=past["quota"],
            quota_stop_until=past["stop_until"],
            webhook_families=webhook_families(run_log.conn, now, organization_id),
            details_cap=details_cap,
            listings=budget_model.COMPLETE_LISTINGS,
        )
    )


def resources_of(plan: Plan) -> list[str]:
    """The loader's resources the plan runs (a module's names are its resources'; price
    lists are two resources, details and line items go together), and the webhook-landed
    ones, which cost no call."""
    planned = [resource for name in plan.resources for resource in planned_resources(name)]
    return planned + list(WEBHOOK_LANDED_RESOURCES)


def refreshed_listings(selected: Sequence[str], stopped_by_quota: Sequence[str]) -> list[str]:
    """The planner's complete listings this run finished (not cut short by the quota)."""
    done = []
    for name in budget_model.COMPLETE_LISTINGS:
        resources = set(planned_resources(name))
        if resources <= set(selected) and not resources & set(stopped_by_quota):
            done.append(name)
    return done
