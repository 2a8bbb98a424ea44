"""Hostile values in records (issue 14): Zoho answers them, so the simulator must too."""

from __future__ import annotations

import json

import pytest

from zoho_sim import HOSTILE_VALUES, ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient


@pytest.mark.parametrize("descending", [False, True])
def test_an_item_with_a_null_name_is_listed_first_ascending_and_last_descending(
    zoho_sim: ZohoSimulator, books: BooksClient, descending: bool
):
    item_id = zoho_sim.active_item_ids()[5]
    zoho_sim.update_item(item_id, name=None)
    order = "D" if descending else "A"
    items = books.list_all("items", "items", sort_order=order)
    ids = [item["item_id"] for item in items]
    assert ids[-1 if descending else 0] == item_id
    assert len(ids) == 35


def test_numbers_as_strings_and_junk_in_sorted_columns_do_not_break_listings(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    active = zoho_sim.active_item_ids()
    zoho_sim.update_item(active[0], rate="12.50", tax_name=None)
    zoho_sim.update_item(active[1], rate="not a number", last_modified_time=None)
    zoho_sim.update_item(active[2], rate=None, name=12345)
    for column in ("name", "rate", "tax_name", "last_modified_time"):
        assert len(books.list_all("items", "items", sort_column=column)) == 35
    assert books.ok(f"items/{active[0]}")["item"]["rate"] == "12.50"


def test_hostile_values_round_trip_through_the_json_answer(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    item_id = zoho_sim.active_item_ids()[3]
    fields = {
        "name": HOSTILE_VALUES["nul"],
        "description": HOSTILE_VALUES["lone_surrogate"],
        "sku": HOSTILE_VALUES["long_string"],
        "unit": HOSTILE_VALUES["null"],
        "stock_on_hand": HOSTILE_VALUES["number_as_string"],
        "tax_id": HOSTILE_VALUES["huge_id"],
    }
    zoho_sim.update_item(item_id, **fields)
    response = books.get(f"items/{item_id}")
    assert response.status_code == 200
    assert b"\\ud800" in response.content  # a lone surrogate can only travel escaped
    item = json.loads(response.content)["item"]
    assert {name: item[name] for name in fields} == fields


def test_an_item_added_with_a_huge_id_is_listed_and_answers_its_detail(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    huge = HOSTILE_VALUES["huge_id"]
    assert zoho_sim.add_item(item_id=huge, name="Huge") == huge
    assert huge in {item["item_id"] for item in books.list_all("items", "items")}
    assert books.ok(f"items/{huge}")["item"]["name"] == "Huge"
    zoho_sim.delete_item(huge)
    assert books.get(f"items/{huge}").status_code == 404
