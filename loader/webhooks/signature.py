"""Zoho's webhook signature, in one place so it can be corrected in one place.

Zoho's finance apps (Books, Billing) sign a webhook secured with a secret token by sending
`X-Zoho-Webhook-Signature`: the hex HMAC-SHA256, keyed with the secret, of a string built
from the request (/work/shared/zoho-books-api.md, "Webhooks"):

1. every key-value pair of the query string and, for a form body, of the form fields
   (URL-decoded), sorted by key, each written as key then value with no separator;
2. then, for a JSON body, the raw body exactly as received.

Query `subscription_id=90343&name=basic`, body `{"created_date":"2019-03-06","event_id":"5675"}`
gives `namebasicsubscription_id90343{"created_date":"2019-03-06","event_id":"5675"}`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"


def signing_string(pairs: Iterable[tuple[str, str]], raw_json: bytes = b"") -> bytes:
    """The string Zoho signs: `pairs` (query parameters and form fields, decoded) sorted by
    key (a stable sort keeps repeated keys in their order), then the raw JSON body."""
    ordered = sorted(pairs, key=lambda pair: pair[0])
    return "".join(key + value for key, value in ordered).encode() + raw_json


def sign(secret: str, pairs: Iterable[tuple[str, str]], raw_json: bytes = b"") -> str:
    """The hex signature Zoho sends for this request (also what tests and the simulator use)."""
    return hmac.new(secret.encode(), signing_string(pairs, raw_json), hashlib.sha256).hexdigest()


def verify(
    secret: str, signature: str | None, pairs: Iterable[tuple[str, str]], raw_json: bytes = b""
) -> bool:
    """Whether `signature` is Zoho's for this request; constant-time, case-insensitive hex."""
    if not signature:
        return False
    expected = sign(secret, pairs, raw_json)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
