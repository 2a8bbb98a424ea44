"""bills, bill_details and bill_line_items.

The listing is Zoho's server-side `last_modified_time >= cursor` filter, as for invoices
(`list_modified`). The details are one `GET /bills/{id}` per bill whose listing is newer
than its stored detail, within what the run's details budget leaves after the invoices
(loader/run/pipeline.py reads the pending bills after the listings were loaded; common.py's
`pending_batches` and `fetch_documents` read them, as for invoices)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from loader import clock
from loader.zoho.contract import BILL_DETAIL_SKIP
from loader.zoho.http import ZohoClient
from loader.zoho.modules import BILL_DETAIL_RESOURCES, BILLS
from loader.zoho.resources.common import Counters, DetailDocument, table_shape
from loader.zoho.resources.invoices import list_modified

MODULE = BILLS
NAME = MODULE.name
DETAILS, LINES = BILL_DETAIL_RESOURCES


def list_bills(client: ZohoClient, counters: Counters, full_refresh: bool = False) -> Iterator[Any]:
    """Bills modified at or after the cursor."""
    yield from list_modified(MODULE, client, counters, full_refresh)


def bill_detail_rows(documents: list[DetailDocument], counters: Counters) -> Iterator[Any]:
    """One row per bill read, stamped with the bill's `last_modified_time` at reading
    (what "pending" compares against)."""
    shape = table_shape(DETAILS, counters)
    fetched_at = clock.now()
    rows = []
    for doc in documents:
        if doc.detail is None:
            row = {
                "bill_id": doc.record_id,
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


def bill_line_item_rows(documents: list[DetailDocument], counters: Counters) -> Iterator[Any]:
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
                    "bill_id": doc.record_id,
                    "last_modified_time": doc.detail.get("last_modified_time"),
                    "is_deleted": False,
                }
            )
    table = shape.arrow_table(rows)
    counters.progress.wrote(LINES, table.num_rows)
    if table.num_rows:
        yield table
