"""The daily quota over simulated days (issue 17): headers on every answer, code 45 until
the reset the headers announce, a day of 96 runs in no time, deletions seen by listings."""

from __future__ import annotations

import requests

from zoho_sim.pytest_plugin import BooksClient as Books

HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")


def test_every_api_answer_carries_the_quota_headers_and_refusals_use_none(books: Books):
    books.sim.configure(daily_quota=1000)
    sim = books.sim
    unauthorized = requests.get(
        f"{sim.api_base_url}/items", params={"organization_id": sim.organization_id}, timeout=10
    )
    no_org = books.get("items", organization_id="")
    no_route = books.get("purchaseorders")  # not served by the simulator
    missing = books.get("items/1")
    answered = books.get("items")
    assert [r.status_code for r in (unauthorized, no_org, no_route, missing, answered)] == [
        401,
        400,
        404,
        404,
        200,
    ]
    for response in (unauthorized, no_org, no_route, missing, answered):
        assert all(name in response.headers for name in HEADERS), response.headers
        assert response.headers["X-Rate-Limit-Limit"] == "1000"
    assert unauthorized.headers["X-Rate-Limit-Remaining"] == "1000"
    assert answered.headers["X-Rate-Limit-Remaining"] == "998"  # the 404 detail call counts
    assert 0 < int(answered.headers["X-Rate-Limit-Reset"]) <= 86_400


def test_code_45_holds_until_the_announced_reset_then_the_quota_refills(books: Books):
    books.sim.configure(daily_quota=2)
    books.get("items")
    books.get("items")
    refused = books.get("items")
    assert (refused.status_code, refused.json()["code"]) == (429, 45)
    reset = int(refused.headers["X-Rate-Limit-Reset"])
    books.sim.advance(reset - 1)
    assert books.get("items").json()["code"] == 45
    books.sim.advance(2)
    answer = books.get("items")
    assert answer.status_code == 200
    assert answer.headers["X-Rate-Limit-Remaining"] == "1"


def test_a_day_of_96_quarter_hour_runs_is_one_quota_day(books: Books):
    sim = books.sim
    sim.configure(daily_quota=150)
    for _ in range(96):
        books.get("items")
        books.get("contacts")
        sim.advance(900)
    usage = sim.quota_usage
    assert usage["past_days"] == [150]  # 192 tried, 150 allowed, 42 refused with code 45
    assert sim.counters["rate_limited"] == {45: 42}
    assert usage["used_today"] == 0 and usage["remaining"] == 150
    books.get("items")
    sim.advance_to_next_day()
    assert sim.quota_usage["past_days"] == [150, 1]


def test_deleted_contacts_and_invoices_vanish_from_the_200_row_listings(books: Books):
    sim = books.sim
    contact_id = next(iter(sim.contacts))
    invoice_id = next(iter(sim.invoices))
    sim.delete_contact(contact_id)
    sim.delete_invoice(invoice_id)
    contacts = books.list_all("contacts", "contacts", per_page=200)
    invoices = books.list_all("invoices", "invoices", per_page=200)
    assert contact_id not in {c["contact_id"] for c in contacts}
    assert invoice_id not in {i["invoice_id"] for i in invoices}
    assert (len(contacts), len(invoices)) == (11, 29)
    assert books.get(f"contacts/{contact_id}").json()["code"] == 1002
    assert books.get(f"invoices/{invoice_id}").json()["code"] == 1002
