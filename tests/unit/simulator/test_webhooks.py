"""Zoho's side of webhooks (issue 16): workflow-rule posts on the simulator's edits."""

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from zoho_sim import ZohoSimulator
from zoho_sim.webhooks import signature_string, webhook_signature

SECRET = "s3cretToken42xyz"


class Receiver(ThreadingHTTPServer):
    """Records every POST; ``delays`` (seconds per call, in order) makes it slow."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.delays: list[float] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/zoho"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = urlsplit(self.path)
        with self.server.lock:
            delay = self.server.delays.pop(0) if self.server.delays else 0.0
            self.server.received.append(
                {
                    "path": url.path,
                    "query": parse_qsl(url.query),
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sim(zoho_sim: ZohoSimulator, receiver: Receiver) -> ZohoSimulator:
    zoho_sim.configure_webhooks(url=receiver.url, secret=SECRET, retry_delays=(0.05,))
    return zoho_sim


def _verify(call: dict[str, Any]) -> bool:
    """What a receiver does: Zoho's string from the query (and form fields), HMAC-SHA256."""
    pairs = list(call["query"])
    body = call["body"].decode()
    if call["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded"):
        pairs += parse_qsl(body)
        body = ""
    expected = hmac.new(
        SECRET.encode(), signature_string(pairs, body).encode(), hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, call["headers"]["X-Zoho-Webhook-Signature"])


def test_signature_string_matches_zohos_documented_example():
    pairs = [("subscription_id", "90343"), ("name", "basic")]
    body = '{"created_date":"2019-03-06","event_id":"5675"}'
    assert signature_string(pairs, body) == f"namebasicsubscription_id90343{body}"
    expected = hmac.new(b"k" * 12, f"namebasicsubscription_id90343{body}".encode(), "sha256")
    assert webhook_signature("k" * 12, pairs, body) == expected.hexdigest()


def test_an_edited_item_posts_the_default_json_payload_signed(
    sim: ZohoSimulator, receiver: Receiver
):
    item_id = sim.active_item_ids()[0]
    sim.update_item(item_id, rate=5000)
    assert sim.flush_webhooks(10)
    [call] = receiver.received
    assert call["path"] == "/webhooks/zoho/items"
    assert call["query"] == [("event", "edited")]
    assert json.loads(call["body"]) == {"item": sim.items[item_id]}
    assert _verify(call)


def test_form_payloads_carry_the_json_in_jsonstring_and_deletions_say_deleted(
    sim: ZohoSimulator, receiver: Receiver
):
    sim.configure_webhooks(form=True, params={"token": "abc"})
    invoice_id = next(iter(sim.invoices))
    invoice = sim.invoices[invoice_id]
    sim.delete_invoice(invoice_id)
    assert sim.flush_webhooks(10)
    [call] = receiver.received
    assert call["path"] == "/webhooks/zoho/invoices"
    assert dict(call["query"]) == {"event": "deleted", "token": "abc"}
    form = dict(parse_qsl(call["body"].decode()))
    assert json.loads(form["JSONString"]) == {"invoice": invoice}
    assert invoice["line_items"]
    assert _verify(call)


def test_created_contact_and_nothing_for_unconfigured_modules(
    sim: ZohoSimulator, receiver: Receiver
):
    sim.configure_webhooks(modules=["contacts"])
    contact_id = sim.add_contact(contact_name="Webhook Co")
    sim.update_item(sim.active_item_ids()[0], rate=1)
    assert sim.flush_webhooks(10)
    assert [(c["path"], c["query"]) for c in receiver.received] == [
        ("/webhooks/zoho/contacts", [("event", "created")])
    ]
    assert json.loads(receiver.received[0]["body"])["contact"]["contact_id"] == contact_id


def test_switches_drop_duplicate_and_bad_signature(sim: ZohoSimulator, receiver: Receiver):
    item_id = sim.active_item_ids()[0]
    sim.configure_webhooks(drop_rate=1.0)
    sim.update_item(item_id, rate=1)
    assert sim.flush_webhooks(10)
    assert receiver.received == []
    sim.configure_webhooks(drop_rate=0.0, duplicate_rate=1.0)
    sim.update_item(item_id, rate=2)
    assert sim.flush_webhooks(10)
    assert len(receiver.received) == 2
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    sim.configure_webhooks(duplicate_rate=0.0, bad_signature_rate=1.0)
    sim.update_item(item_id, rate=3)
    assert sim.flush_webhooks(10)
    assert len(receiver.received) == 3
    assert not _verify(receiver.received[2])
    counts = sim.webhooks.counts()
    assert (counts["dropped"], counts["duplicated"], counts["bad_signatures"]) == (1, 1, 1)


def test_reordering_delivers_a_later_edit_first(sim: ZohoSimulator, receiver: Receiver):
    item_id = sim.active_item_ids()[0]
    sim.configure_webhooks(reorder_rate=1.0, reorder_hold_seconds=30)
    sim.update_item(item_id, rate=1)
    sim.update_item(item_id, rate=2)
    assert sim.flush_webhooks(10)
    rates = [json.loads(call["body"])["item"]["rate"] for call in receiver.received]
    assert rates == [2, 1]


def test_a_receiver_slower_than_the_timeout_gets_the_event_again(
    sim: ZohoSimulator, receiver: Receiver
):
    sim.configure_webhooks(timeout_seconds=0.2)
    receiver.delays = [0.5]
    sim.update_item(sim.active_item_ids()[0], rate=7)
    assert sim.flush_webhooks(10)
    assert len(receiver.received) == 2
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    outcomes = [d["outcome"] for d in sim.webhook_deliveries]
    assert outcomes == ["timeout", 200]


def test_webhooks_are_configured_over_the_admin_endpoint(
    zoho_sim: ZohoSimulator, receiver: Receiver
):
    admin = f"{zoho_sim.base_url}/_sim"
    answer = requests.post(
        f"{admin}/configure_webhooks", json={"kwargs": {"url": receiver.url}}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    bad = requests.post(
        f"{admin}/configure_webhooks", json={"kwargs": {"secret": "short"}}, timeout=10
    )
    assert bad.status_code == 400
    requests.post(f"{admin}/delete_contact", json={"args": [next(iter(zoho_sim.contacts))]})
    flushed = requests.post(f"{admin}/flush_webhooks", json={"args": [10]}, timeout=20)
    assert flushed.json() == {"result": True}
    assert "X-Zoho-Webhook-Signature" not in receiver.received[0]["headers"]
    assert receiver.received[0]["query"] == [("event", "deleted")]


CLI_RUN = [sys.executable, "-m", "zoho_sim", "run", "--scale", "unit"]


def test_the_cli_posts_webhooks_to_the_url_from_the_environment(receiver: Receiver):
    child = (
        "import os, requests; u = os.environ['ZOHO_SIM_URL'] + '/_sim/';"
        "requests.post(u + 'add_item', json={'kwargs': {'name': 'CLI item'}});"
        "assert requests.post(u + 'flush_webhooks', json={}).json() == {'result': True}"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoho_sim",
            "run",
            "--scale",
            "unit",
            "--webhook-form",
            "--",
            sys.executable,
            "-c",
            child,
        ],
        env={**os.environ, "ZOHO_SIM_WEBHOOK_URL": receiver.url, "ZOHO_SIM_WEBHOOK_SECRET": SECRET},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [call] = receiver.received
    assert call["query"] == [("event", "created")]
    assert _verify(call)
