"""What the receiver and the worker accept as a Zoho record (loader/webhooks/payload.py)."""

from __future__ import annotations

import pytest

from loader.webhooks.payload import is_zoho_id, record_of, record_problem


@pytest.mark.parametrize("value", ["2155127000000000011", 2155127000000000011, "1"])
def test_zoho_ids_are_digits(value):
    assert is_zoho_id(value)


@pytest.mark.parametrize(
    "value", [{"x": 1}, [1], True, None, 1.5, "", "12ab", "-1", "1" * 21, "１２"]
)
def test_anything_else_is_no_zoho_id(value):
    assert not is_zoho_id(value)


ITEM = {"item_id": "2155127000000000011", "last_modified_time": "2025-10-31T14:41:13+0300"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({"last_modified_time": ""}, None),  # absent: completed by one GET
        ({"last_modified_time": "2025-10-31T14:41:13Z"}, None),
        ({"item_id": {"x": 1}}, "bad_record_id"),
        ({"last_modified_time": "2025-10-31T14:41:13"}, "bad_last_modified_time"),
        ({"last_modified_time": "soon"}, "bad_last_modified_time"),
        ({"last_modified_time": 1730000000}, "bad_last_modified_time"),
    ],
)
def test_an_item_record_is_checked(change, problem):
    assert record_problem("items", "item", {**ITEM, **change}) == problem


@pytest.mark.parametrize(
    ("lines", "problem"),
    [([], None), ([{"line_item_id": "1"}], None), ("x", "bad_line_items"), ([1], "bad_line_items")],
)
def test_invoice_lines_are_a_list_of_objects(lines, problem):
    record = {"invoice_id": "1", "line_items": lines}
    assert record_problem("invoices", "invoice", record) == problem


def test_an_event_without_a_record_says_so():
    with pytest.raises(ValueError, match="no record"):
        record_of({"module": "items", "payload": None})
    assert record_of({"module": "items", "payload": {"item": ITEM}}) == ITEM
    assert record_of({"module": "items", "payload": ITEM}) == ITEM
