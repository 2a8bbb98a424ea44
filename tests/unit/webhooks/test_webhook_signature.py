"""Zoho's signature string and the receiver's reading of a request (no server, no database)."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

import pytest

from loader.errors import ConfigError
from loader.webhooks import signature
from loader.webhooks.app import understand
from loader.webhooks.config import make_webhook_settings


def test_signing_string_is_the_documented_example():
    pairs = parse_qsl("subscription_id=90343&name=basic")
    body = b'{"created_date":"2019-03-06","event_id":"5675"}'

    assert signature.signing_string(pairs, body) == (
        b'namebasicsubscription_id90343{"created_date":"2019-03-06","event_id":"5675"}'
    )


def test_signature_is_hex_hmac_sha256_with_the_secret_and_verifies_in_any_case():
    body = b'{"item": {"item_id": "1"}}'
    expected = hmac.new(b"Secret123456", b"eventedited" + body, hashlib.sha256).hexdigest()

    assert signature.sign("Secret123456", [("event", "edited")], body) == expected
    assert signature.verify("Secret123456", expected.upper(), [("event", "edited")], body)
    assert not signature.verify("Secret123456", expected, [("event", "deleted")], body)
    assert not signature.verify("Secret123456", None, [("event", "edited")], body)


def test_a_form_payload_is_signed_over_its_decoded_fields():
    record = json.dumps({"item": {"item_id": "1", "name": "a & b"}})
    body = urlencode({"JSONString": record}).encode()
    pairs = [("event", "edited"), *parse_qsl(body.decode())]

    assert signature.signing_string(pairs) == b"JSONString" + record.encode() + b"eventedited"


def test_the_same_record_as_json_or_as_form_is_one_event():
    record = {"item": {"item_id": "1", "rate": 5, "last_modified_time": "2026-01-01T00:00:00+0000"}}
    as_json = json.dumps(record).encode()
    as_form = urlencode({"JSONString": json.dumps(record, indent=2)}).encode()

    one = understand("items", "edited", as_json, None)
    other = understand("items", "edited", as_form, parse_qsl(as_form.decode()))

    assert one.idempotency_key == other.idempotency_key
    assert one.idempotency_key.startswith("items:edited:1:2026-01-01T00:00:00+0000:")
    assert understand("items", "deleted", as_json, None).idempotency_key != one.idempotency_key


def test_an_invoice_without_its_id_is_malformed_and_keeps_its_body():
    body = b'{"invoice": {"invoice_number": "INV-1"}}'

    event = understand("invoices", "created", body, None)

    assert (event.status, event.result) == ("malformed", "no_record_id")
    assert event.raw_body == body.decode()


@pytest.mark.parametrize(
    ("secret", "token", "needle"),
    [
        (None, None, "SOURCES__ZOHO_BOOKS__WEBHOOK_SECRET is not set"),
        ("short", None, "12 to 50 letters and digits"),
        ("has-a-dash-in-it", None, "12 to 50 letters and digits"),
        (None, "abc", "SOURCES__ZOHO_BOOKS__WEBHOOK_TOKEN is too short"),
    ],
)
def test_settings_errors_name_the_variable(secret, token, needle):
    with pytest.raises(ConfigError, match=needle):
        make_webhook_settings(secret, token)


def test_settings_never_show_the_secret():
    settings = make_webhook_settings("TopSecret12345", "a-long-shared-token-1234")

    assert "TopSecret12345" not in repr(settings) and "a-long-shared" not in repr(settings)
