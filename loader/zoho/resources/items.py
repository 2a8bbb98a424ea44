"""items: Zoho's products. This is where Zoho's `rate` (the selling price in the base
currency) enters; its type and description are in loader/zoho/contract/ (ITEMS), dbt's
stg_zoho_books__items.sql renames it.

Zoho has no "modified since" filter for items: every run lists them all, and only rows
new, changed (by `last_modified_time`) or back from deletion against the stored snapshot
are written. An item missing from a complete listing is marked deleted only once Zoho
confirms it (`GET /items/{id}` answers "not found", or the next complete listing misses it
too): the listing is paged by name, so an edit during it can shift a live item past a
page boundary (docs/decisions.md, "Deletions are confirmed")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from loader.zoho.http import ZohoClient
from loader.zoho.modules import ITEMS
from loader.zoho.records import to_text
from loader.zoho.resources.common import (
    ArrowBatch,
    Counters,
    StoredRows,
    confirm_missing,
    stored_rows_marked_deleted,
    table_shape,
)
from loader.zoho.stored import Snapshot

MODULE = ITEMS
NAME = MODULE.name
# GET /items/{id} calls a run may spend confirming missing items; more missing items than
# this (a mass deletion) wait for the next complete listing instead of a call each.
CONFIRM_CALLS_MAX = 20


def _micros(table: pa.Table, column: str = "last_modified_time") -> list[int | None]:
    return pc.cast(table.column(column), pa.int64()).to_pylist()


def _mark_listed(stored: Snapshot, page: list[dict[str, Any]], table: pa.Table) -> None:
    """Items listed but quarantined (not in `table`) are still listed: not missing."""
    shaped = set(table.column("item_id").to_pylist())
    for record in page:
        item_id = to_text(record.get("item_id"))
        if item_id and item_id not in shaped:
            stored.classify(item_id, None)


def list_items(
    client: ZohoClient,
    counters: Counters,
    stored: Snapshot,
    stored_rows: StoredRows | None,
    deleted_at: datetime,
    full_refresh: bool = False,
) -> Iterator[Any]:
    """Every item (active and inactive), compared with `stored` (item_id, modified time in
    microseconds, is_deleted) read before extraction."""
    shape = table_shape(NAME, counters)
    batch = ArrowBatch(shape)
    complete = False
    with counters.quota_guard(NAME):
        listing = client.pages(
            MODULE.endpoint, MODULE.list_key, MODULE.list_params(), prefetch=True
        )
        for page in listing:
            new_fields = shape.learn(page)
            table = shape.arrow_table(page, is_deleted=False, deleted_at=None)
            mask = stored.classify_many(
                table.column("item_id").to_pylist(), _micros(table), force=full_refresh
            )
            if table.num_rows < len(page):
                _mark_listed(stored, page, table)
            counters.progress.page(NAME, len(page), sum(mask))
            yield from batch.add(table.filter(pa.array(mask, pa.bool_())), new_fields)
        complete = True
    yield from batch.flush()
    if not complete:
        counters.progress.done(NAME, "listing incomplete")
        return
    checked = confirm_missing(
        list(stored.missing()),
        dlt.current.resource_state(),
        lambda item_id: client.get(f"{MODULE.endpoint}/{item_id}", MODULE.singular),
        CONFIRM_CALLS_MAX,
    )
    if checked.quota_hit:
        counters.note_quota_stop(NAME)
    if checked.found:  # listed nowhere, yet in Zoho: written like a listed item
        found = [{k: v for k, v in r.items() if k in shape.types} for r in checked.found]
        table = shape.arrow_table(found, is_deleted=False, deleted_at=None)
        mask = stored.classify_many(
            table.column("item_id").to_pylist(), _micros(table), force=full_refresh
        )
        yield table.filter(pa.array(mask, pa.bool_()))
    deleted = 0
    for rows in stored_rows_marked_deleted(stored_rows, NAME, "item_id", checked.gone, deleted_at):
        deleted += len(rows)
        yield shape.arrow_table(rows)
    counters.progress.wrote(NAME, deleted)
    counters.progress.done(
        NAME,
        f"{deleted} marked deleted, {len(checked.found)} missing from the listing but in "
        f"Zoho, {len(checked.waiting)} missing once (checked again next run)",
    )
