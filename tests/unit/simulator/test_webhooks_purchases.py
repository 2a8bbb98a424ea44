"""Bill and inventory-adjustment webhooks (issue 24): the default payload under ``bill``
and ``inventory_adjustment``, signed like the other modules."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from zoho_sim import ZohoSimulator
from zoho_sim.webhooks import signature_string

SECRET = "purchaseSecret99"


def _verify(call: dict[str, Any]) -> bool:
    expected = hmac.new(
        SECRET.encode(),
        signature_string(call["query"], call["body"].decode()).encode(),
        hashlib.sha256,
    ).hexdigest()
    return hmac.compare_digest(expected, call["headers"]["X-Zoho-Webhook-Signature"])


def test_bills_created_edited_and_deleted_post_the_bill_with_its_lines(
    zoho_sim: ZohoSimulator, webhook_receiver
):
    sim = zoho_sim
    sim.configure_webhooks(url=webhook_receiver.url_base, secret=SECRET, retry_delays=())
    bill_id = sim.add_bill(lines=[{"item_id": sim.active_item_ids()[0], "quantity": 2}])
    created = sim.bills[bill_id]
    sim.update_bill(bill_id, status="paid")
    edited = sim.bills[bill_id]
    sim.delete_bill(bill_id)
    assert sim.flush_webhooks(10)
    calls = webhook_receiver.received
    assert [c["path"] for c in calls] == ["/webhooks/zoho/bills"] * 3
    assert [dict(c["query"])["event"] for c in calls] == ["created", "edited", "deleted"]
    bodies = [json.loads(c["body"]) for c in calls]
    assert bodies == [{"bill": created}, {"bill": edited}, {"bill": edited}]
    assert bodies[0]["bill"]["line_items"][0]["quantity"] == 2
    assert all(_verify(c) for c in calls)
    assert {d["entity_id"] for d in sim.webhook_deliveries} == {bill_id}


def test_an_inventory_adjustment_posts_its_record_under_inventory_adjustment(
    zoho_sim: ZohoSimulator, webhook_receiver
):
    sim = zoho_sim
    sim.configure_webhooks(url=webhook_receiver.url_base, secret=SECRET, retry_delays=())
    item_id = next(i for i in sim.active_item_ids() if sim.items[i]["item_type"] == "inventory")
    adjustment_id = sim.post_inventory_adjustment(
        [{"item_id": item_id, "quantity_adjusted": -2}], reason="Expired"
    )
    assert sim.flush_webhooks(10)
    [call] = webhook_receiver.received
    assert call["path"] == "/webhooks/zoho/inventoryadjustments"
    assert dict(call["query"]) == {"event": "created"}
    assert _verify(call)
    payload = json.loads(call["body"])["inventory_adjustment"]
    assert payload == sim.inventory_adjustments[0]
    assert payload["inventory_adjustment_id"] == adjustment_id
    for name in (
        "date",
        "reason",
        "reference_number",
        "adjustment_type",
        "location_id",
        "location_name",
        "total",
    ):
        assert name in payload
    [line] = payload["line_items"]
    assert line["item_id"] == item_id and line["quantity_adjusted"] == -2
    for name in ("line_item_id", "name", "item_total", "unit", "location_id", "location_name"):
        assert name in line
    assert sim.webhook_deliveries[0]["entity_id"] == adjustment_id


def test_the_new_modules_can_be_left_out_like_the_others(zoho_sim: ZohoSimulator, webhook_receiver):
    sim = zoho_sim
    sim.configure_webhooks(url=webhook_receiver.url_base, modules=["items"])
    sim.add_bill()
    item_id = next(i for i in sim.active_item_ids() if sim.items[i]["item_type"] == "inventory")
    sim.post_inventory_adjustment([{"item_id": item_id, "quantity_adjusted": 1}])
    assert sim.flush_webhooks(10)
    assert webhook_receiver.received == []
