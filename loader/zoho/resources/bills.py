"""bills, bill_details and bill_line_items.

The listing is Zoho's server-side `last_modified_time >= cursor` filter, as for invoices
(`list_modified`). The details are one `GET /bills/{id}` per bill whose listing is newer
than its stored detail, within what the run's details budget leaves after the invoices
(loader/run/pipeline.py reads the pending bills after the listings were loaded)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loader import clock
from loader.errors import QuotaExhausted, RecordNotFound
from loader.zoho.contract import BILL_DETAIL_SKIP
from loader.zoho.http import ZohoClient
from loader.zoho.modules import BILL_DETAIL_RESOURCES, BILLS
from loader.zoho.resources.common import Counters, table_shape
from loader.zoho.resources.invoices import list_modified

MODULE = BILLS
NAME = MODULE.name
DETAILS, LINES = BILL_DETAIL_RESOURCES
DETAIL_BATCH = 50


def list_bills(client: ZohoClient, counters: Counters, full_refresh: bool = False) -> Iterator[Any]:
    """Bills modified at or after the cursor."""
    yield from list_modified(MODULE, client, counters, full_refresh)


@dataclass
class PendingBills:
    """Bills whose stored details are missing or older than their listing."""

    bills: list[tuple[str, datetime]]


@dataclass
class BillDocument:
    bill_id: str
    listed_modified: datetime
    detail: dict[str, Any] | None  # None: Zoho no longer has the bill (404 code 1002)


def pending_bill_batches(
    pending: Sequence[tuple[str, datetime]], client: ZohoClient, counters: Counters
) -> Iterator[PendingBills]:
    """The pending bills (newest first, already cut to the budget) in small batches; none
    after a daily-quota stop."""
    for start in range(0, len(pending), DETAIL_BATCH):
        if counters.stopped_by_quota or client.stats.quota_exhausted:
            return
        yield PendingBills(list(pending[start : start + DETAIL_BATCH]))


def fetch_bill_documents(
    batch: PendingBills, client: ZohoClient, counters: Counters
) -> Iterator[list[BillDocument]]:
    """GET /bills/{id} for a batch on the client's call pool (as invoice details: Zoho's
    concurrency limit is the pool's size, a quota stop ends the remaining calls)."""
    documents: list[BillDocument] = []
    quota_hit = False
    pool = client.call_pool()
    futures = [
        (bill_id, modified, pool.submit(_bill_detail, client, bill_id))
        for bill_id, modified in batch.bills
    ]
    try:
        for bill_id, modified, future in futures:
            try:
                documents.append(BillDocument(bill_id, modified, future.result()))
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


def _bill_detail(client: ZohoClient, bill_id: str) -> dict[str, Any] | None:
    try:
        return client.get(f"{MODULE.endpoint}/{bill_id}", MODULE.singular)
    except RecordNotFound:
        return None


def bill_detail_rows(documents: list[BillDocument], counters: Counters) -> Iterator[Any]:
    """One row per bill read, stamped with the bill's `last_modified_time` at reading
    (what "pending" compares against)."""
    shape = table_shape(DETAILS, counters)
    fetched_at = clock.now()
    rows = []
    for doc in documents:
        if doc.detail is None:
            row = {
                "bill_id": doc.bill_id,
                "last_modified_time": doc.listed_modified,
                "details_fetched_at": fetched_at,
                "is_deleted": True,
            }
        else:
            row = {
                k: v
                for k, v in doc.detail.items()
                if k != "line_items" and k not in BILL_DETAIL_SKIP
            }
            row.update(details_fetched_at=fetched_at, is_deleted=False)
        rows.append(row)
    yield shape.arrow_table(rows)


def bill_line_item_rows(documents: list[BillDocument], counters: Counters) -> Iterator[Any]:
    """The lines of each bill read. Merged with merge key bill_id: re-reading a bill
    replaces all of its lines, so removed lines disappear. A line for no catalogue item
    (empty or unknown `item_id`) lands as it is; the marts count it."""
    shape = table_shape(LINES, counters)
    rows = []
    for doc in documents:
        if doc.detail is None:
            continue
        for line in doc.detail.get("line_items") or []:
            rows.append(
                {
                    **line,
                    "bill_id": doc.bill_id,
                    "last_modified_time": doc.detail.get("last_modified_time"),
                    "is_deleted": False,
                }
            )
    table = shape.arrow_table(rows)
    counters.progress.wrote(LINES, table.num_rows)
    if table.num_rows:
        yield table
