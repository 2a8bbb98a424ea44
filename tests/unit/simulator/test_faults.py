"""Injected faults (queued or at a seeded rate) and duplicated records across pages."""

from __future__ import annotations

import pytest
import requests

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient as Books


def test_http500_fault_answers_code_1000(books: Books):
    books.sim.inject_fault("http500")
    response = books.get("items")
    assert response.status_code == 500
    assert response.json() == {"code": 1000, "message": "Internal Error"}
    assert books.get("items").status_code == 200
    assert books.sim.counters["faults"] == {"http500": 1}


def test_http503_fault_answers_an_html_page(books: Books):
    books.sim.inject_fault("http503_html")
    response = books.get("items")
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_truncated_json_fault_is_a_200_whose_body_does_not_parse(books: Books):
    books.sim.inject_fault("truncated_json")
    response = books.get("items")
    assert response.status_code == 200
    assert response.content.startswith(b'{"code":0')
    with pytest.raises(ValueError):
        response.json()


def test_dropped_connection_fault_closes_the_socket_without_an_answer(books: Books):
    books.sim.inject_fault("dropped_connection")
    with pytest.raises(requests.ConnectionError):
        books.get("items")
    assert books.get("items").status_code == 200


def test_slow_fault_delays_the_answer_past_a_client_timeout(books: Books):
    books.sim.configure(slow_seconds=0.6)
    books.sim.inject_fault("slow")
    with pytest.raises(requests.Timeout):
        books.session.get(
            f"{books.sim.api_base_url}/items",
            params={"organization_id": books.sim.organization_id},
            timeout=0.2,
        )
    assert books.sim.counters["faults"] == {"slow": 1}


def test_unknown_fault_kind_is_rejected():
    with pytest.raises(ValueError):
        ZohoSimulator(fault_kinds=("http418",))


def statuses_with_random_faults(seed: int) -> list[int]:
    with ZohoSimulator(fault_rate=0.3, fault_kinds=("http500",), fault_seed=seed) as sim:
        books = Books(sim)
        statuses = [books.get("items", per_page=1).status_code for _ in range(40)]
        assert sim.counters["faults"].get("http500", 0) == statuses.count(500)
        return statuses


def test_fault_rate_injects_faults_reproducibly_for_a_seed():
    first = statuses_with_random_faults(seed=7)
    assert 0 < first.count(500) < 40
    assert statuses_with_random_faults(seed=7) == first


def test_faults_never_hit_the_token_endpoint():
    with ZohoSimulator(fault_rate=1.0) as sim:
        response = requests.post(
            f"{sim.accounts_url}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "refresh_token": sim.refresh_token,
            },
            timeout=10,
        )
        assert "access_token" in response.json()


def test_duplicate_rate_repeats_the_previous_pages_last_record_on_top(books: Books):
    books.sim.configure(duplicate_rate=1.0)
    first = books.ok("items", page=1, per_page=5)["items"]
    second = books.ok("items", page=2, per_page=5)["items"]
    assert second[0] == first[-1]
    assert len(second) == 6
    everything = books.list_all("items", "items", per_page=5)
    unique = {item["item_id"] for item in everything}
    assert len(everything) > len(unique) == len(books.sim.active_item_ids())
    assert books.sim.counters["duplicates"] >= 1


def test_no_duplicates_by_default(books: Books):
    everything = books.list_all("invoices", "invoices", per_page=4)
    assert len(everything) == len({i["invoice_id"] for i in everything})
