"""Stock (issue 24): stock_on_hand and available_stock in the items listing, stock per
location in the item detail (locations[] or warehouses[]), moved by adjustments and bills."""

from __future__ import annotations

from collections import Counter

import pytest

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient as Books


def _per_location(detail: dict) -> dict[str, tuple[float, float]]:
    """What a loader accepting either name reads: {location: (on hand, available)}."""
    if "locations" in detail:
        return {
            e["location_id"]: (e["location_stock_on_hand"], e["location_available_stock"])
            for e in detail["locations"]
        }
    return {
        e["warehouse_id"]: (e["warehouse_stock_on_hand"], e["warehouse_available_stock"])
        for e in detail["warehouses"]
    }


def test_listing_carries_stock_and_available_stock_for_inventory_items(books: Books):
    items = books.list_all("items", "items", filter_by="Status.All")
    inventory = [i for i in items if i["item_type"] == "inventory"]
    services = [i for i in items if i["item_type"] != "inventory"]
    assert inventory and services
    assert all("available_stock" in i for i in inventory)
    assert not any("available_stock" in i for i in services)
    tracked = [i for i in inventory if i["stock_on_hand"] != ""]
    assert tracked
    assert all(0 <= i["stock_on_hand"] - i["available_stock"] <= 9 for i in tracked)
    assert any(i["stock_on_hand"] > i["available_stock"] for i in tracked)


def test_detail_stock_per_location_sums_to_the_listing_in_either_shape(
    demo_sim: ZohoSimulator, demo_books: Books
):
    shapes: Counter[str] = Counter()
    listed = {i["item_id"]: i for i in demo_books.list_all("items", "items")}
    demo_sim.reset_rate_window()
    for item_id in list(listed)[:80]:
        item = listed[item_id]
        detail = demo_books.ok(f"items/{item_id}")["item"]
        if item["item_type"] != "inventory":
            assert "locations" not in detail and "warehouses" not in detail
            continue
        shapes["locations" if "locations" in detail else "warehouses"] += 1
        stock = _per_location(detail)
        if item["stock_on_hand"] == "":
            assert stock == {}
            continue
        assert sum(on_hand for on_hand, _ in stock.values()) == item["stock_on_hand"]
        assert sum(available for _, available in stock.values()) == item["available_stock"]
    assert shapes["locations"] > shapes["warehouses"] > 0


@pytest.mark.parametrize("shape", ["locations", "warehouses"])
def test_the_stock_shape_can_be_fixed(books: Books, shape: str):
    books.sim.configure(item_stock_shape=shape)
    for item_id in books.sim.active_item_ids()[:10]:
        detail = books.ok(f"items/{item_id}")["item"]
        if detail["item_type"] == "inventory":
            assert shape in detail
            entry = detail[shape][0]
            assert {f"{shape[:-1]}_{k}" for k in ("id", "name", "stock_on_hand")} <= set(entry)


def _inventory_item(sim: ZohoSimulator) -> str:
    return next(
        i
        for i in sim.active_item_ids()
        if sim.items[i]["item_type"] == "inventory" and sim.items[i]["stock_on_hand"] != ""
    )


def test_an_adjustment_moves_stock_consistently_and_bumps_last_modified_time(books: Books):
    sim = books.sim
    sim.configure(item_stock_shape="locations")
    item_id = _inventory_item(sim)
    before = books.ok(f"items/{item_id}")["item"]
    second_location = "2155128000000000001"
    sim.advance(600)
    adjustment_id = sim.post_inventory_adjustment(
        [
            {"item_id": item_id, "quantity_adjusted": -3},
            {"item_id": item_id, "quantity_adjusted": 10, "location_id": second_location},
        ],
        reason="Damaged goods / تالف",
    )
    after = books.ok(f"items/{item_id}")["item"]
    assert after["stock_on_hand"] == before["stock_on_hand"] + 7
    assert after["available_stock"] == before["available_stock"] + 7
    assert after["last_modified_time"] == sim.now_zoho != before["last_modified_time"]
    old, new = _per_location(before), _per_location(after)
    primary = before["locations"][0]["location_id"]
    assert new[primary][0] == old[primary][0] - 3
    assert new[second_location][0] == old.get(second_location, (0, 0))[0] + 10
    listed = {i["item_id"]: i for i in books.list_all("items", "items")}[item_id]
    assert listed["stock_on_hand"] == after["stock_on_hand"]
    [adjustment] = sim.inventory_adjustments
    assert adjustment["inventory_adjustment_id"] == adjustment_id
    assert adjustment["adjustment_type"] == "quantity"
    assert [li["quantity_adjusted"] for li in adjustment["line_items"]] == [-3, 10]
    assert adjustment["line_items"][1]["location_id"] == second_location
    assert adjustment["total"] == sum(li["item_total"] for li in adjustment["line_items"])
    # Books lists adjustments nowhere: the simulator does not invent an endpoint
    assert books.get("inventoryadjustments").json()["code"] == 5


def test_bad_adjustments_change_nothing(books: Books):
    sim = books.sim
    item_id = _inventory_item(sim)
    service = next(i for i in sim.items if sim.items[i]["item_type"] != "inventory")
    stock = sim.items[item_id]["stock_on_hand"]
    with pytest.raises(ValueError):
        sim.post_inventory_adjustment(
            [
                {"item_id": item_id, "quantity_adjusted": 1},
                {"item_id": service, "quantity_adjusted": 1},
            ]
        )
    with pytest.raises(ValueError):
        sim.post_inventory_adjustment(
            [{"item_id": item_id, "quantity_adjusted": 1}], location_id="1"
        )
    assert sim.items[item_id]["stock_on_hand"] == stock
    assert sim.inventory_adjustments == []


def test_set_item_stock_and_bills_move_stock(books: Books):
    sim = books.sim
    item_id = _inventory_item(sim)
    sim.advance(5)
    sim.set_item_stock(item_id, 40)
    stock = sim.item_location_stock(item_id)
    assert stock["2155128000000000000"] == 40
    assert sim.items[item_id]["stock_on_hand"] == sum(stock.values())
    before = sim.items[item_id]["stock_on_hand"]
    bill_id = sim.add_bill(lines=[{"item_id": item_id, "quantity": 12, "rate": 500}])
    assert sim.items[item_id]["stock_on_hand"] == before + 12
    line_id = sim.bills[bill_id]["line_items"][0]["line_item_id"]
    sim.update_bill_line(bill_id, line_id, quantity=20)
    assert sim.items[item_id]["stock_on_hand"] == before + 20
    sim.update_bill(bill_id, status="void")
    assert sim.items[item_id]["stock_on_hand"] == before
    sim.update_bill(bill_id, status="open")
    sim.delete_bill(bill_id)
    assert sim.items[item_id]["stock_on_hand"] == before
    sim.configure(bills_move_stock=False)
    sim.add_bill(lines=[{"item_id": item_id, "quantity": 12}])
    assert sim.items[item_id]["stock_on_hand"] == before


def test_a_stock_count_through_update_item_respreads_the_locations(books: Books):
    sim = books.sim
    item_id = _inventory_item(sim)
    sim.post_inventory_adjustment([{"item_id": item_id, "quantity_adjusted": 5}])
    sim.update_item(item_id, stock_on_hand=100)
    assert sum(sim.item_location_stock(item_id).values()) == 100
    assert 91 <= sim.items[item_id]["available_stock"] <= 100
