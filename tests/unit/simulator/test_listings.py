"""Filters, sorts and list-versus-detail shapes of each resource."""

from __future__ import annotations

from datetime import datetime

import pytest

from zoho_sim.pytest_plugin import BooksClient as Books


def ids(records: list[dict], key: str) -> list[str]:
    return [r[key] for r in records]


def test_items_list_only_active_items_by_default(books: Books):
    items = books.list_all("items", "items")
    assert {item["status"] for item in items} == {"active"}
    assert len(items) == len(books.sim.active_item_ids())


@pytest.mark.parametrize(
    ("filter_by", "statuses"),
    [
        ("Status.All", {"active", "inactive"}),
        ("Status.Active", {"active"}),
        ("Status.Inactive", {"inactive"}),
    ],
)
def test_items_filter_by_status(books: Books, filter_by: str, statuses: set[str]):
    items = books.list_all("items", "items", filter_by=filter_by)
    assert {item["status"] for item in items} == statuses
    if filter_by == "Status.All":
        assert len(items) == len(books.sim.items)


def test_unknown_filter_is_400(books: Books):
    assert books.get("items", filter_by="Status.Deleted").status_code == 400


@pytest.mark.parametrize("order", ["A", "D"])
def test_items_sort_by_name_with_id_tie_break(books: Books, order: str):
    items = books.list_all("items", "items", sort_column="name", sort_order=order, per_page=5)
    keys = [item["name"] for item in items]
    assert keys == sorted(keys, reverse=order == "D")
    assert (
        books.ok("items", sort_column="name", sort_order=order)["page_context"]["sort_order"]
        == order
    )


@pytest.mark.parametrize("order", ["A", "D"])
def test_items_sort_by_rate_is_total_with_ascending_id_on_ties(books: Books, order: str):
    items = books.list_all("items", "items", sort_column="rate", sort_order=order, per_page=4)
    sign = -1 if order == "D" else 1
    expected = sorted(items, key=lambda r: (sign * r["rate"], int(r["item_id"])))
    assert ids(items, "item_id") == ids(expected, "item_id")


def test_unknown_sort_column_is_400(books: Books):
    assert books.get("items", sort_column="colour").json()["code"] == 2


def test_item_detail_matches_the_listed_record(books: Books):
    listed = books.ok("items", per_page=1)["items"][0]
    detail = books.ok(f"items/{listed['item_id']}")["item"]
    # the detail adds the stock per location (locations[] or warehouses[]), nothing else
    assert {k: v for k, v in detail.items() if k not in ("locations", "warehouses")} == listed
    assert isinstance(detail["custom_fields"], list)


@pytest.mark.parametrize("column", ["contact_name", "created_time", "last_modified_time"])
@pytest.mark.parametrize("order", ["A", "D"])
def test_contacts_sort(books: Books, column: str, order: str):
    contacts = books.list_all(
        "contacts", "contacts", sort_column=column, sort_order=order, per_page=5
    )
    assert len(contacts) == len(books.sim.contacts)
    keys = [c[column] for c in contacts]
    if column != "contact_name":
        keys = [datetime.strptime(k, "%Y-%m-%dT%H:%M:%S%z") for k in keys]
    assert keys == sorted(keys, reverse=order == "D")


def test_only_contact_detail_has_pricebook_id(books: Books):
    listed = books.list_all("contacts", "contacts")
    assert all("pricebook_id" not in c for c in listed)
    details = [books.ok(f"contacts/{c['contact_id']}")["contact"] for c in listed]
    assert all("pricebook_id" in d for d in details)
    assert any(d["pricebook_id"] for d in details) and any(not d["pricebook_id"] for d in details)


def test_invoices_default_to_created_time_descending(books: Books):
    body = books.ok("invoices")
    assert body["page_context"]["sort_column"] == "created_time"
    assert body["page_context"]["sort_order"] == "D"
    created = [
        datetime.strptime(i["created_time"], "%Y-%m-%dT%H:%M:%S%z") for i in body["invoices"]
    ]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("column", ["date", "invoice_number", "last_modified_time"])
def test_invoices_sort_columns(books: Books, column: str):
    invoices = books.list_all(
        "invoices", "invoices", sort_column=column, sort_order="A", per_page=7
    )
    keys = [i[column] for i in invoices]
    if column == "last_modified_time":
        keys = [datetime.strptime(k, "%Y-%m-%dT%H:%M:%S%z") for k in keys]
    assert keys == sorted(keys)
    assert len(invoices) == len(books.sim.invoices)


def test_only_invoice_detail_has_line_items_and_totals_reconcile(books: Books):
    listed = books.list_all("invoices", "invoices")
    statuses = {i["status"] for i in listed}
    assert {"draft", "sent", "paid"} <= statuses
    for invoice in listed:
        assert "line_items" not in invoice
        detail = books.ok(f"invoices/{invoice['invoice_id']}")["invoice"]
        places = 0 if detail["currency_code"] == "IQD" else 2
        lines = detail["line_items"]
        assert 1 <= len(lines) <= 8
        assert detail["sub_total"] == round(sum(li["item_total"] for li in lines), places)
        expected = round(
            detail["sub_total"]
            + detail["tax_total"]
            + detail["shipping_charge"]
            + detail["adjustment"]
            - detail["discount_total"],
            places,
        )
        assert detail["total"] == pytest.approx(expected, abs=10**-places / 2)
        assert detail["total"] == invoice["total"]
        assert all(li["item_id"] in books.sim.items for li in lines)
        assert {
            "tax_total",
            "discount_total",
            "shipping_charge",
            "adjustment",
            "pricebook_id",
        } <= set(detail)


def test_invoice_filter_last_modified_time_is_inclusive_on_the_instant(books: Books):
    invoices = books.list_all("invoices", "invoices")
    pivot = sorted(invoices, key=lambda i: i["last_modified_time"])[len(invoices) // 2]
    stamp = pivot["last_modified_time"]  # e.g. 2025-06-01T10:00:00+0300
    expected = {
        i["invoice_id"]
        for i in invoices
        if datetime.strptime(i["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z")
        >= datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
    }
    got = books.list_all("invoices", "invoices", last_modified_time=stamp)
    assert pivot["invoice_id"] in {i["invoice_id"] for i in got}
    assert {i["invoice_id"] for i in got} == expected


def test_invoice_filter_compares_instants_across_offsets(books: Books):
    invoices = books.list_all("invoices", "invoices")
    pivot = sorted(invoices, key=lambda i: i["last_modified_time"])[len(invoices) // 3]
    as_utc = (
        datetime.strptime(pivot["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z")
        .astimezone(
            datetime.now().astimezone().tzinfo.utc  # type: ignore[union-attr]
        )
        .strftime("%Y-%m-%dT%H:%M:%S+0000")
    )
    in_baghdad = books.list_all(
        "invoices", "invoices", last_modified_time=pivot["last_modified_time"]
    )
    in_utc = books.list_all("invoices", "invoices", last_modified_time=as_utc)
    assert ids(in_baghdad, "invoice_id") == ids(in_utc, "invoice_id")


def test_unencoded_plus_in_the_filter_is_a_400(books: Books):
    url = (
        f"{books.sim.api_base_url}/invoices?organization_id={books.sim.organization_id}"
        "&last_modified_time=2025-06-01T10:00:00+0300"
    )
    response = books.session.get(url, timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == 2


def test_pricebook_list_has_no_rows_but_detail_and_items_endpoint_do(books: Books):
    lists = books.list_all("pricebooks", "pricebooks")
    assert all("pricebook_items" not in pb for pb in lists)
    consumer = next(pb for pb in lists if pb["name"] == "Consumer")
    detail = books.ok(f"pricebooks/{consumer['pricebook_id']}")["pricebook"]
    rows = detail["pricebook_items"]
    assert rows and all(r["item_id"] in books.sim.items for r in rows)
    paged = books.list_all(
        "pricebooks/items", "pricebook_items", pricebook_id=consumer["pricebook_id"], per_page=5
    )
    assert paged == rows


def test_fixed_percentage_lists_have_no_rows(books: Books):
    for pb in books.list_all("pricebooks", "pricebooks"):
        if pb["pricebook_type"] == "fixed_percentage":
            detail = books.ok(f"pricebooks/{pb['pricebook_id']}")["pricebook"]
            assert detail["pricebook_items"] == []
            assert isinstance(pb["percentage"], (int, float))


def test_pricebook_items_needs_a_pricebook_id(books: Books):
    assert books.get("pricebooks/items").status_code == 400
