"""One declaration per Zoho module (loader/zoho/modules.py): the source's resources, the
budget planner, the webhook receiver and the CLI all name modules as it does, and read
what it declares."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from types import SimpleNamespace

from loader.run import budget
from loader.run.budget import inputs as budget_inputs
from loader.run.budget import model as budget_model
from loader.run.budget.model import PlanInputs, Sizes
from loader.webhooks.config import APPLIED_MODULES
from loader.zoho import modules
from loader.zoho.contract import TABLES
from loader.zoho.resources.common import Counters
from loader.zoho.source import zoho_books_source

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
DEMO = Sizes(items=1_379, per_item_pricebooks=6, contacts=200, invoices=1_000)


def _source_resources() -> set[str]:
    """The selected resources of the dlt source (built, not run: nothing is called)."""
    client = SimpleNamespace(settings=SimpleNamespace(organization_id="1", max_concurrency=1))
    source = zoho_books_source(client, Counters(), NOW)
    return set(source.selected_resources)


def test_every_resource_of_the_source_is_a_declared_module_deletion_check_or_detail():
    assert _source_resources() == set(modules.ALL_RESOURCES + modules.RECONCILE_RESOURCES)


def test_every_declared_table_is_a_raw_table_of_the_contract_with_its_id_column():
    for module in modules.MODULES:
        for table in module.tables:
            assert table in TABLES, f"{module.name}: {table} is not in the contract"
        assert module.id_column in TABLES[module.tables[0]].columns
        if module.deletion_check is not None:
            for child in module.deletion_check.children:
                assert module.id_column in TABLES[child].columns
    for table in modules.DETAIL_RESOURCES:
        assert table in TABLES


def test_every_planner_name_resolves_to_the_loaders_resources():
    names = (
        *budget_model.INCREMENTAL,
        *budget_model.DAILY,
        *budget_model.COMPLETE_LISTINGS,
        budget_model.INVOICE_DETAILS,
    )
    known = set(modules.ALL_RESOURCES + modules.RECONCILE_RESOURCES)
    for name in names:
        assert set(modules.planned_resources(name)) <= known, name
    every_resource = {r for name in names for r in modules.planned_resources(name)}
    # the planner can schedule every resource that calls Zoho; webhook-landed ones (no
    # call) run every run
    assert every_resource == known - set(modules.WEBHOOK_LANDED_RESOURCES)
    assert not every_resource & set(modules.WEBHOOK_LANDED_RESOURCES)


def test_a_plan_always_lands_the_stored_webhook_events_of_modules_without_a_listing():
    chosen = budget_inputs.resources_of(budget.plan(PlanInputs(now=NOW, sizes=DEMO)))
    assert {"inventory_adjustments", "inventory_adjustment_line_items"} <= set(chosen)


def test_a_plan_runs_the_resources_of_its_modules_under_the_same_names():
    p = budget.plan(PlanInputs(now=NOW, sizes=DEMO))
    assert set(p.resources) >= {"invoices", "contacts", "organizations", "items", "pricebooks"}
    chosen = budget_inputs.resources_of(p)
    assert {"invoices", "contacts", "items", "pricebooks", "pricebook_items"} <= set(chosen)
    assert set(budget_inputs.refreshed_listings(chosen, stopped_by_quota=["pricebook_items"])) == {
        "items",
        "contact_deletions",
        "invoice_deletions",
        "bill_deletions",
    } & set(p.resources)


def test_every_webhook_module_is_a_declared_module_with_its_payload_key():
    assert set(APPLIED_MODULES) == {m.name for m in modules.MODULES if m.webhook}
    for name, payload_key in APPLIED_MODULES.items():
        assert payload_key == modules.BY_NAME[name].singular


def test_every_declared_cost_names_what_the_planner_measures():
    fields = {f.name for f in dataclasses.fields(Sizes)}
    costs = [cost for cost, _ in budget_model.declared_costs().values()]
    for cost in costs + [reading.cost for reading in modules.READINGS]:
        for size in (cost.pages_of, cost.one_per):
            assert size is None or size in fields


def test_the_planner_reads_listing_costs_from_the_declaration(monkeypatch):
    assert budget.listing_costs(DEMO)["items"] == 7  # 1,379 items, 200 a page
    smaller_pages = dataclasses.replace(modules.ITEMS, page_size=100)
    monkeypatch.setitem(budget.COSTS, "items", (smaller_pages.cost, smaller_pages.page_size))
    assert budget.listing_costs(DEMO)["items"] == 14
    dearer = modules.Cost(calls=1, one_per="per_item_pricebooks")
    monkeypatch.setitem(budget.COSTS, "pricebooks", (dataclasses.replace(dearer, calls=3), 200))
    assert budget.listing_costs(DEMO)["pricebooks"] == 3 + 6


def test_stock_readings_waiting_are_details_the_planner_gives_calls_to():
    waiting = dataclasses.replace(DEMO, pending_details=0, pending_item_stock=40)
    assert budget.pending_reads(waiting) == 40
    assert budget.plan(PlanInputs(now=NOW, sizes=waiting)).details_budget == 40
    nothing = dataclasses.replace(DEMO, pending_details=0)
    assert budget.plan(PlanInputs(now=NOW, sizes=nothing)).details_budget == 0
