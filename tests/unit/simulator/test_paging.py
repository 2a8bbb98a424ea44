"""Envelope, paging, organisation checks, errors and rate headers."""

from __future__ import annotations

import requests

from zoho_sim.pytest_plugin import BooksClient as Books


def test_pages_cover_every_active_item_once_and_has_more_page_ends_the_listing(books: Books):
    seen = []
    page = 1
    while True:
        body = books.ok("items", page=page, per_page=7)
        context = body["page_context"]
        assert context["page"] == page
        assert context["per_page"] == 7
        seen.extend(item["item_id"] for item in body["items"])
        if not context["has_more_page"]:
            break
        assert len(body["items"]) == 7
        page += 1
    assert len(seen) == len(set(seen)) == len(books.sim.active_item_ids())
    assert books.ok("items", page=page + 1, per_page=7)["items"] == []


def test_page_context_has_no_total_count(books: Books):
    context = books.ok("items")["page_context"]
    assert set(context) >= {
        "page",
        "per_page",
        "has_more_page",
        "report_name",
        "sort_column",
        "sort_order",
    }
    assert not {"total", "total_pages", "count"} & set(context)


def test_per_page_defaults_to_200_and_is_capped_at_200():
    from zoho_sim import ZohoSimulator

    with ZohoSimulator(scale={"items": 450}) as sim:
        books = Books(sim)
        assert books.ok("items")["page_context"]["per_page"] == 200
        body = books.ok("items", per_page=1000)
        assert body["page_context"]["per_page"] == 200
        assert len(body["items"]) == 200


def test_invalid_page_is_400_code_2(books: Books):
    response = books.get("items", page=0)
    assert response.status_code == 400
    assert response.json()["code"] == 2


def test_missing_organization_id_is_400(books: Books):
    response = books.session.get(f"{books.sim.api_base_url}/items", timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == 6041
    assert "organization_id" in response.json()["message"]


def test_unknown_organization_id_is_400(books: Books):
    response = books.get("items", organization_id="123")
    assert response.status_code == 400
    assert response.json()["code"] == 6041


def test_organizations_lists_the_iqd_org_without_needing_organization_id(books: Books):
    response = books.session.get(f"{books.sim.api_base_url}/organizations", timeout=10)
    org = response.json()["organizations"][0]
    assert org["organization_id"] == books.sim.organization_id
    assert org["currency_code"] == "IQD"
    assert org["time_zone"] == "Asia/Baghdad"


def test_missing_record_is_404_code_1002(books: Books):
    for path in ("items", "contacts", "invoices", "pricebooks"):
        response = books.get(f"{path}/2155127000000009999")
        assert response.status_code == 404
        assert response.json()["code"] == 1002


def test_unknown_path_is_404_code_5(books: Books):
    response = books.get("widgets")
    assert response.status_code == 404
    assert response.json()["code"] == 5


def test_every_api_answer_carries_rate_limit_headers(books: Books):
    response = books.get("items")
    assert response.headers["X-Rate-Limit-Limit"] == "10000"
    assert response.headers["X-Rate-Limit-Remaining"] == "9999"
    assert int(response.headers["X-Rate-Limit-Reset"]) > 0
    assert books.get("items").headers["X-Rate-Limit-Remaining"] == "9998"


def test_ids_are_19_digit_strings_beyond_float_precision(books: Books):
    body = books.ok("items", per_page=5)
    for item in body["items"]:
        assert isinstance(item["item_id"], str)
        assert len(item["item_id"]) == 19
        assert int(item["item_id"]) > 2**53


def test_body_is_utf8_json_with_arabic_unescaped(books: Books):
    raw = books.get("items", filter_by="Status.All").content
    assert "زيت".encode() in raw or "سكر".encode() in raw or "\u0627".encode() in raw
    assert b"\\u06" not in raw


def test_keep_alive_connections_serve_many_calls(books: Books):
    adapter_session = requests.Session()
    adapter_session.headers.update(books.session.headers)
    for _ in range(20):
        response = adapter_session.get(
            f"{books.sim.api_base_url}/items",
            params={"organization_id": books.sim.organization_id, "per_page": 2},
            timeout=10,
        )
        assert response.status_code == 200
