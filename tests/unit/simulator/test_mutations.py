"""Edits between runs: last_modified_time follows the sim clock; deletions vanish."""

from __future__ import annotations

import pytest

from zoho_sim import NotFound, ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient as Books

START = "2025-11-01T09:00:00+0300"


def test_clock_starts_at_a_fixed_instant_and_advances():
    sim = ZohoSimulator()
    assert sim.now_zoho == START
    sim.advance(90)
    assert sim.now_zoho == "2025-11-01T09:01:30+0300"
    assert sim.now.isoformat() == "2025-11-01T09:01:30+03:00"


def test_clock_can_follow_real_time():
    sim = ZohoSimulator(follow_real_time=True)
    assert sim.clock.epoch() >= sim.clock.start_epoch


def test_base_data_is_older_than_the_clock(books: Books):
    for item in books.list_all("items", "items", filter_by="Status.All"):
        assert item["last_modified_time"] < START


def test_updating_an_item_bumps_last_modified_time(books: Books):
    sim = books.sim
    item_id = sim.active_item_ids()[0]
    sim.advance(3600)
    sim.update_item(item_id, rate=12_345)
    item = books.ok(f"items/{item_id}")["item"]
    assert item["rate"] == 12_345
    assert item["last_modified_time"] == "2025-11-01T10:00:00+0300"


def test_added_item_is_listed_with_a_new_larger_id(books: Books):
    sim = books.sim
    sim.advance(60)
    item_id = sim.add_item(name="زيت زيتون Extra Virgin 1L (new)", rate=9_000)
    assert int(item_id) > max(int(i) for i in sim.items if i != item_id)
    listed = {i["item_id"]: i for i in books.list_all("items", "items")}
    assert listed[item_id]["created_time"] == listed[item_id]["last_modified_time"] == sim.now_zoho


def test_deactivated_item_leaves_the_default_listing_and_reactivation_brings_it_back(books):
    sim = books.sim
    item_id = sim.active_item_ids()[0]
    sim.advance(10)
    sim.deactivate_item(item_id)
    assert item_id not in {i["item_id"] for i in books.list_all("items", "items")}
    inactive = books.list_all("items", "items", filter_by="Status.Inactive")
    assert item_id in {i["item_id"] for i in inactive}
    sim.advance(10)
    sim.reactivate_item(item_id)
    assert sim.items[item_id]["status"] == "active"
    assert sim.items[item_id]["last_modified_time"] == sim.now_zoho


def test_deleted_item_vanishes_from_listings_details_and_price_lists(books: Books):
    sim = books.sim
    consumer = next(pb for pb in sim.pricebooks.values() if pb["name"] == "Consumer")
    item_id = consumer["pricebook_items"][0]["item_id"]
    sim.delete_item(item_id)
    assert books.get(f"items/{item_id}").status_code == 404
    all_items = books.list_all("items", "items", filter_by="Status.All")
    assert item_id not in {i["item_id"] for i in all_items}
    rows = books.ok(f"pricebooks/{consumer['pricebook_id']}")["pricebook"]["pricebook_items"]
    assert item_id not in {r["item_id"] for r in rows}
    with pytest.raises(NotFound):
        sim.update_item(item_id, rate=1)


def test_contact_update_add_and_delete(books: Books):
    sim = books.sim
    contact_id = next(iter(sim.contacts))
    sim.advance(5)
    sim.update_contact(contact_id, phone="+964 750 000 0000")
    assert books.ok(f"contacts/{contact_id}")["contact"]["last_modified_time"] == sim.now_zoho
    new_id = sim.add_contact(contact_name='مطعم "جديد" 🍢')
    sim.delete_contact(contact_id)
    listed = {c["contact_id"] for c in books.list_all("contacts", "contacts")}
    assert new_id in listed and contact_id not in listed


def detail(books: Books, invoice_id: str) -> dict:
    return books.ok(f"invoices/{invoice_id}")["invoice"]


def test_invoice_line_edits_recompute_totals_and_bump_last_modified_time(books: Books):
    sim = books.sim
    invoice_id = next(iter(sim.invoices))
    before = detail(books, invoice_id)
    sim.advance(120)
    line_id = sim.add_invoice_line(invoice_id, sim.active_item_ids()[0], quantity=2, rate=1000)
    after_add = detail(books, invoice_id)
    assert after_add["last_modified_time"] == sim.now_zoho
    assert len(after_add["line_items"]) == len(before["line_items"]) + 1
    assert after_add["sub_total"] == pytest.approx(before["sub_total"] + 2000)
    assert line_id not in {li["line_item_id"] for li in before["line_items"]}

    sim.advance(120)
    sim.update_invoice_line(invoice_id, line_id, quantity=3)
    after_change = detail(books, invoice_id)
    assert after_change["sub_total"] == pytest.approx(before["sub_total"] + 3000)
    assert after_change["last_modified_time"] == sim.now_zoho

    sim.advance(120)
    sim.remove_invoice_line(invoice_id, line_id)
    after_remove = detail(books, invoice_id)
    assert after_remove["sub_total"] == before["sub_total"]
    assert after_remove["total"] == before["total"]
    listed = {i["invoice_id"]: i for i in books.list_all("invoices", "invoices")}
    assert listed[invoice_id]["total"] == after_remove["total"]
    assert listed[invoice_id]["last_modified_time"] == sim.now_zoho


def test_header_edit_and_the_filter_return_exactly_the_changed_invoices(books: Books):
    sim = books.sim
    invoice_ids = list(sim.invoices)[:3]
    sim.advance(86_400)
    since = sim.now_zoho
    for invoice_id in invoice_ids[:2]:
        sim.update_invoice(invoice_id, status="paid")
    new_id = sim.add_invoice(lines=[{"item_id": sim.active_item_ids()[1], "quantity": 4}])
    sim.delete_invoice(invoice_ids[2])
    changed = books.list_all("invoices", "invoices", last_modified_time=since)
    assert {i["invoice_id"] for i in changed} == {*invoice_ids[:2], new_id}
    assert all(i["status"] == "paid" for i in changed if i["invoice_id"] != new_id)
    assert books.get(f"invoices/{invoice_ids[2]}").status_code == 404


def test_price_list_row_and_header_edits(books: Books):
    sim = books.sim
    sim.configure(expose_pricebook_times=True)
    retail = next(pb for pb in sim.pricebooks.values() if pb["name"] == "Retail IQD")
    pricebook_id = retail["pricebook_id"]
    outsider = next(
        i
        for i in sim.active_item_ids()
        if i not in {r["item_id"] for r in retail["pricebook_items"]}
    )
    sim.advance(30)
    sim.set_pricebook_item(pricebook_id, outsider, 7_750, pricebook_discount="5%")
    rows = {
        r["item_id"]: r
        for r in books.ok(f"pricebooks/{pricebook_id}")["pricebook"]["pricebook_items"]
    }
    assert rows[outsider]["pricebook_rate"] == 7_750
    assert rows[outsider]["pricebook_discount"] == "5%"
    sim.remove_pricebook_item(pricebook_id, outsider)
    header = books.ok(f"pricebooks/{pricebook_id}")["pricebook"]
    assert outsider not in {r["item_id"] for r in header["pricebook_items"]}
    assert header["last_modified_time"] == sim.now_zoho

    sim.update_pricebook(pricebook_id, status="inactive")
    new_id = sim.add_pricebook(name="Wholesale C USD", currency_code="USD", decimal_place=2)
    sim.delete_pricebook(pricebook_id)
    listed = {pb["pricebook_id"]: pb for pb in books.list_all("pricebooks", "pricebooks")}
    assert pricebook_id not in listed
    assert listed[new_id]["name"] == "Wholesale C USD"


def test_change_fraction_edits_about_that_share_and_reports_what_changed():
    sim = ZohoSimulator(scale="demo")
    sim.advance(3600)
    changes = sim.change_fraction(0.1, seed=3)
    touched = sum(len(ids) for ids in changes["items"].values())
    assert 120 <= touched <= 160
    for item_id in changes["items"]["updated"]:
        assert sim.items[item_id]["last_modified_time"] == sim.now_zoho
    for item_id in changes["items"]["deleted"]:
        assert item_id not in sim.items
    for invoice_id in changes["invoices"]["lines_changed"] + changes["invoices"]["updated"]:
        assert sim.invoices[invoice_id]["last_modified_time"] == sim.now_zoho
    assert changes["contacts"]["updated"]
    assert sim.change_fraction(0.1, seed=3) != changes
