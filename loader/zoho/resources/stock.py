"""Stock: per location from the item detail, and inventory adjustments from webhooks.

item_stock_readings and item_locations: one `GET /items/{id}` per inventory item changed
(by `last_modified_time`) since its last reading, from what invoices and bills leave of the
run's details budget (loader/run/pipeline.py reads the pending items after the listings
were loaded; docs/decisions.md, "Stock per location"). Zoho's docs name the detail's list
`locations[]` (fields `location_*`) in some places and `warehouses[]` (`warehouse_*`) in
others: either is read.

inventory_adjustments and inventory_adjustment_line_items: Zoho Books has no listing of
adjustments, only the webhook (`inventoryadjustment.create` ...). The receiver stores each
event raw in `webhook_events`; each run lands the events stored since its cursor (dlt
state, committed with the rows), no API call. A missed event is not found again: the next
stock reading corrects the stock itself (docs/webhooks.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dlt

from loader import clock
from loader.zoho.modules import INVENTORY_ADJUSTMENTS, ITEM_STOCK
from loader.zoho.records import to_text
from loader.zoho.resources.common import Counters, DetailDocument, table_shape

READINGS, LOCATIONS = ITEM_STOCK.resources
ADJUSTMENTS, ADJUSTMENT_LINES = INVENTORY_ADJUSTMENTS.resources
# The detail's per-location list: Zoho's docs use both names.
LOCATION_LISTS = ("locations", "warehouses")
# Events landed a run at most (adjustments are entered by hand: a backlog this big is an
# outage's; the rest lands next run).
EVENTS_PER_RUN = 20_000


# ----- stock per location ----------------------------------------------------------------
def location_entries(detail: Mapping[str, Any]) -> tuple[str | None, list[dict[str, Any]]]:
    """(which list Zoho sent, one row per location) from an item detail: `locations[]`
    with `location_*` fields or `warehouses[]` with `warehouse_*`; an entry may use either
    prefix or none (`stock_on_hand`)."""
    for field in LOCATION_LISTS:
        entries = detail.get(field)
        if isinstance(entries, list):
            return field, [_location_row(e) for e in entries if isinstance(e, Mapping)]
    return None, []


def _location_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    def pick(name: str) -> Any:
        for prefix in ("location_", "warehouse_", ""):
            value = entry.get(f"{prefix}{name}")
            if value is not None:
                return value
        return None

    return {
        "location_id": pick("id"),
        "location_name": pick("name"),
        "is_primary": entry.get("is_primary"),
        "status": entry.get("status"),
        "stock_on_hand": pick("stock_on_hand"),
        "available_stock": pick("available_stock"),
        "actual_available_stock": pick("actual_available_stock"),
    }


def _previous_readings(destination: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored reading of each item (the one this run's reading replaces)."""
    if destination is None or "item_id" not in destination.existing_columns(READINGS):
        return {}
    return {
        str(row["item_id"]): row
        for chunk in destination.rows_by_id(READINGS, "item_id", ids)
        for row in chunk
    }


def item_stock_reading_rows(
    documents: list[DetailDocument], counters: Counters, destination: Any = None
) -> Iterator[Any]:
    """One row per item read, stamped with the item's `last_modified_time` at reading
    (what "pending" compares against), and the reading it replaces (stock_movements
    reconciles the stock between the two)."""
    shape = table_shape(READINGS, counters)
    read_at = clock.now()
    before = _previous_readings(destination, [doc.record_id for doc in documents])
    rows = []
    for doc in documents:
        previous = before.get(doc.record_id)
        if previous is not None and previous.get("is_deleted"):
            previous = None
        carried = {
            "previous_stock_on_hand": previous.get("stock_on_hand") if previous else None,
            "previous_last_modified_time": (
                previous.get("last_modified_time") if previous else None
            ),
            "previous_read_at": previous.get("read_at") if previous else None,
        }
        if doc.detail is None:
            rows.append(
                {
                    "item_id": doc.record_id,
                    "last_modified_time": doc.listed_modified,
                    "read_at": read_at,
                    "is_deleted": True,
                }
            )
            continue
        field, locations = location_entries(doc.detail)
        rows.append(
            {
                "item_id": doc.record_id,
                "last_modified_time": doc.detail.get("last_modified_time") or doc.listed_modified,
                "stock_on_hand": doc.detail.get("stock_on_hand"),
                "available_stock": doc.detail.get("available_stock"),
                "location_count": len(locations),
                "location_field": field,
                "read_at": read_at,
                **carried,
                "is_deleted": False,
            }
        )
    yield shape.arrow_table(rows)


def item_location_rows(documents: list[DetailDocument], counters: Counters) -> Iterator[Any]:
    """The locations of each item read. Merged with merge key item_id: re-reading an item
    replaces all its locations, so a location gone from the detail disappears."""
    shape = table_shape(LOCATIONS, counters)
    read_at = clock.now()
    rows = []
    for doc in documents:
        if doc.detail is None:
            continue
        modified = doc.detail.get("last_modified_time") or doc.listed_modified
        for location in location_entries(doc.detail)[1]:
            rows.append(
                {
                    **location,
                    "item_id": doc.record_id,
                    "last_modified_time": modified,
                    "read_at": read_at,
                }
            )
    table = shape.arrow_table(rows)
    counters.progress.wrote(LOCATIONS, table.num_rows)
    if table.num_rows:
        yield table


# ----- inventory adjustments -------------------------------------------------------------
def adjustment_events(destination: Any, counters: Counters) -> Iterator[list[dict[str, Any]]]:
    """The adjustment events stored since the cursor (the `inventory_adjustments`
    resource's state), newest per adjustment; the cursor moves past every event read."""
    if destination is None:
        return
    state = dlt.current.resource_state(ADJUSTMENTS)
    after = int(state.get("last_event_id") or 0)
    events = destination.adjustment_events(after, EVENTS_PER_RUN)
    if not events:
        return
    state["last_event_id"] = max(int(e["id"]) for e in events)
    newest: dict[str, dict[str, Any]] = {}
    for event in sorted(events, key=lambda e: int(e["id"])):
        record = _adjustment_record(event)
        adjustment_id = to_text(record.get(INVENTORY_ADJUSTMENTS.id_column)) or to_text(
            event.get("entity_id")
        )
        if not adjustment_id:
            counters.quarantine.add(
                ADJUSTMENTS,
                f"webhook event {event['id']}",
                {"webhook_event_id": event["id"], "payload": event.get("payload")},
                "the event carries no inventory_adjustment_id",
            )
            continue
        newest[adjustment_id] = {**event, "record": record, "adjustment_id": adjustment_id}
    counters.progress.page(ADJUSTMENTS, len(events), len(newest))
    if newest:
        yield list(newest.values())


def _adjustment_record(event: Mapping[str, Any]) -> dict[str, Any]:
    """The record inside Zoho's default payload `{"inventory_adjustment": {...}}` or a
    bare record; `{}` when the payload has none."""
    payload = event.get("payload")
    if not isinstance(payload, Mapping):
        return {}
    inner = payload.get(INVENTORY_ADJUSTMENTS.singular)
    record = inner if isinstance(inner, Mapping) else payload
    return dict(record)


def _stored(destination: Any, table: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Stored rows of `table` by adjustment id (to keep a deleted adjustment's fields)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if destination is None or not ids:
        return found
    if "inventory_adjustment_id" not in destination.existing_columns(table):
        return found
    for chunk in destination.rows_by_id(table, "inventory_adjustment_id", ids):
        for row in chunk:
            found.setdefault(str(row["inventory_adjustment_id"]), []).append(row)
    return found


def _deleted_ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["adjustment_id"] for e in events if e.get("event_type") == "deleted"]


def adjustment_rows(
    events: list[dict[str, Any]], counters: Counters, destination: Any = None
) -> Iterator[Any]:
    """One row per adjustment: its newest event's record. A `deleted` event keeps the
    stored fields (Zoho may send only the id) and is marked `is_deleted`."""
    shape = table_shape(ADJUSTMENTS, counters)
    stored = _stored(destination, ADJUSTMENTS, _deleted_ids(events))
    rows = []
    for event in events:
        deleted = event.get("event_type") == "deleted"
        base = stored.get(event["adjustment_id"], [{}])[0] if deleted else {}
        record = {k: v for k, v in event["record"].items() if k != "line_items"}
        rows.append(
            {
                **{k: v for k, v in base.items() if k != "organization_id"},
                **record,
                "inventory_adjustment_id": event["adjustment_id"],
                "event_type": event.get("event_type"),
                "webhook_event_id": event["id"],
                "received_at": event.get("received_at"),
                "is_deleted": deleted,
                "deleted_at": event.get("received_at") if deleted else None,
            }
        )
    table = shape.arrow_table([{k: v for k, v in r.items() if k in shape.types} for r in rows])
    counters.progress.wrote(ADJUSTMENTS, table.num_rows)
    if table.num_rows:
        yield table


def adjustment_line_rows(
    events: list[dict[str, Any]], counters: Counters, destination: Any = None
) -> Iterator[Any]:
    """The lines of each adjustment's newest event (merge key: a newer event replaces all
    its lines); a deleted adjustment's lines are re-written marked deleted."""
    shape = table_shape(ADJUSTMENT_LINES, counters)
    stored = _stored(destination, ADJUSTMENT_LINES, _deleted_ids(events))
    rows = []
    for event in events:
        deleted = event.get("event_type") == "deleted"
        lines = event["record"].get("line_items")
        if not isinstance(lines, list) or (deleted and not lines):
            lines = stored.get(event["adjustment_id"], []) if deleted else []
        for line in lines:
            if not isinstance(line, Mapping):
                continue
            rows.append(
                {
                    **{k: v for k, v in line.items() if k in shape.types},
                    "inventory_adjustment_id": event["adjustment_id"],
                    "webhook_event_id": event["id"],
                    "is_deleted": deleted,
                }
            )
    table = shape.arrow_table(rows)
    counters.progress.wrote(ADJUSTMENT_LINES, table.num_rows)
    if table.num_rows:
        yield table
