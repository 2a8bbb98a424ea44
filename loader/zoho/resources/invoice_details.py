"""invoice_details and invoice_line_items: one `GET /invoices/{id}` per invoice whose
listing is newer than its stored details, at most `details_budget` a run (the rest waits
for the next run). The pending invoices are read from the destination by pipeline.py
after the listings were loaded and passed in; common.py's `pending_batches` and
`fetch_documents` read their details, the rows are made here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from loader import clock
from loader.zoho.contract import INVOICE_DETAIL_SKIP
from loader.zoho.modules import INVOICE_DETAIL_RESOURCES
from loader.zoho.resources.common import Counters, DetailDocument, table_shape

DETAILS, LINES = INVOICE_DETAIL_RESOURCES
# The webhook worker builds them from an event's record (loader/webhooks/apply.py).
InvoiceDocument = DetailDocument


def invoice_detail_rows(documents: list[DetailDocument], counters: Counters) -> Iterator[Any]:
    """One row per invoice read: what the listing lacks, stamped with the invoice's
    `last_modified_time` at reading (what "pending" compares against)."""
    shape = table_shape(DETAILS, counters)
    fetched_at = clock.now()
    rows = []
    for doc in documents:
        if doc.detail is None:
            row = {
                "invoice_id": doc.record_id,
                "last_modified_time": doc.listed_modified,
                "details_fetched_at": fetched_at,
                "is_deleted": True,
            }
        else:
            row = {
                k: v
                for k, v in doc.detail.items()
                if k != "line_items" and k not in INVOICE_DETAIL_SKIP
            }
            row.update(details_fetched_at=fetched_at, is_deleted=False)
        rows.append(row)
    yield shape.arrow_table(rows)


def invoice_line_item_rows(documents: list[DetailDocument], counters: Counters) -> Iterator[Any]:
    """The lines of each invoice read. Merged with merge key invoice_id: re-reading an
    invoice replaces all of its lines, so removed lines disappear."""
    shape = table_shape(LINES, counters)
    rows = []
    for doc in documents:
        if doc.detail is None:
            continue
        for line in doc.detail.get("line_items") or []:
            row = {
                **line,
                "invoice_id": doc.record_id,
                "last_modified_time": doc.detail.get("last_modified_time"),
            }
            rows.append(row)
    table = shape.arrow_table(rows)
    counters.progress.wrote(LINES, table.num_rows)
    if table.num_rows:
        yield table
