"""Against a real HTTP server on loopback: every API call is signed, a 401 gets exactly one
re-send with a fresh token (and later retries never replay the refused one), pages follow
Zoho's page_context, and the quota headers land in the stats."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from loader.errors import ConfigError, QuotaExhausted

QUOTA = {
    "X-Rate-Limit-Limit": "7500",
    "X-Rate-Limit-Remaining": "7400",
    "X-Rate-Limit-Reset": "600",
}


def test_every_api_call_carries_the_current_token(client_for, zoho):
    client = client_for(zoho.url + "/books/v3")
    client.get("/organizations", "organizations")
    client.get("/invoices/1", "invoice")
    assert zoho.tokens_seen == ["token-1", "token-1"]
    assert client.tokens_minted == 1


def test_401_drops_the_refused_token_and_resends_once_with_a_fresh_one(client_for, zoho):
    def script(path, token):
        if token == "stale":
            return 401, {"code": 57, "message": "You are not authorized"}, {}
        return 200, {"code": 0, "invoice": {"invoice_id": "1"}}, {}

    zoho.script = script
    client = client_for(zoho.url + "/books/v3", token="stale")
    assert client.get("/invoices/1", "invoice") == {"invoice_id": "1"}
    assert zoho.tokens_seen == ["stale", "token-1"]
    assert client.tokens_minted == 1 and client.stats.retries == 1
    assert client.stats.calls["GET /invoices/{id}"] == 2


def test_a_retry_after_the_401_resend_never_replays_the_refused_token(client_for, zoho):
    answers = iter([(503, {"code": 1000, "message": "busy"}, {})])

    def script(path, token):
        if token == "stale":
            return 401, {"code": 57, "message": "You are not authorized"}, {}
        return next(answers, (200, {"code": 0, "organizations": []}, {}))

    zoho.script = script
    client = client_for(zoho.url + "/books/v3", token="stale", request_max_attempts=3)
    assert client.get("/organizations", "organizations") == []
    assert zoho.tokens_seen == ["stale", "token-1", "token-1"]


def test_401_with_a_fresh_token_too_is_a_configuration_error_after_one_resend(client_for, zoho):
    zoho.script = lambda path, token: (401, {"code": 57, "message": "not authorized"}, {})
    client = client_for(zoho.url + "/books/v3", token="stale")
    with pytest.raises(ConfigError, match="SOURCES__ZOHO_BOOKS__DATA_CENTER"):
        client.get("/organizations", "organizations")
    assert zoho.tokens_seen == ["stale", "token-1"]


def test_pages_follow_has_more_page_and_a_page_without_context_is_the_last(client_for, zoho):
    def script(path, token):
        page = int(parse_qs(urlsplit(path).query)["page"][0])
        body = {"code": 0, "items": [{"item_id": str(page)}]}
        if page < 3:
            body["page_context"] = {"page": page, "has_more_page": True}
        return 200, body, QUOTA

    zoho.script = script
    client = client_for(zoho.url + "/books/v3")
    pages = list(client.pages("/items", "items", {"sort_column": "name"}))
    assert pages == [[{"item_id": "1"}], [{"item_id": "2"}], [{"item_id": "3"}]]
    assert client.stats.calls["GET /items"] == 3


def test_quota_headers_are_kept_limit_remaining_and_reset(client_for, zoho):
    zoho.script = lambda path, token: (200, {"code": 0, "organizations": []}, QUOTA)
    client = client_for(zoho.url + "/books/v3")
    before = datetime.now(timezone.utc)
    client.get("/organizations", "organizations")
    stats = client.stats
    assert (stats.quota_limit, stats.quota_remaining) == (7500, 7400)
    assert stats.quota_reset_at is not None
    assert before + timedelta(seconds=599) <= stats.quota_reset_at
    assert stats.quota_reset_at <= datetime.now(timezone.utc) + timedelta(seconds=601)


def test_daily_quota_429_records_when_the_quota_resets_and_stops_calling(client_for, zoho):
    headers = {**QUOTA, "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "3600"}
    zoho.script = lambda path, token: (429, {"code": 45, "message": "daily limit"}, headers)
    client = client_for(zoho.url + "/books/v3")
    with pytest.raises(QuotaExhausted):
        client.get("/organizations", "organizations")
    stats = client.stats
    assert stats.quota_exhausted and stats.quota_remaining == 0
    assert stats.quota_reset_at is not None
    assert stats.quota_reset_at > datetime.now(timezone.utc) + timedelta(seconds=3500)
    with pytest.raises(QuotaExhausted):
        client.get("/items", "items")
    assert len(zoho.tokens_seen) == 1  # the second call never left
