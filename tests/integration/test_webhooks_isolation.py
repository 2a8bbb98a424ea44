"""One bad event never sinks the others, and nothing a sender can post breaks a later
scheduled run: ids checked as Zoho ids at the door, values cleaned by the scheduled path's
code, bad events dead-lettered alone with their reason, a value that cannot be its type
quarantined on the listing path as on the webhook path. Real `loader serve` (uvicorn),
real PostgreSQL, the simulator's records signed as Zoho signs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.integration.test_webhooks_apply import apply, loader, post, status_of, stored_item
from tests.integration.webhooks_support import Receiver, serving, webhook_env
from zoho_sim import ZohoSimulator

pytestmark = pytest.mark.xdist_group("webhooks_isolation")


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=7, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    return webhook_env(
        sim,
        pg_env,
        tmp_path_factory.mktemp("isolation"),
        WEBHOOK_MAX_ATTEMPTS="3",
        WEBHOOK_RETRY_SECONDS="0",
    )


@pytest.fixture(scope="module")
def receiver(env) -> Iterator[Receiver]:
    with serving(env) as receiver:
        yield receiver


def items(sim: ZohoSimulator) -> list[str]:
    return sorted(sim.active_item_ids())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"item_id": {"x": 1}}, "bad_record_id"),
        ({"item_id": "12ab"}, "bad_record_id"),
        ({"item_id": "1" * 40}, "bad_record_id"),
        ({"item_id": True}, "bad_record_id"),
        ({"last_modified_time": "yesterday"}, "bad_last_modified_time"),
        ({"last_modified_time": "2025-10-31T14:41:13"}, "bad_last_modified_time"),
    ],
)
def test_a_record_that_is_not_zoho_shaped_is_refused_at_the_door(
    sim, receiver, pg_query, change, reason
):
    answer = receiver.post("items", {"item": {**sim.items[items(sim)[0]], **change}})

    assert answer.status_code == 400 and answer.json()["error"] == reason
    assert pg_query(
        "select count(*) from zoho_staging.webhook_events where status = 'pending'"
        " and entity_id not similar to '[0-9]+'"
    ) == [(0,)]


def test_invoice_lines_that_are_not_a_list_of_objects_are_refused(sim, receiver):
    invoice = sim.invoices[sorted(sim.invoices)[0]]
    for lines in ("x", [1, 2], {"line_item_id": "1"}):
        answer = receiver.post("invoices", {"invoice": {**invoice, "line_items": lines}})
        assert answer.status_code == 400 and answer.json()["error"] == "bad_line_items"


def test_nul_and_lone_surrogates_are_cleaned_and_stored_not_refused(sim, receiver, pg_query):
    record = {**sim.items[items(sim)[1]], "name": "Tea\u0000 \ud800cup"}
    body = json.dumps({"item": record}).encode()  # \u0000 and \ud800 as JSON escapes
    answer = receiver.post("items", body=body)

    assert answer.status_code == 200, answer.text
    [(name,)] = pg_query(
        "select payload->'item'->>'name' from zoho_staging.webhook_events where id = %s",
        (answer.json()["event_id"],),
    )
    assert name == "Tea\ufffd \ufffdcup"


def test_a_raw_nul_in_a_body_that_is_not_json_is_kept_for_inspection(receiver, pg_query):
    answer = receiver.post("items", body=b"not json \x00 at all")

    assert answer.status_code == 400 and answer.json()["error"] == "malformed_json"
    [(raw,)] = pg_query(
        "select raw_body from zoho_staging.webhook_events where status = 'malformed'"
        " and raw_body like 'not json%%'"
    )
    assert raw == "not json \ufffd at all"


def test_a_bad_event_in_a_round_is_set_aside_alone_and_the_others_apply(
    sim, env, receiver, pg_query
):
    """Events stored by an earlier version (before the door checked them) sit in one round
    with good events: the bad ones are dead-lettered with their reason, the others apply."""
    good_item, numeric_item = items(sim)[2], items(sim)[3]
    sim.advance(60)
    good = post(receiver, "items", "edited", sim.update_item(good_item, rate=812))
    not_a_number = post(
        receiver, "items", "edited", {**sim.update_item(numeric_item, rate=9), "rate": "abc"}
    )
    invoice = sim.invoices[sorted(sim.invoices)[1]]
    bad_ids = []
    for payload in (
        {"invoice": {**invoice, "line_items": "x"}},
        {"invoice": {**invoice, "last_modified_time": "2025-10-31T14:41:13"}},
        None,  # a malformed event's empty payload, as a replay of it made one
    ):
        [(event_id,)] = pg_query(
            "insert into zoho_staging.webhook_events (module, event_type, entity_id, payload,"
            " body_sha256, body_bytes, result, status, next_attempt_at)"
            " values ('invoices', 'edited', %s, %s::jsonb, 'x', 1, 'accepted', 'pending',"
            " now()) returning id",
            (invoice["invoice_id"], None if payload is None else json.dumps(payload)),
        )
        bad_ids.append(event_id)

    apply(env)

    assert status_of(pg_query, good)[0] == "applied"
    assert stored_item(pg_query, good_item)[0][0] == Decimal("812")
    status, note = status_of(pg_query, not_a_number)
    assert status == "ignored" and note.startswith("quarantined") and "not a number" in note
    reasons = [status_of(pg_query, event_id) for event_id in bad_ids]
    assert reasons == [
        ("dead", "bad_line_items"),
        ("dead", "bad_last_modified_time"),
        ("dead", "the event has no record to apply (no payload)"),
    ]


def test_a_value_that_cannot_be_its_type_is_quarantined_on_the_listing_path_too(
    sim, env, receiver, pg_query
):
    """Then a scheduled run after every hostile post above still ends 0."""
    item_id = items(sim)[4]
    sim.advance(60)
    sim.update_item(item_id, rate="not a number")

    done = loader("run", env=env)

    assert done.returncode == 0, done.stderr
    assert "quarantined" in done.stdout + done.stderr
    [(reason,)] = pg_query(
        "select reason from zoho_staging.quarantine where table_name = 'items'"
        " and record_id = %s order by 1 desc limit 1",
        (item_id,),
    )
    assert "not a number" in reason
    assert stored_item(pg_query, item_id)[0][0] is not None  # the last good version stays


def test_a_delete_then_an_edit_with_the_same_timestamp_keeps_the_delete(
    sim, env, receiver, pg_query
):
    across_rounds, in_one_round = items(sim)[5], items(sim)[6]
    sim.advance(60)
    records = {i: sim.update_item(i, rate=61) for i in (across_rounds, in_one_round)}

    post(receiver, "items", "deleted", records[across_rounds])
    apply(env)
    late_edit = post(receiver, "items", "edited", {**records[across_rounds], "rate": 62})
    post(receiver, "items", "edited", {**records[in_one_round], "rate": 62})
    post(receiver, "items", "deleted", records[in_one_round])
    apply(env)

    status, note = status_of(pg_query, late_edit)
    assert status == "ignored" and "deleted at" in note
    for item_id in (across_rounds, in_one_round):
        [(rate, _, deleted, _)] = stored_item(pg_query, item_id)
        assert deleted is True and rate == Decimal("61")


def test_an_event_for_a_record_never_listed_is_checked_with_one_get_first(
    sim, env, receiver, pg_query
):
    """A `created` event of a real new item is completed from Zoho and applied; one for an
    id Zoho does not have never becomes an active product."""
    sim.advance(60)
    new_id = sim.add_item(rate=70)
    invented = {**sim.items[new_id], "item_id": "2155127199999999999", "name": "Invented"}
    new_event = post(receiver, "items", "created", {**sim.items[new_id], "name": "Stale name"})
    invented_event = post(receiver, "items", "created", invented)
    sim.reset_counters()

    apply(env)

    assert sim.calls("GET /items/{id}") == 2
    assert status_of(pg_query, new_event)[0] == "applied"
    assert stored_item(pg_query, new_id)[0][:3] == (Decimal("70"), sim.items[new_id]["name"], False)
    status, note = status_of(pg_query, invented_event)
    assert status == "ignored" and "not in Zoho" in note
    assert stored_item(pg_query, "2155127199999999999") == []


def test_json_nested_too_deep_is_malformed_not_a_server_error(receiver):
    depth = 100_000
    answer = receiver.post("items", body=b'{"item": ' + b"[" * depth + b"]" * depth + b"}")

    assert answer.status_code == 400 and answer.json()["error"] == "malformed_json"
