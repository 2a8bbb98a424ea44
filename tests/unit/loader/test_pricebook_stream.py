"""A price list's detail (`GET /pricebooks/{id}`, up to a row per item) is parsed as it
arrives: one call per list, every row as `response.json()` would give it, a 200 carrying
an error code reported like any other call's, and a body that breaks off part-way is one
clear error instead of a short list."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import requests

from loader.errors import BrokenAnswer, ConfigError, ZohoApiError
from loader.zoho.config import ZohoBooksConfig, validate, zoho_settings
from loader.zoho.http import ZohoClient
from loader.zoho.http.envelope import (
    STREAMED_BODY_BYTES,
    ZohoHTTPError,
    check_envelope,
    stream_records,
    translate_error,
)
from loader.zoho.records import content_hash
from loader.zoho.resources.pricebooks import PRICEBOOK_ROWS_PATH
from zoho_sim import ZohoSimulator
from zoho_sim.api import STREAM_THRESHOLD

# Consumer, the first per_item list by name, has about 6,000 rows at this scale.
BIG_SCALE = {"items": 7000, "contacts": 2, "invoices": 2}


@pytest.fixture(scope="module")
def big_sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(BIG_SCALE, seed=3, per_minute=100_000) as sim:
        yield sim


@pytest.fixture
def sim(big_sim: ZohoSimulator) -> Iterator[ZohoSimulator]:
    big_sim.reset_counters()
    yield big_sim
    big_sim.clear_faults()
    big_sim.configure(fault_endpoints=())


def client_for(sim: ZohoSimulator, tmp_path) -> ZohoClient:
    config = ZohoBooksConfig(
        organization_id=sim.organization_id,
        client_id=sim.client_id,
        client_secret=sim.client_secret,
        refresh_token=sim.refresh_token,
        api_base_url=sim.api_base_url,
        accounts_url=sim.accounts_url,
        token_cache_path=str(tmp_path / "token.json"),
        max_calls_per_minute=100_000,
    )
    return ZohoClient(zoho_settings(validate(config)))


def biggest_list(sim: ZohoSimulator) -> tuple[str, list[dict]]:
    pricebook_id, pb = max(sim.pricebooks.items(), key=lambda kv: len(kv[1]["pricebook_items"]))
    return pricebook_id, pb["pricebook_items"]


def test_a_list_longer_than_the_stream_threshold_arrives_whole_in_one_call(sim, tmp_path):
    client = client_for(sim, tmp_path)
    pricebook_id, expected = biggest_list(sim)
    assert len(expected) > STREAM_THRESHOLD, "the simulator sends this list chunked"

    rows = list(client.stream(f"/pricebooks/{pricebook_id}", PRICEBOOK_ROWS_PATH))

    assert rows == expected
    assert dict(client.stats.calls) == {"GET /pricebooks/{id}": 1}
    assert sim.calls("GET /pricebooks/{id}") == 1


def test_streamed_rows_hash_like_the_rows_of_a_whole_answer(sim, tmp_path):
    """Stored content hashes were made from orjson's rows (fractions as float): rows read
    by the stream must hash the same, or the first run after an upgrade rewrites every
    price list row."""
    client = client_for(sim, tmp_path)
    pricebook_id, _ = biggest_list(sim)

    streamed = list(client.stream(f"/pricebooks/{pricebook_id}", PRICEBOOK_ROWS_PATH))
    whole = client.get(f"/pricebooks/{pricebook_id}", "pricebook")["pricebook_items"]

    assert [content_hash(r) for r in streamed] == [content_hash(r) for r in whole]
    rates = [r["pricebook_rate"] for r in streamed]
    assert {type(r) for r in rates} == {type(r) for r in (w["pricebook_rate"] for w in whole)}


def test_a_list_whose_body_is_cut_off_mid_stream_is_one_clear_error(sim, tmp_path):
    client = client_for(sim, tmp_path)
    pricebook_id, _ = biggest_list(sim)
    sim.configure(fault_endpoints=("GET /pricebooks/{id}",))
    sim.inject_fault("cut_stream")

    rows = []
    with pytest.raises(BrokenAnswer) as raised:
        for row in client.stream(f"/pricebooks/{pricebook_id}", PRICEBOOK_ROWS_PATH):
            rows.append(row)

    message = str(raised.value)
    assert "\n" not in message
    assert f"GET /pricebooks/{pricebook_id} broke off after {len(rows):,} records" in message
    assert "run the loader again" in message
    assert 0 < len(rows) < len(sim.pricebooks[pricebook_id]["pricebook_items"])
    assert sim.calls("GET /pricebooks/{id}") == 1  # a consumed body is not re-requested


def test_a_small_answer_cut_off_is_still_retried_by_the_session(sim, tmp_path):
    client = client_for(sim, tmp_path)
    lists = [(p, pb["pricebook_items"]) for p, pb in sim.pricebooks.items()]
    pricebook_id, expected = min((pair for pair in lists if pair[1]), key=lambda p: len(p[1]))
    sim.configure(fault_endpoints=("GET /pricebooks/{id}",))
    sim.inject_fault("cut_stream")

    rows = list(client.stream(f"/pricebooks/{pricebook_id}", PRICEBOOK_ROWS_PATH))

    assert rows == expected
    assert sim.calls("GET /pricebooks/{id}") == 2  # the broken answer, then the retry


# ----- envelopes, without a server ----------------------------------------------------------
def streamed_answer(status: int, body: bytes, length: bool = False) -> requests.Response:
    """An answer to a `stream=True` call whose body has not been read yet."""
    response = requests.Response()
    response.status_code = status
    response.raw = io.BytesIO(body)
    if length:
        response.headers["Content-Length"] = str(len(body))
    response.request = requests.Request("GET", "https://x/books/v3/pricebooks/1").prepare()
    response.url = response.request.url
    return response


def read(response: requests.Response) -> list[dict]:
    checked = check_envelope(response, stream=True)
    return list(stream_records(checked, PRICEBOOK_ROWS_PATH, "GET /pricebooks/1"))


def error_of_a_whole_answer(status: int, body: dict) -> Exception:
    """What `ZohoClient.get` raises for the same answer read whole."""
    with pytest.raises(ZohoHTTPError) as raised:
        check_envelope(streamed_answer(status, json.dumps(body).encode()))
    return translate_error(raised.value)


def big_body(code: int = 0, rows: int = 3) -> bytes:
    items = [{"item_id": str(i), "pricebook_rate": 1.5 + i} for i in range(rows)]
    body = {"code": code, "message": "success", "pricebook": {"pricebook_items": items}}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (57, "You are not authorized to perform this operation", ConfigError),
        (1000, "Internal Error", ZohoApiError),
    ],
)
def test_a_200_with_a_nonzero_code_is_reported_like_any_other_call(code, message, kind):
    body = {"code": code, "message": message}
    expected = error_of_a_whole_answer(200, body)

    with pytest.raises(kind) as raised:
        read(streamed_answer(200, json.dumps(body).encode()))

    assert type(raised.value) is type(expected)
    assert str(raised.value) == str(expected)


def test_a_200_with_a_nonzero_code_before_a_long_body_stops_at_the_code():
    body = big_body(code=1000, rows=50_000)
    assert len(body) > STREAMED_BODY_BYTES
    response = streamed_answer(200, body)

    with pytest.raises(ZohoApiError, match="HTTP 200 code 1000"):
        read(response)

    assert response.raw.tell() < len(body) // 10  # the rest was never read


def test_an_error_status_is_read_whole_and_translated_as_before():
    body = {"code": 45, "message": "You have reached the maximum number of API calls"}
    response = streamed_answer(429, json.dumps(body).encode(), length=True)

    with pytest.raises(ZohoHTTPError) as raised:
        check_envelope(response, stream=True)

    assert raised.value.code == 45  # the retry predicate and translate_error see it as ever


def test_records_come_out_as_the_whole_answer_has_them():
    body = big_body(rows=5)

    assert read(streamed_answer(200, body)) == json.loads(body)["pricebook"]["pricebook_items"]


def test_a_body_that_stops_being_json_part_way_is_one_clear_error():
    body = big_body(rows=20_000)
    cut = body[: len(body) // 2]

    with pytest.raises(BrokenAnswer, match=r"^Zoho's answer to GET /pricebooks/1 broke off"):
        read(streamed_answer(200, cut))


def test_a_small_cut_answer_to_a_streamed_call_stays_retryable():
    body = big_body(rows=20)
    response = streamed_answer(200, body[: len(body) // 2], length=True)

    with pytest.raises(ZohoHTTPError) as raised:
        check_envelope(response, stream=True)

    assert raised.value.truncated  # the retry predicate repeats truncated 200s
