"""invoice_details and invoice_line_items: one `GET /invoices/{id}` per invoice whose
listing is newer than its stored details, at most `details_budget` a run (the rest waits
for the next run). The pending invoices are read from the destination by pipeline.py
after the listings were loaded and passed in."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loader import clock
from loader.errors import QuotaExhausted, RecordNotFound
from loader.zoho.contract import INVOICE_DETAIL_SKIP
from loader.zoho.http import ZohoClient
from loader.zoho.modules import INVOICE_DETAIL_RESOURCES, INVOICES
from loader.zoho.resources.common import Counters, table_shape

DETAILS, LINES = INVOICE_DETAIL_RESOURCES
DETAIL_BATCH = 50


@dataclass
class PendingInvoices:
    """Invoices whose stored details are missing or older than their listing."""

    invoices: list[tuple[str, datetime]]


@dataclass
class InvoiceDocument:
    invoice_id: str
    listed_modified: datetime
    detail: dict[str, Any] | None  # None: Zoho no longer has the invoice (404 code 1002)


def pending_invoice_batches(
    pending: Sequence[tuple[str, datetime]], client: ZohoClient, counters: Counters
) -> Iterator[PendingInvoices]:
    """The pending invoices (newest first, already cut to the budget) in small batches;
    none after a daily-quota stop."""
    for start in range(0, len(pending), DETAIL_BATCH):
        if counters.stopped_by_quota or client.stats.quota_exhausted:
            return
        yield PendingInvoices(list(pending[start : start + DETAIL_BATCH]))


def fetch_invoice_documents(
    batch: PendingInvoices, client: ZohoClient, counters: Counters
) -> Iterator[list[InvoiceDocument]]:
    """GET /invoices/{id} for a batch, `max_concurrency` at a time (the client's call pool).

    A small thread pool of our own rather than dlt's parallel transformers: its size is
    Zoho's concurrency limit, and after a quota stop the remaining calls end at once
    (the client refuses to send them) while finished documents are still loaded."""
    documents: list[InvoiceDocument] = []
    quota_hit = False
    pool = client.call_pool()
    futures = [
        (invoice_id, modified, pool.submit(_invoice_detail, client, invoice_id))
        for invoice_id, modified in batch.invoices
    ]
    try:
        for invoice_id, modified, future in futures:
            try:
                documents.append(InvoiceDocument(invoice_id, modified, future.result()))
            except QuotaExhausted:
                quota_hit = True
    finally:  # a failed call ends the batch: its calls not started are not sent
        for _, _, future in futures:
            future.cancel()
    if quota_hit:
        counters.note_quota_stop(DETAILS)
    counters.details_read += sum(1 for d in documents if d.detail is not None)
    counters.details_gone += sum(1 for d in documents if d.detail is None)
    counters.progress.page(DETAILS, len(documents), len(documents))
    if documents:
        yield documents


def _invoice_detail(client: ZohoClient, invoice_id: str) -> dict[str, Any] | None:
    try:
        return client.get(f"{INVOICES.endpoint}/{invoice_id}", INVOICES.singular)
    except RecordNotFound:
        return None


def invoice_detail_rows(documents: list[InvoiceDocument], counters: Counters) -> Iterator[Any]:
    """One row per invoice read: what the listing lacks, stamped with the invoice's
    `last_modified_time` at reading (what "pending" compares against)."""
    shape = table_shape(DETAILS, counters)
    fetched_at = clock.now()
    rows = []
    for doc in documents:
        if doc.detail is None:
            row = {
                "invoice_id": doc.invoice_id,
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


def invoice_line_item_rows(documents: list[InvoiceDocument], counters: Counters) -> Iterator[Any]:
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
                "invoice_id": doc.invoice_id,
                "last_modified_time": doc.detail.get("last_modified_time"),
            }
            rows.append(row)
    table = shape.arrow_table(rows)
    counters.progress.wrote(LINES, table.num_rows)
    if table.num_rows:
        yield table
