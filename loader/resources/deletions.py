"""contact_deletions, invoice_deletions: contacts and invoices deleted in Zoho.

Zoho has no deleted-records endpoint, so a complete listing of each (200 a call) is
compared with the stored ids (loader/reconcile.py) at the cadence the API budget planner
gives it (daily where it fits; docs/decisions.md, "Deleted contacts and invoices"):
stored rows missing from it are re-written with `is_deleted` and `deleted_at`, a deleted
row listed again is re-written undeleted. A deleted invoice's details and line items are
flagged the same way. A listing cut short (daily quota) compares nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dlt

from loader.contract import columns
from loader.http import ZohoClient
from loader.reconcile import compare_ids
from loader.records import TableShape
from loader.resources.common import Counters, StoredRows, existing_types


@dataclass(frozen=True)
class Kind:
    resource: str
    table: str
    id_column: str
    path: str
    params: dict[str, str]
    children: tuple[str, ...] = ()  # tables keyed by the same id that follow its fate


CONTACTS = Kind(
    "contact_deletions", "contacts", "contact_id", "/contacts", {"filter_by": "Status.All"}
)
INVOICES = Kind(
    "invoice_deletions",
    "invoices",
    "invoice_id",
    "/invoices",
    {},
    children=("invoice_details", "invoice_line_items"),
)


def check_deletions(
    kind: Kind,
    client: ZohoClient,
    counters: Counters,
    stored_ids: Sequence[tuple[str, bool]],
    stored_rows: StoredRows | None,
    deleted_at: datetime,
) -> Iterator[Any]:
    """Compare a complete listing of `kind` with `stored_ids` (id, is_deleted), read
    before extraction, and yield the rows whose deletion mark changes."""
    complete = False
    with counters.quota_guard(kind.resource):
        result = compare_ids(_listed_ids(kind, client, counters), stored_ids)
        complete = True
    if not complete:
        counters.progress.done(kind.resource, "listing incomplete, nothing compared")
        return
    for table in (kind.table, *kind.children):
        yield from _marked(table, kind.id_column, result.to_delete, stored_rows, deleted_at)
        yield from _marked(table, kind.id_column, result.to_undelete, stored_rows, None)
    counters.progress.done(
        kind.resource,
        f"{len(result.to_delete)} marked deleted, {len(result.to_undelete)} back"
        + (f", {len(result.unknown)} not loaded yet" if result.unknown else ""),
    )


def _listed_ids(kind: Kind, client: ZohoClient, counters: Counters) -> Iterator[list[str]]:
    for page in client.pages(kind.path, kind.table, kind.params, prefetch=True):
        counters.progress.page(kind.resource, len(page), 0)
        yield [str(record[kind.id_column]) for record in page]


def _marked(
    table: str,
    id_column: str,
    ids: list[str],
    stored_rows: StoredRows | None,
    deleted_at: datetime | None,
) -> Iterator[Any]:
    """The stored rows of `ids` in `table` re-written deleted (`deleted_at` set) or back
    (None): a delete-insert merge replaces whole rows, so the mark carries the row along."""
    types = existing_types(table)
    if stored_rows is None or not ids or not types:  # not loaded yet: nothing to mark
        return
    shape = TableShape(table, columns(table), types)
    stamped = "deleted_at" in shape.types  # invoice_details keeps only the flag
    for chunk in stored_rows.rows_by_id(table, id_column, ids):
        for row in chunk:
            row["is_deleted"] = deleted_at is not None
            if stamped:
                row["deleted_at"] = deleted_at
        if chunk:
            yield dlt.mark.with_table_name(shape.arrow_table(chunk), table)
