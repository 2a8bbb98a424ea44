"""The generated organisation: the demo's business numbers and Zoho's field shapes."""

from __future__ import annotations

from collections import Counter

import pytest

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient as Books

ROUNDING_TYPES = {
    "no_rounding",
    "round_to_dollor",
    "round_to_dollar",
    "round_to_dollar_minus_01",
    "round_to_half_dollar",
    "round_to_half_dollar_minus_01",
}


@pytest.fixture(scope="module")
def demo_lists(demo_books: Books) -> list[dict]:
    lists = demo_books.list_all("pricebooks", "pricebooks")
    return [demo_books.ok(f"pricebooks/{pb['pricebook_id']}")["pricebook"] for pb in lists]


@pytest.fixture(scope="module")
def demo_items(demo_books: Books) -> list[dict]:
    return demo_books.list_all("items", "items", filter_by="Status.All")


def test_demo_reproduces_the_business_numbers_through_the_api(demo_items, demo_lists):
    active = {i["item_id"]: i for i in demo_items if i["status"] == "active"}
    inactive = {i["item_id"] for i in demo_items if i["status"] == "inactive"}
    priced = {
        row["item_id"]
        for pb in demo_lists
        if (pb["status"], pb["sales_or_purchase_type"], pb["pricebook_type"])
        == ("active", "sales", "per_item")
        for row in pb["pricebook_items"]
    }
    unpriced = set(active) - priced
    assert len(active) == 1319
    assert len(set(active) & priced) == 1215
    assert len(unpriced) == 104
    assert sum(1 for i in unpriced if active[i]["rate"] > 0) == 94
    assert sum(1 for i in unpriced if active[i]["rate"] == 0) == 10
    assert len(inactive) == 60
    assert inactive & priced, "some list rows name inactive items"


def test_demo_summary_agrees(demo_sim: ZohoSimulator):
    assert demo_sim.summary() == {
        "items": 1379,
        "active_items": 1319,
        "inactive_items": 60,
        "active_in_active_sales_lists": 1215,
        "active_in_no_list": 104,
        "active_in_no_list_rate_positive": 94,
        "active_in_no_list_rate_zero": 10,
        "contacts": 200,
        "invoices": 1000,
        "pricebooks": 12,
    }


def test_demo_price_lists_cover_the_shapes_dbt_must_handle(demo_lists):
    by_name = {pb["name"]: pb for pb in demo_lists}
    consumer = by_name["Consumer"]
    assert (
        consumer["currency_code"],
        consumer["sales_or_purchase_type"],
        consumer["pricebook_type"],
        consumer["status"],
    ) == ("IQD", "sales", "per_item", "active")
    assert "Wholesale A USD" in by_name and "Retail IQD" in by_name
    assert {pb["currency_code"] for pb in demo_lists} == {"IQD", "USD"}
    assert any(pb["status"] == "inactive" for pb in demo_lists)
    assert any(pb["sales_or_purchase_type"] == "purchases" for pb in demo_lists)
    fixed = [pb for pb in demo_lists if pb["pricebook_type"] == "fixed_percentage"]
    assert {pb["rounding_type"] for pb in fixed} == ROUNDING_TYPES
    assert {pb["is_increase"] for pb in fixed} == {True, False}
    for pb in fixed:  # an active fixed_percentage sales list would price every item
        assert pb["status"] == "inactive" or pb["sales_or_purchase_type"] == "purchases"
    rows = [row for pb in demo_lists for row in pb["pricebook_items"]]
    volume = [row for row in rows if row["pricing_scheme"] == "volume"]
    assert volume and all(len(row["price_brackets"]) >= 2 for row in volume)
    assert {row["pricing_scheme"] for row in rows} == {"unit", "volume"}
    assert any(row["pricebook_discount"].endswith("%") for row in rows)


def test_demo_items_carry_zoho_quirks(demo_items):
    assert any(i["purchase_rate"] == "" for i in demo_items)
    assert any(i["stock_on_hand"] == "" for i in demo_items)
    assert any(i["product_type"] == "service" and i["rate"] == 0 for i in demo_items)
    assert any("Discontinued" in i["name"] for i in demo_items)
    assert any('"' in i["name"] for i in demo_items)
    assert any(any("\u0600" <= ch <= "\u06ff" for ch in i["name"]) for i in demo_items)
    assert all(isinstance(i["custom_fields"], list) for i in demo_items)
    assert len({i["name"] for i in demo_items}) == len(demo_items)


def test_demo_invoices_and_contacts(demo_sim: ZohoSimulator, demo_books: Books):
    invoices = demo_books.list_all("invoices", "invoices")
    assert len(invoices) == 1000
    assert set(Counter(i["status"] for i in invoices)) == {
        "draft",
        "sent",
        "overdue",
        "paid",
        "void",
        "partially_paid",
    }
    assert {i["currency_code"] for i in invoices} == {"IQD", "USD"}
    assert len(demo_books.list_all("contacts", "contacts")) == 200
    lines = [n for inv in demo_sim.invoices.values() for n in [len(inv["line_items"])]]
    assert min(lines) == 1 and max(lines) == 8


def test_same_seed_same_data_other_seed_other_data():
    first, again, other = (ZohoSimulator(seed=s) for s in (5, 5, 6))
    assert list(first.items.values()) == list(again.items.values())
    assert list(first.invoices.values()) == list(again.invoices.values())
    assert list(first.items.values()) != list(other.items.values())


def test_unit_scale_is_a_few_dozen_rows(zoho_sim: ZohoSimulator):
    assert 20 <= len(zoho_sim.items) <= 60
    assert 5 <= len(zoho_sim.contacts) <= 30
    assert 20 <= len(zoho_sim.invoices) <= 60


def test_explicit_counts_serve_large_catalogues_lazily():
    with ZohoSimulator(scale={"items": 100_000, "contacts": 50, "invoices": 100}) as sim:
        books = Books(sim)
        body = books.ok("items", page=400, filter_by="Status.All")
        assert len(body["items"]) == 200
        assert body["page_context"]["has_more_page"] is True
        assert (
            books.ok("items", page=500, filter_by="Status.All")["page_context"]["has_more_page"]
            is False
        )
        last_id = body["items"][-1]["item_id"]
        assert books.ok(f"items/{last_id}")["item"]["item_id"] == last_id
