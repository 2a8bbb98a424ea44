"""Zoho's three 429s (44 per minute, 1070 concurrency, 45 daily quota) and the counters."""

from __future__ import annotations

import threading

import requests

from zoho_sim.pytest_plugin import BooksClient as Books


def test_calls_beyond_the_per_minute_limit_get_429_code_44_until_the_window_passes(books: Books):
    books.sim.configure(per_minute=3)
    assert [books.get("items").status_code for _ in range(3)] == [200, 200, 200]
    refused = books.get("items")
    assert refused.status_code == 429
    assert refused.json()["code"] == 44
    books.sim.advance(61)
    assert books.get("items").status_code == 200
    assert books.sim.counters["rate_limited"] == {44: 1}


def test_per_minute_window_length_is_configurable(books: Books):
    books.sim.configure(per_minute=2, per_minute_window_seconds=3600)
    books.get("items")
    books.get("items")
    books.sim.advance(61)
    assert books.get("items").json()["code"] == 44


def test_too_many_calls_in_flight_get_429_code_1070(books: Books):
    books.sim.configure(max_concurrent=2, latency_seconds=0.4)
    statuses: list[tuple[int, int]] = []
    lock = threading.Lock()

    def call() -> None:
        response = requests.get(
            f"{books.sim.api_base_url}/items",
            params={"organization_id": books.sim.organization_id},
            headers=dict(books.session.headers),
            timeout=10,
        )
        with lock:
            statuses.append((response.status_code, response.json()["code"]))

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count((200, 0)) == 2
    assert statuses.count((429, 1070)) == 3
    assert books.sim.counters["rate_limited"] == {1070: 3}


def test_daily_quota_exhaustion_is_429_code_45_until_reset(books: Books):
    books.sim.configure(daily_quota=3)
    remaining = [books.get("items").headers["X-Rate-Limit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = books.get("items")
    assert refused.status_code == 429
    assert refused.json()["code"] == 45
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    books.sim.reset_daily_quota()
    assert books.get("items").status_code == 200


def test_the_quota_day_refills_when_the_clock_passes_it(books: Books):
    books.sim.configure(daily_quota=1)
    books.get("items")
    assert books.get("items").json()["code"] == 45
    books.sim.advance(86_400)  # the token expires too: the client re-mints on the 401
    assert books.get("items").status_code == 200


def test_refused_calls_do_not_use_quota(books: Books):
    books.sim.configure(per_minute=1)
    books.get("items")
    books.get("items")
    assert books.sim.quota_remaining == 9_999


def test_counters_count_calls_per_endpoint_and_reset(books: Books):
    item_id = books.ok("items", per_page=1)["items"][0]["item_id"]
    books.get(f"items/{item_id}")
    books.get(f"items/{item_id}")
    invoice_id = books.ok("invoices", per_page=1)["invoices"][0]["invoice_id"]
    books.get(f"invoices/{invoice_id}")
    counters = books.sim.counters
    assert counters["calls"] == {
        "GET /items": 1,
        "GET /items/{id}": 2,
        "GET /invoices": 1,
        "GET /invoices/{id}": 1,
    }
    assert counters["api_calls"] == 5
    assert counters["statuses"] == {200: 5}
    books.sim.reset_counters()
    assert books.sim.counters["api_calls"] == 0
    assert books.sim.calls("GET /items") == 0
