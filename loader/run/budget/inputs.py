"""What a run reads before it plans (loader/run/budget/ is the pure planner), and what the
plan means for the run: which of the loader's resources run, how many invoice details.

Read before extraction, without calling Zoho: the organization's recent runs in
`zoho_staging.sync_runs` (their calls, invoice details read, complete listings finished
and the quota headers each last saw), what the warehouse holds (for what a listing
costs) and whether webhook events arrived lately."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from loader.run import budget
from loader.run.budget import model as budget_model
from loader.run.budget.model import Plan, PlanInputs, QuotaSeen, Sizes
from loader.warehouse.webhook_events import EVIDENCE_WINDOW
from loader.zoho.constants import DETAIL_RESOURCES
from loader.zoho.stored import Destination

HISTORY = timedelta(days=2)
# The complete listings this loader runs, by the planner's name, and its resources.
LISTING_RESOURCES: dict[str, tuple[str, ...]] = {
    budget_model.ITEMS: ("items",),
    budget_model.PRICEBOOKS: ("pricebooks", "pricebook_items"),
    budget_model.CONTACT_DELETIONS: ("contact_deletions",),
    budget_model.INVOICE_DELETIONS: ("invoice_deletions",),
}
INCREMENTAL_RESOURCES: dict[str, tuple[str, ...]] = {
    budget_model.INVOICES: ("invoices",),
    budget_model.CONTACTS: ("contacts",),
    budget_model.ORGANIZATIONS: ("organizations",),
}


def history(conn: Any, table: str, organization_id: str, now: datetime) -> dict[str, Any]:
    """Recent runs, the last complete refresh of each listing, and the quota as last seen."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            select started_at, coalesce(api_calls, 0), coalesce(details_read, 0),
                   coalesce(refreshed, ''), status, finished_at, quota_limit,
                   quota_remaining, quota_reset_at
            from {table}
            where organization_id = %s and started_at >= %s and status <> 'running'
            order by started_at
            """,
            (organization_id, now - HISTORY),
        )
        rows = cursor.fetchall()
        cursor.execute(
            f"""
            select name, max(started_at)
            from {table}, unnest(string_to_array(refreshed, ',')) as name
            where organization_id = %s and refreshed <> ''
            group by name
            """,
            (organization_id,),
        )
        refreshed = {name: at for name, at in cursor.fetchall()}
    runs = [budget_model.PastRun(r[0], int(r[1]), int(r[2])) for r in rows]
    quota = stop_until = None
    if rows:
        last = rows[-1]
        seen_at = last[5] or last[0]
        if last[6] is not None or last[7] is not None or last[8] is not None:
            quota = QuotaSeen(seen_at=seen_at, limit=last[6], remaining=last[7], reset_at=last[8])
        if last[4] in ("quota_exhausted", "waiting") and last[8] is not None:
            stop_until = last[8]
    return {"runs": runs, "refreshed": refreshed, "quota": quota, "stop_until": stop_until}


def sizes(destination: Destination) -> Sizes:
    """Rows the warehouse holds (not marked deleted) and the invoices awaiting details."""

    def count(table: str, where: str = "") -> int:
        existing = destination.existing_columns(table)
        if not existing:
            return 0
        conditions = [where] if where else []
        if "is_deleted" in existing:
            conditions.append("not coalesce(is_deleted, false)")
        sql = f"select count(*) from {destination.table(table)}"
        if conditions:
            sql += " where " + " and ".join(conditions)
        return int(destination.fetch(sql)[0][0])

    per_item = 0
    if "pricebook_type" in destination.existing_columns("pricebooks"):
        per_item = count("pricebooks", "pricebook_type = 'per_item'")
    return Sizes(
        items=count("items"),
        per_item_pricebooks=per_item,
        contacts=count("contacts"),
        invoices=count("invoices"),
        pending_details=destination.count_pending_details(),
    )


def webhook_families(destination: Destination, now: datetime) -> frozenset[str]:
    """Modules whose webhook events were verified and applied lately (EVIDENCE_WINDOW,
    loader/warehouse/webhook_events.py): evidence, not traffic. Refused, malformed, failed
    and dead-lettered deliveries never count, and once verified events stop the listing
    is back to its normal cadence."""
    existing = destination.existing_columns("webhook_events")
    if not {"module", "status", "applied_at"} <= existing:
        return frozenset()
    rows = destination.fetch(
        f"select distinct module from {destination.table('webhook_events')} "
        "where status = 'applied' and applied_at >= %s",
        now - EVIDENCE_WINDOW,
    )
    return frozenset(str(r[0]) for r in rows)


def make_plan(
    conn: Any,
    run_table: str,
    organization_id: str,
    destination: Destination,
    now: datetime,
    daily_budget: int | None,
    reserved_calls: int | None,
    details_cap: int,
) -> Plan:
    past = history(conn, run_table, organization_id, now)
    return budget.plan(
        PlanInputs(
            now=now,
            sizes=sizes(destination),
            runs=past["runs"],
            refreshed=past["refreshed"],
            daily_budget=daily_budget,
            reserved_calls=reserved_calls,
            quota=past["quota"],
            quota_stop_until=past["stop_until"],
            webhook_families=webhook_families(destination, now),
            details_cap=details_cap,
            listings=tuple(LISTING_RESOURCES),
        )
    )


def resources_of(plan: Plan) -> list[str]:
    """The loader's resources the plan runs (details and line items go together)."""
    chosen: list[str] = []
    for name in plan.resources:
        chosen.extend(INCREMENTAL_RESOURCES.get(name, ()))
        chosen.extend(LISTING_RESOURCES.get(name, ()))
        if name == budget_model.INVOICE_DETAILS:
            chosen.extend(DETAIL_RESOURCES)
    return chosen


def refreshed_listings(selected: Sequence[str], stopped_by_quota: Sequence[str]) -> list[str]:
    """The planner's complete listings this run finished (not cut short by the quota)."""
    done = []
    for name, resources in LISTING_RESOURCES.items():
        if set(resources) <= set(selected) and not set(resources) & set(stopped_by_quota):
            done.append(name)
    return done
