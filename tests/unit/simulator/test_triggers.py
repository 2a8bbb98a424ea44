"""Edits between page calls (issue 14), from Python and over the admin HTTP endpoints."""

from __future__ import annotations

import requests

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient


def _page(books: BooksClient, page: int) -> list[str]:
    body = books.ok("items", page=page, per_page=10)
    return [item["item_id"] for item in body["items"]]


def test_a_deletion_after_page_one_shifts_the_next_page_so_one_live_item_is_skipped(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    before = [item["item_id"] for item in books.list_all("items", "items", per_page=10)]
    trigger = zoho_sim.after_call("GET /items", 1, zoho_sim.delete_item, before[0])
    first = _page(books, 1)
    assert trigger.fired.is_set() and trigger.error is None
    assert first == before[:10]  # page 1 was answered from the data before the edit
    assert _page(books, 2) == before[11:21]  # before[10] is live but never listed
    assert before[0] not in zoho_sim.items


def test_a_rename_across_pages_hides_the_item_from_a_pager(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    before = [item["item_id"] for item in books.list_all("items", "items", per_page=10)]
    zoho_sim.after_call("GET /items", 1, zoho_sim.update_item, before[15], name="0 first")
    seen = _page(books, 1) + _page(books, 2) + _page(books, 3) + _page(books, 4)
    assert before[15] not in seen  # it moved to page 1, already read
    assert seen.count(before[9]) == 2  # page 2 starts one record earlier
    assert len(set(seen)) == 34


def test_a_trigger_counts_only_calls_matching_its_parameters(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    victim = zoho_sim.active_item_ids()[0]
    trigger = zoho_sim.after_call(
        "GET /items", 1, zoho_sim.delete_item, victim, match={"filter_by": "Status.All"}
    )
    books.ok("items")
    assert not trigger.fired.is_set()
    books.ok("items", filter_by="Status.All")
    assert trigger.fired.is_set()
    assert victim not in zoho_sim.items


def test_admin_http_sets_a_trigger_and_edits_with_hostile_values(
    zoho_sim: ZohoSimulator, books: BooksClient
):
    admin = f"{zoho_sim.base_url}/_sim"
    before = [item["item_id"] for item in books.list_all("items", "items", per_page=10)]
    answer = requests.post(
        f"{admin}/triggers",
        json={"endpoint": "GET /items", "after": 1, "edit": "delete_item", "args": [before[0]]},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert _page(books, 1) == before[:10]
    assert _page(books, 2) == before[11:21]
    assert requests.get(f"{admin}/triggers", timeout=10).json()["triggers"][0]["fired"] is True

    name = r'"nul \u0000 and \ud800"'  # JSON escapes: a NUL and a lone surrogate
    raw = f'{{"args": ["{before[1]}"], "kwargs": {{"name": {name}}}}}'
    edited = requests.post(f"{admin}/update_item", data=raw, timeout=10)
    assert edited.status_code == 200, edited.text
    assert zoho_sim.items[before[1]]["name"] == "nul \x00 and \ud800"
    missing = requests.post(f"{admin}/delete_item", json={"args": ["1"]}, timeout=10)
    assert missing.status_code == 404
    unknown = requests.post(f"{admin}/stop", json={}, timeout=10)
    assert unknown.status_code == 404
    state = requests.get(f"{admin}/state", timeout=10).json()
    assert state["now"] == zoho_sim.now_zoho
    assert state["counters"]["calls"]["GET /items"] == zoho_sim.calls("GET /items")
