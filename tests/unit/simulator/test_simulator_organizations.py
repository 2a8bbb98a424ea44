"""Several organisations (issue 26): one server and accounts server, one refresh token for
all, different data, separate quotas, counters and webhooks; every call names its
organisation."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from zoho_sim import ZohoSimulator
from zoho_sim.webhooks import signature_string

ROOT = Path(__file__).resolve().parents[3]
FIRST, SECOND = "60012345678", "60012345679"


@pytest.fixture
def sims() -> Iterator[ZohoSimulator]:
    with ZohoSimulator("unit", seed=1, orgs=2) as sim:
        yield sim


def _token(sim: ZohoSimulator) -> str:
    answer = requests.post(
        f"{sim.accounts_url}/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "refresh_token": sim.refresh_token,
        },
        timeout=10,
    ).json()
    return str(answer["access_token"])


def _get(sim: ZohoSimulator, token: str, path: str, **params: Any) -> requests.Response:
    return requests.get(
        f"{sim.api_base_url}/{path}",
        params=params,
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    )


def test_one_refresh_token_reaches_every_organization_each_with_its_own_data(sims):
    token = _token(sims)
    answer = _get(sims, token, "organizations").json()
    assert [o["organization_id"] for o in answer["organizations"]] == [FIRST, SECOND]
    assert [o["is_default_org"] for o in answer["organizations"]] == [True, False]
    assert answer["organizations"][0]["name"] != answer["organizations"][1]["name"]
    names = {}
    for org in (FIRST, SECOND):
        items = _get(sims, token, "items", organization_id=org).json()["items"]
        names[org] = [i["name"] for i in items]
        assert _get(sims, token, "bills", organization_id=org).json()["bills"]
    assert names[FIRST] != names[SECOND]
    assert sims.org(SECOND).seed == 2
    assert sims.counters["tokens_minted"] == 1


def test_a_call_without_organization_id_gets_zohos_multiple_organizations_error(sims):
    token = _token(sims)
    answer = _get(sims, token, "items")
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 6024
    assert "belongs to multiple organizations" in body["message"]
    assert [o["organization_id"] for o in body["error_info"]] == [FIRST, SECOND]
    unknown = _get(sims, token, "items", organization_id="123")
    assert (unknown.status_code, unknown.json()["code"]) == (400, 6041)
    # one organisation: the error stays what it was
    with ZohoSimulator() as single:
        response = _get(single, single.mint_token(), "items")
        assert response.json() == {"code": 6041, "message": "organization_id is required"}


def test_quotas_and_counters_are_per_organization(sims):
    second = sims.org(SECOND)
    second.configure(daily_quota=2)
    token = sims.mint_token()
    for _ in range(2):
        assert _get(sims, token, "items", organization_id=SECOND).status_code == 200
    refused = _get(sims, token, "items", organization_id=SECOND)
    assert (refused.status_code, refused.json()["code"]) == (429, 45)
    answered = _get(sims, token, "items", organization_id=FIRST)
    assert answered.status_code == 200
    assert answered.headers["X-Rate-Limit-Remaining"] == "9999"
    assert refused.headers["X-Rate-Limit-Limit"] == "2"
    assert sims.calls("GET /items") == 1 and second.calls("GET /items") == 3
    assert second.counters["rate_limited"] == {45: 1}
    sims.configure(per_minute=1)
    assert _get(sims, token, "items", organization_id=FIRST).json()["code"] == 44
    second.reset_daily_quota()
    assert _get(sims, token, "items", organization_id=SECOND).status_code == 200


def test_concurrent_calls_are_limited_per_organization(sims):
    second = sims.org(SECOND)
    second.configure(max_concurrent=1, latency_seconds=1.5)
    token = sims.mint_token()
    slow: list[requests.Response] = []
    worker = threading.Thread(
        target=lambda: slow.append(_get(sims, token, "items", organization_id=SECOND))
    )
    worker.start()
    while second.limiter.in_flight == 0 and worker.is_alive():
        time.sleep(0.01)  # until the slow call is admitted (its latency then holds it)
    refused = _get(sims, token, "items", organization_id=SECOND)
    other = _get(sims, token, "items", organization_id=FIRST)
    worker.join()
    assert (refused.status_code, refused.json()["code"]) == (429, 1070)
    assert other.status_code == 200
    assert slow[0].status_code == 200


def test_edits_faults_and_admin_calls_reach_one_organization(sims):
    second = sims.org(SECOND)
    token = sims.mint_token()
    item_id = second.active_item_ids()[0]
    second.update_item(item_id, rate=123)
    first_rate = _get(sims, token, f"items/{item_id}", organization_id=FIRST).json()["item"]
    assert first_rate["rate"] != 123
    second.inject_fault("http500")
    assert _get(sims, token, "items", organization_id=FIRST).status_code == 200
    assert _get(sims, token, "items", organization_id=SECOND).status_code == 500
    admin = f"{sims.base_url}/_sim"
    answer = requests.post(
        f"{admin}/update_item",
        json={"organization_id": SECOND, "args": [item_id], "kwargs": {"rate": 456}},
        timeout=10,
    )
    assert answer.status_code == 200
    assert second.items[item_id]["rate"] == 456
    state = requests.get(f"{admin}/state", params={"organization_id": SECOND}, timeout=10)
    assert state.json()["organization_id"] == SECOND
    assert state.json()["counters"]["faults"] == {"http500": 1}
    missing = requests.post(f"{admin}/advance", json={"organization_id": "1", "args": [1]})
    assert missing.status_code == 404
    listed = requests.get(f"{admin}/organizations", timeout=10).json()["organizations"]
    assert [o["organization_id"] for o in listed] == [FIRST, SECOND]


def test_env_lists_the_organizations_and_stays_unchanged_for_one():
    with ZohoSimulator() as single:
        assert set(single.env()) == {
            "SOURCES__ZOHO_BOOKS__API_BASE_URL",
            "SOURCES__ZOHO_BOOKS__ACCOUNTS_URL",
            "SOURCES__ZOHO_BOOKS__ORGANIZATION_ID",
            "SOURCES__ZOHO_BOOKS__CLIENT_ID",
            "SOURCES__ZOHO_BOOKS__CLIENT_SECRET",
            "SOURCES__ZOHO_BOOKS__REFRESH_TOKEN",
        }
    sim = ZohoSimulator(orgs=3)
    sim.org("60012345680").configure_webhooks(url="http://127.0.0.1:1/{organization_id}")
    orgs = json.loads(sim.env()["ZOHO_SIM_ORGANIZATIONS"])
    assert [o["organization_id"] for o in orgs] == [FIRST, SECOND, "60012345680"]
    assert [o["seed"] for o in orgs] == [1, 2, 3]
    assert orgs[2]["webhook_url"] == "http://127.0.0.1:1/60012345680/{module}"
    assert sim.org(SECOND).env()["SOURCES__ZOHO_BOOKS__ORGANIZATION_ID"] == SECOND
    with pytest.raises(ValueError):
        sim.add_organization(organization_id=SECOND)
    extra = sim.add_organization(seed=9, scale="demo", organization_id="777", daily_quota=1000)
    assert (len(extra.bills), extra.config.daily_quota, sim.config.daily_quota) == (
        300,
        1000,
        10_000,
    )


def _signed_with(call: dict[str, Any], secret: str) -> bool:
    expected = hmac.new(
        secret.encode(),
        signature_string(call["query"], call["body"].decode()).encode(),
        hashlib.sha256,
    ).hexdigest()
    return hmac.compare_digest(expected, call["headers"]["X-Zoho-Webhook-Signature"])


def test_each_organization_posts_to_its_own_url_with_its_own_secret(sims, webhook_receiver):
    receiver = webhook_receiver
    port = receiver.server_address[1]
    url = f"http://127.0.0.1:{port}/webhooks/{{organization_id}}"
    secrets = {FIRST: "firstSecret123", SECOND: "secondSecret456"}
    for org_id, secret in secrets.items():
        sims.org(org_id).configure_webhooks(url=url, secret=secret)
    for org_id in secrets:
        org = sims.org(org_id)
        org.update_bill(next(iter(org.bills)), status="paid")
        assert org.flush_webhooks(10)
    by_path = {call["path"]: call for call in receiver.received}
    assert set(by_path) == {f"/webhooks/{FIRST}/bills", f"/webhooks/{SECOND}/bills"}
    for org_id, secret in secrets.items():
        call = by_path[f"/webhooks/{org_id}/bills"]
        assert _signed_with(call, secret)
        other = secrets[SECOND if org_id == FIRST else FIRST]
        assert not _signed_with(call, other)


def test_cli_serves_several_organizations_and_exports_their_settings():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zoho_sim",
            "--port",
            "0",
            "--scale",
            "unit",
            "--orgs",
            "2",
            "--webhook-url",
            "http://127.0.0.1:9/hooks",
            "--webhook-secret",
            "abcdefabcdef12",
            "--print-env",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ZOHO_SIM_WEBHOOK_URL": "", "ZOHO_SIM_WEBHOOK_SECRET": ""},
    )
    try:
        assert process.stdout is not None
        env = {}
        for _ in range(7):
            name, _, value = (
                process.stdout.readline().strip().removeprefix("export ").partition("=")
            )
            env[name] = value.strip("'")
        orgs = json.loads(env["ZOHO_SIM_ORGANIZATIONS"])
        assert [o["organization_id"] for o in orgs] == [FIRST, SECOND]
        assert [o["webhook_secret"] for o in orgs] == ["abcdefabcdef12", "abcdefabcdef12org2"]
        assert orgs[1]["webhook_url"] == (
            f"http://127.0.0.1:9/hooks/{{module}}?organization_id={SECOND}"
        )
        base = env["SOURCES__ZOHO_BOOKS__API_BASE_URL"]
        token = requests.post(
            f"{env['SOURCES__ZOHO_BOOKS__ACCOUNTS_URL']}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": env["SOURCES__ZOHO_BOOKS__CLIENT_ID"],
                "client_secret": env["SOURCES__ZOHO_BOOKS__CLIENT_SECRET"],
                "refresh_token": env["SOURCES__ZOHO_BOOKS__REFRESH_TOKEN"],
            },
            timeout=10,
        ).json()["access_token"]
        for org in (FIRST, SECOND):
            response = requests.get(
                f"{base}/bills",
                params={"organization_id": org},
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
                timeout=10,
            )
            assert response.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
