"""What a webhook payload must be to be applied, checked at the door (the receiver stores
a failing one as `malformed` with the reason) and again by the worker, per event, so that
one bad event is set aside alone and never sinks the others of its round."""

from __future__ import annotations

import re
from typing import Any

from loader.webhooks.config import APPLIED_MODULES
from loader.zoho.records import parse_zoho_timestamp

# Zoho's record ids are 18-19 digits (zoho_sim/formats.py); a little room above, and a
# bound: the id is a key column of the raw tables and of the listing's merge.
ZOHO_ID = re.compile(r"[0-9]{1,20}")


def is_zoho_id(value: Any) -> bool:
    """A Zoho record id: digits (a JSON string or number, never a boolean), bounded."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return ZOHO_ID.fullmatch(str(value)) is not None


def record_problem(module: str, singular: str, record: dict[str, Any]) -> str | None:
    """Why `record` cannot be applied as it is (a short reason), or None."""
    record_id = record.get(f"{singular}_id")
    if record_id is not None and not is_zoho_id(record_id):
        return "bad_record_id"
    modified = record.get("last_modified_time")
    if modified not in (None, ""):
        try:
            if not isinstance(modified, str) or parse_zoho_timestamp(modified) is None:
                return "bad_last_modified_time"
        except ValueError:
            return "bad_last_modified_time"
    if module == "invoices" and "line_items" in record:
        lines = record["line_items"]
        if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
            return "bad_line_items"
    return None


def record_of(event: dict[str, Any]) -> dict[str, Any]:
    """The record inside a stored payload (`{"item": {...}}` or a bare record); ValueError
    for an event without one (e.g. a malformed event replayed)."""
    payload = event.get("payload")
    singular = APPLIED_MODULES[event["module"]]
    inner = payload.get(singular) if isinstance(payload, dict) else None
    record = inner if isinstance(inner, dict) else payload
    if not isinstance(record, dict):
        raise ValueError("the event has no record to apply (no payload)")
    return dict(record)
