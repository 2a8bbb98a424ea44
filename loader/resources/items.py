"""items: Zoho's products. This is where Zoho's `rate` (the selling price in the base
currency) enters; its type and description are in loader/contract.py (ITEMS), dbt's
stg_zoho_books__items.sql renames it.

Zoho has no "modified since" filter for items: every run lists them all, and only rows
new, changed (by `last_modified_time`) or back from deletion against the stored snapshot
are written; items missing from a complete listing are marked deleted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loader.contract import columns
from loader.http import ZohoClient
from loader.records import TableShape
from loader.resources.common import (
    ArrowBatch,
    Counters,
    StoredRows,
    existing_types,
    stored_rows_marked_deleted,
)
from loader.stored import Snapshot

NAME = "items"


def _micros(table: pa.Table, column: str = "last_modified_time") -> list[int | None]:
    return pc.cast(table.column(column), pa.int64()).to_pylist()


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
    shape = TableShape(NAME, columns(NAME), existing_types(NAME))
    batch = ArrowBatch(shape)
    complete = False
    with counters.quota_guard(NAME):
        for page in client.pages("/items", "items", {"filter_by": "Status.All"}, prefetch=True):
            new_fields = shape.learn(page)
            table = shape.arrow_table(page, is_deleted=False, deleted_at=None)
            mask = stored.classify_many(
                table.column("item_id").to_pylist(), _micros(table), force=full_refresh
            )
            counters.progress.page(NAME, len(page), sum(mask))
            yield from batch.add(table.filter(pa.array(mask, pa.bool_())), new_fields)
        complete = True
    yield from batch.flush()
    deleted = 0
    if complete:
        missing = list(stored.missing())
        for rows in stored_rows_marked_deleted(stored_rows, NAME, "item_id", missing, deleted_at):
            deleted += len(rows)
            yield shape.arrow_table(rows)
        counters.progress.wrote(NAME, deleted)
    counters.progress.done(NAME, f"{deleted} marked deleted" if complete else "listing incomplete")
