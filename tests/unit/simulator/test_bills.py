"""Bills (issue 24): the listing, its >= filter and sorts, details with lines, deletions,
edits, demo numbers, faults and quota on the new endpoints."""

from __future__ import annotations

from collections import Counter

import pytest

from zoho_sim import NotFound, ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient as Books

LIST_FIELDS = {
    "bill_id",
    "bill_number",
    "vendor_id",
    "vendor_name",
    "status",
    "date",
    "due_date",
    "reference_number",
    "currency_code",
    "exchange_rate",
    "total",
    "balance",
    "created_time",
    "last_modified_time",
}
LINE_FIELDS = {
    "line_item_id",
    "item_id",
    "name",
    "account_id",
    "rate",
    "quantity",
    "item_total",
    "location_id",
    "location_name",
}


def test_listing_pages_until_has_more_page_is_false_without_lines(books: Books):
    pages = []
    page = 1
    while True:
        body = books.ok("bills", page=page, per_page=5)
        pages.append(body["bills"])
        if not body["page_context"]["has_more_page"]:
            break
        page += 1
    bills = [b for p in pages for b in p]
    assert len(bills) == 12 == len(books.sim.bills)
    assert len({b["bill_id"] for b in bills}) == 12
    assert body["page_context"]["report_name"] == "Bills"
    for bill in bills:
        assert set(bill) >= LIST_FIELDS
        assert "line_items" not in bill and "sub_total" not in bill


def test_detail_has_lines_and_sums_that_add_up(books: Books):
    for bill_id in books.sim.bills:
        bill = books.ok(f"bills/{bill_id}")["bill"]
        assert set(bill) >= LIST_FIELDS
        assert bill["line_items"]
        for line in bill["line_items"]:
            assert set(line) >= LINE_FIELDS
            assert line["item_total"] == pytest.approx(line["rate"] * line["quantity"], abs=0.01)
        assert bill["sub_total"] == pytest.approx(
            sum(li["item_total"] for li in bill["line_items"]), abs=0.01
        )
        assert bill["total"] == pytest.approx(bill["sub_total"] + bill["tax_total"], abs=0.01)
        listed = next(b for b in books.list_all("bills", "bills") if b["bill_id"] == bill_id)
        assert {k: bill[k] for k in listed} == listed


def test_last_modified_time_filter_is_inclusive_and_sort_by_it_works(books: Books):
    bills = books.list_all("bills", "bills", sort_column="last_modified_time", sort_order="A")
    times = [b["last_modified_time"] for b in bills]
    assert times == sorted(times)
    since = times[6]
    changed = books.list_all("bills", "bills", last_modified_time=since)
    assert {b["bill_id"] for b in changed} == {
        b["bill_id"] for b in bills if b["last_modified_time"] >= since
    }
    assert since in {b["last_modified_time"] for b in changed}  # >=, not >
    assert books.get("bills", last_modified_time="2025-01-01 10:00:00").json()["code"] == 2
    assert books.get("bills", sort_column="colour").json()["code"] == 2


def test_demo_bills_come_from_vendors_in_both_currencies_with_lines_off_catalogue(
    demo_sim: ZohoSimulator, demo_books: Books
):
    bills = list(demo_sim.bills.values())
    assert len(bills) == 300
    vendors = {
        c["contact_id"] for c in demo_books.list_all("contacts", "contacts", contact_type="vendor")
    }
    assert {b["vendor_id"] for b in bills} <= vendors
    assert len({b["vendor_id"] for b in bills}) > 10
    currencies = Counter(b["currency_code"] for b in bills)
    assert currencies["USD"] > 30 and currencies["IQD"] > 150
    assert all(b["exchange_rate"] == 1310.0 for b in bills if b["currency_code"] == "USD")
    lines = [li for b in bills for li in b["line_items"]]
    catalogue = set(demo_sim.items)
    no_item = [li for li in lines if li["item_id"] == ""]
    unknown = [li for li in lines if li["item_id"] and li["item_id"] not in catalogue]
    assert no_item and unknown
    assert len(no_item) + len(unknown) < len(lines) * 0.2
    assert all(li["location_id"] == "" for li in no_item)
    assert len(Counter(b["status"] for b in bills)) == 6


def test_bills_follow_the_scale_and_leave_the_other_data_as_it_was():
    small = ZohoSimulator({"items": 200, "invoices": 50})
    assert len(small.bills) == 15
    assert len(ZohoSimulator({"items": 200, "bills": 7}).bills) == 7
    assert len(ZohoSimulator("demo").bills) == 300
    # a second organisation's bills differ (its own seed)
    one, two = ZohoSimulator(), ZohoSimulator(seed=2)
    assert [b["total"] for b in one.bills.values()] != [b["total"] for b in two.bills.values()]


def test_deleted_bill_vanishes_and_its_detail_is_404_code_1002(books: Books):
    sim = books.sim
    bill_id = next(iter(sim.bills))
    sim.delete_bill(bill_id)
    response = books.get(f"bills/{bill_id}")
    assert response.status_code == 404
    assert response.json()["code"] == 1002
    assert bill_id not in {b["bill_id"] for b in books.list_all("bills", "bills")}
    with pytest.raises(NotFound):
        sim.update_bill(bill_id, status="paid")


def test_bill_edits_bump_last_modified_time_and_the_filter_finds_exactly_them(books: Books):
    sim = books.sim
    first, second = list(sim.bills)[:2]
    sim.advance(86_400)
    since = sim.now_zoho
    sim.update_bill(first, status="paid")
    vendor = next(c for c, rec in sim.contacts.items() if rec["contact_type"] == "vendor")
    item_id = sim.active_item_ids()[0]
    new_id = sim.add_bill(
        vendor,
        [
            {"item_id": item_id, "quantity": 5, "rate": 1000},
            {"item_id": "", "name": "Freight in", "rate": 2500},
            {"item_id": "9" * 19, "name": "Old import", "quantity": 2, "rate": 750},
        ],
        currency_code="USD",
    )
    changed = books.list_all("bills", "bills", last_modified_time=since)
    assert {b["bill_id"] for b in changed} == {first, new_id}
    new = books.ok(f"bills/{new_id}")["bill"]
    assert new["vendor_id"] == vendor and new["currency_code"] == "USD"
    assert new["exchange_rate"] == 1310.0
    assert [li["item_id"] for li in new["line_items"]] == [item_id, "", "9" * 19]
    assert new["sub_total"] == 5000 + 2500 + 1500
    assert books.ok(f"bills/{first}")["bill"]["balance"] == 0
    sim.advance(60)
    line_id = sim.add_bill_line(second, item_id, quantity=3, rate=100)
    sim.update_bill_line(second, line_id, quantity=4)
    detail = books.ok(f"bills/{second}")["bill"]
    assert detail["last_modified_time"] == sim.now_zoho
    assert (
        next(li for li in detail["line_items"] if li["line_item_id"] == line_id)["item_total"]
        == 400
    )
    before = detail["sub_total"]
    sim.remove_bill_line(second, line_id)
    assert books.ok(f"bills/{second}")["bill"]["sub_total"] == before - 400


def test_bills_cost_quota_and_get_faults_like_every_endpoint(books: Books):
    sim = books.sim
    sim.configure(daily_quota=1000, fault_endpoints=("GET /bills/{id}",))
    bill_id = next(iter(sim.bills))
    sim.inject_fault("http500")
    assert books.get("bills").status_code == 200  # not targeted: the fault waits
    assert books.get(f"bills/{bill_id}").status_code == 500
    answered = books.get(f"bills/{bill_id}")
    assert answered.status_code == 200
    assert answered.headers["X-Rate-Limit-Remaining"] == "997"
    assert sim.calls("GET /bills") == 1 and sim.calls("GET /bills/{id}") == 2
    sim.configure(per_minute=3)
    assert books.get("bills").json()["code"] == 44


def test_change_fraction_edits_bills_too_and_reports_them():
    sim = ZohoSimulator(scale="demo")
    sim.advance(3600)
    changes = sim.change_fraction(0.1, seed=3)
    bills = changes["bills"]
    assert 20 <= len(bills["updated"]) + len(bills["deleted"]) <= 40
    assert bills["added"]
    for bill_id in bills["updated"] + bills["added"]:
        assert sim.bills[bill_id]["last_modified_time"] == sim.now_zoho
    for bill_id in bills["deleted"]:
        assert bill_id not in sim.bills
