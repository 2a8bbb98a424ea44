"""Stock against the simulator and a real PostgreSQL: stock per location read from the
item detail for the inventory items that changed, within the details budget; inventory
adjustments sent by Zoho's webhooks, stored by the real receiver and landed by the next
run; bad adjustments quarantined without stopping the run."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.conftest import load
from tests.integration.webhooks_support import SECRET, Receiver, free_port, server_env, start
from zoho_sim import ZohoSimulator


def inventory_items(sim: ZohoSimulator) -> list[str]:
    return [i for i, r in sim.items.items() if r.get("item_type") == "inventory"]


def stored_locations(pg_query, item_id: str) -> dict[str, Decimal]:
    return dict(
        pg_query(
            "select location_id, stock_on_hand from zoho_staging.item_locations where item_id = %s",
            (item_id,),
        )
    )


def rows(pg_query, table: str) -> int:
    """Rows of a raw table; 0 before dlt created it (no row loaded yet)."""
    [(exists,)] = pg_query("select to_regclass(%s) is not null", (f"zoho_staging.{table}",))
    return pg_query(f"select count(*) from zoho_staging.{table}")[0][0] if exists else 0


def as_decimals(stock: dict[str, float]) -> dict[str, Decimal]:
    return {k: Decimal(str(v)) for k, v in stock.items()}


def test_first_run_reads_each_inventory_items_stock_per_location_in_either_shape(sim, pg_query):
    inventory = inventory_items(sim)
    assert inventory

    result = load(details_budget=1000)

    assert result.status == "success"
    assert sim.calls("GET /items/{id}") == len(inventory)
    for item_id in inventory:
        assert stored_locations(pg_query, item_id) == as_decimals(
            sim.item_location_stock(item_id)
        ), item_id
    # the simulator answers `warehouses[]` for about one item in five: both were read
    shapes = dict(
        pg_query(
            "select location_field, count(*) from zoho_staging.item_stock_readings "
            "where location_count > 0 group by 1"
        )
    )
    assert set(shapes) == {"locations", "warehouses"}
    readings = pg_query("select item_id from zoho_staging.item_stock_readings")
    assert sorted(r[0] for r in readings) == sorted(inventory)


def test_only_items_changed_since_their_reading_are_read_again(sim, pg_query):
    load(details_budget=1000)
    item_id = inventory_items(sim)[0]
    before = sum(sim.item_location_stock(item_id).values())
    sim.advance(120)
    sim.reset_counters()

    quiet = load(details_budget=1000)
    assert sim.calls("GET /items/{id}") == 0
    assert "item_locations" not in quiet.rows_loaded

    location = next(iter(sim.item_location_stock(item_id)))
    sim.set_item_stock(item_id, 7, location)
    sim.reset_counters()
    load(details_budget=1000)

    assert sim.calls("GET /items/{id}") == 1
    assert stored_locations(pg_query, item_id) == as_decimals(sim.item_location_stock(item_id))
    assert stored_locations(pg_query, item_id)[location] == 7
    [(previous, now)] = pg_query(
        "select previous_stock_on_hand, stock_on_hand from zoho_staging.item_stock_readings "
        "where item_id = %s",
        (item_id,),
    )
    assert previous == Decimal(str(before))
    assert now == Decimal(str(sum(sim.item_location_stock(item_id).values())))


def test_stock_readings_share_the_details_budget_without_starving_invoices(sim, pg_query):
    result = load(details_budget=20)

    readings, invoices, bills = (
        rows(pg_query, table)
        for table in ("item_stock_readings", "invoice_details", "bill_details")
    )
    # invoices are many more than 20: they read first, stock keeps its tenth (2 calls)
    assert len(sim.invoices) > 20
    assert (invoices, bills, readings) == (18, 0, 2)
    assert sim.calls("GET /items/{id}") == 2
    assert result.details_read == 20
    assert result.details_pending == len(sim.invoices) + len(sim.bills) - 18


@pytest.fixture
def receiver(sim, clean_warehouse, tmp_path) -> Iterator[Receiver]:
    """The real receiver (`python -m loader serve`, no worker) on the tests' database,
    and the simulator's webhooks pointed at it."""
    # the receiver serves the organization the loader loads (its events are stored under it)
    env = {**server_env(clean_warehouse, tmp_path, webhook_secret=SECRET), **sim.env()}
    port = free_port()
    proc, url = start(["-m", "loader", "serve", "--no-worker", "--port", str(port)], env, port)
    sim.configure_webhooks(url=f"{url}/webhooks/zoho", secret=SECRET)
    yield Receiver(url)
    sim.configure_webhooks(url=None)
    proc.terminate()
    proc.wait(timeout=30)


def test_adjustments_sent_by_webhook_land_with_their_lines_and_move_the_stock_read(
    sim, receiver, pg_query
):
    load(details_budget=1000)
    first, second = inventory_items(sim)[:2]
    location = next(iter(sim.item_location_stock(first)))
    sim.advance(60)
    adjustment = sim.post_inventory_adjustment(
        [
            {"item_id": first, "quantity_adjusted": -2, "location_id": location},
            {"item_id": second, "quantity_adjusted": 5},
        ],
        reason="Damaged goods",
    )
    assert sim.flush_webhooks()
    sim.reset_counters()

    result = load(details_budget=1000)

    assert result.status == "success"
    assert pg_query(
        "select reason, adjustment_type, is_deleted from zoho_staging.inventory_adjustments "
        "where inventory_adjustment_id = %s",
        (adjustment,),
    ) == [("Damaged goods", "quantity", False)]
    lines = pg_query(
        "select item_id, quantity_adjusted from zoho_staging.inventory_adjustment_line_items "
        "where inventory_adjustment_id = %s order by quantity_adjusted",
        (adjustment,),
    )
    assert lines == [(first, Decimal(-2)), (second, Decimal(5))]
    # the adjusted items changed in Zoho: their stock per location is read again
    assert sim.calls("GET /items/{id}") == 2
    assert stored_locations(pg_query, first) == as_decimals(sim.item_location_stock(first))

    again = load(details_budget=1000)  # the cursor moved: nothing lands twice
    assert "inventory_adjustments" not in again.rows_loaded


def test_an_adjustment_that_cannot_be_stored_is_quarantined_and_the_run_goes_on(
    sim, receiver, pg_query
):
    load(details_budget=1000)
    item_id = inventory_items(sim)[0]
    bad = {
        "inventory_adjustment_id": "4000000000001",
        "date": "not a date",
        "line_items": [{"line_item_id": "4000000000002", "item_id": item_id}],
    }
    answer = receiver.post("inventoryadjustments", {"inventory_adjustment": bad}, event="created")
    assert answer.status_code == 200, answer.text
    good = sim.post_inventory_adjustment([{"item_id": item_id, "quantity_adjusted": 1}])
    assert sim.flush_webhooks()

    result = load(details_budget=1000)

    assert result.status == "success" and result.exit_code == 0
    assert result.quarantined == 1
    assert pg_query(
        "select table_name, record_id from zoho_staging.quarantine where reason like '%date%'"
    ) == [("inventory_adjustments", "4000000000001")]
    landed = pg_query("select inventory_adjustment_id from zoho_staging.inventory_adjustments")
    assert landed == [(good,)]
