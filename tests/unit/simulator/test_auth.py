"""The accounts server (token grants, throttling) and token checks on API calls."""

from __future__ import annotations

import requests

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient as Books


def grant(sim: ZohoSimulator, **overrides: str) -> requests.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "refresh_token": sim.refresh_token,
        **overrides,
    }
    return requests.post(f"{sim.accounts_url}/oauth/v2/token", data=form, timeout=10)


def call_items(sim: ZohoSimulator, authorization: str | None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.get(
        f"{sim.api_base_url}/items",
        params={"organization_id": sim.organization_id},
        headers=headers,
        timeout=10,
    )


def test_refresh_grant_returns_a_bearer_access_token_that_opens_the_api(zoho_sim):
    response = grant(zoho_sim)
    body = response.json()
    assert response.status_code == 200
    assert set(body) >= {"access_token", "expires_in", "api_domain", "token_type"}
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    assert call_items(zoho_sim, f"Zoho-oauthtoken {body['access_token']}").status_code == 200
    assert zoho_sim.counters["tokens_minted"] == 1


def test_grant_accepts_parameters_in_the_query_string(zoho_sim):
    params = {
        "grant_type": "refresh_token",
        "client_id": zoho_sim.client_id,
        "client_secret": zoho_sim.client_secret,
        "refresh_token": zoho_sim.refresh_token,
    }
    response = requests.post(f"{zoho_sim.accounts_url}/oauth/v2/token", params=params, timeout=10)
    assert "access_token" in response.json()


def test_bad_client_secret_is_http_200_with_invalid_client(zoho_sim):
    response = grant(zoho_sim, client_secret="wrong")
    assert response.status_code == 200
    assert response.json() == {"error": "invalid_client"}


def test_unknown_refresh_token_is_http_200_with_invalid_code(zoho_sim):
    response = grant(zoho_sim, refresh_token="1000.nope.nope")
    assert response.status_code == 200
    assert response.json() == {"error": "invalid_code"}


def test_eleventh_grant_in_ten_minutes_is_refused_with_access_denied(zoho_sim):
    for _ in range(10):
        assert "access_token" in grant(zoho_sim).json()
    response = grant(zoho_sim)
    assert response.status_code == 400
    assert response.json()["error"] == "Access Denied"
    assert "too many requests" in response.json()["error_description"]
    zoho_sim.advance(601)
    assert "access_token" in grant(zoho_sim).json()


def test_token_calls_do_not_use_the_api_quota(zoho_sim):
    grant(zoho_sim)
    counters = zoho_sim.counters
    assert counters["calls"]["POST /oauth/v2/token"] == 1
    assert counters["api_calls"] == 0
    assert zoho_sim.quota_remaining == 10_000


def test_missing_token_is_401_code_57(zoho_sim):
    response = call_items(zoho_sim, None)
    assert response.status_code == 401
    assert response.json() == {
        "code": 57,
        "message": "You are not authorized to perform this operation",
    }


def test_bearer_scheme_is_rejected_even_with_a_valid_token(zoho_sim):
    token = zoho_sim.mint_token()
    assert call_items(zoho_sim, f"Bearer {token}").status_code == 401


def test_unknown_token_is_401(zoho_sim):
    assert call_items(zoho_sim, "Zoho-oauthtoken 1000.made.up").json()["code"] == 57


def test_token_expires_when_its_lifetime_passes_on_the_sim_clock(zoho_sim):
    token = zoho_sim.mint_token()
    zoho_sim.advance(3599)
    assert call_items(zoho_sim, f"Zoho-oauthtoken {token}").status_code == 200
    zoho_sim.advance(2)
    assert call_items(zoho_sim, f"Zoho-oauthtoken {token}").json()["code"] == 57


def test_expire_tokens_invalidates_every_issued_token(books: Books):
    books.refresh_on_401 = False
    assert books.get("items").status_code == 200
    books.sim.expire_tokens()
    assert books.get("items").status_code == 401


def test_token_lifetime_is_configurable():
    with ZohoSimulator(token_lifetime_seconds=5) as sim:
        assert grant(sim).json()["expires_in"] == 5
