"""The `zoho_books` dlt source: which resource writes which raw table, and what each is
given. The modules and their deletion checks are declared in loader/zoho/modules.py, the
resources live in loader/zoho/resources/ (one module per Zoho resource family), the tables
they write in loader/zoho/contract/.

| resource            | how a run finds what changed                           | module            |
|---------------------|--------------------------------------------------------|-------------------|
| organizations       | re-read once a day (resource state), one call          | organizations.py  |
| items               | full listing compared with the stored snapshot         | items.py          |
| contacts            | newest first until the cursor                          | contacts.py       |
| invoices            | server-side `last_modified_time >= cursor` filter      | invoices.py       |
| pricebooks          | full listing compared by content hash                  | pricebooks.py     |
| pricebook_items     | one detail call per per_item list, by content hash     | pricebooks.py     |
| invoice_details,    | one detail call per pending invoice, at most the       | invoice_details.py|
| invoice_line_items  | details budget a run                                   |                   |
| bills               | server-side `last_modified_time >= cursor` filter      | bills.py          |
| bill_details,       | one detail call per pending bill, within what the      | bills.py          |
| bill_line_items     | invoices leave of the details budget                   |                   |
| item_stock_readings,| one `GET /items/{id}` per inventory item changed since | stock.py          |
| item_locations      | its last reading, from what invoices and bills leave   |                   |
| inventory_adjust... | the stored webhook events since the cursor (no call)   | stock.py          |

Everything a resource needs arrives as an argument: the Zoho client, the run's counters,
what the destination held before extraction (snapshots, pending invoices, a reader for
deletion marks) and the run's start (the `deleted_at` of deletion marks). Table hints come
from `contract.dlt_hints`. A daily-quota stop inside a resource ends that resource quietly:
what it yielded is loaded, no deletion is inferred from its incomplete listing, and its
cursor does not move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from loader.run import dlt_overrides
from loader.zoho import modules
from loader.zoho.constants import SOURCE_SECTION
from loader.zoho.contract.hints import MERGE, load_hints
from loader.zoho.http import ZohoClient
from loader.zoho.resources import deletions
from loader.zoho.resources.bills import bill_detail_rows, bill_line_item_rows, list_bills
from loader.zoho.resources.common import Counters, fetch_documents, pending_batches
from loader.zoho.resources.contacts import list_contacts
from loader.zoho.resources.deletions import check_deletions
from loader.zoho.resources.invoice_details import invoice_detail_rows, invoice_line_item_rows
from loader.zoho.resources.invoices import list_invoices
from loader.zoho.resources.items import list_items
from loader.zoho.resources.organizations import list_organizations
from loader.zoho.resources.pricebooks import list_pricebooks, pricebook_item_rows, pricebook_rows
from loader.zoho.resources.stock import (
    adjustment_events,
    adjustment_line_rows,
    adjustment_rows,
    item_location_rows,
    item_stock_reading_rows,
)
from loader.zoho.stored import Destination, Snapshot

dlt_overrides.install()


def _hints(table: str) -> dict[str, Any]:
    """dlt.resource arguments for `table` (contract.hints.load_hints)."""
    return {"name": table, **load_hints(table)}


@dlt.source(name="zoho_books", section=SOURCE_SECTION, max_table_nesting=0)
def zoho_books_source(
    client: ZohoClient,
    counters: Counters,
    started_at: datetime,
    destination: Destination | None = None,
    items_snapshot: Snapshot | None = None,
    pricebooks_snapshot: Snapshot | None = None,
    pending_invoices: Sequence[tuple[str, datetime]] = (),
    pending_bills: Sequence[tuple[str, datetime]] = (),
    pending_item_stock: Sequence[tuple[str, datetime]] = (),
    full_refresh: bool = False,
    stored_ids: Mapping[str, Sequence[tuple[str, bool]]] | None = None,
) -> Sequence[DltResource]:
    """Zoho Books for the organization of `client.settings`. `destination` None (no
    warehouse yet, or a unit test) reads as empty: nothing is marked deleted. `stored_ids`:
    per deletion check (loader/zoho/modules.py), the stored (id, is_deleted) it compares."""
    stored_ids = stored_ids or {}
    settings = client.settings
    items_snapshot = items_snapshot or Snapshot.empty()
    pricebooks_snapshot = pricebooks_snapshot or Snapshot.empty()
    listing = dlt.resource(list_pricebooks, name="pricebook_listing", selected=False)(
        client, counters
    )
    # the details' readers: a record's detail feeds its table (and the lines beside it)
    pending, documents = _detail_reader(
        modules.INVOICES, modules.INVOICE_DETAIL_RESOURCES[0], pending_invoices, client, counters
    )
    bills_pending, bill_documents = _detail_reader(
        modules.BILLS, modules.BILL_DETAIL_RESOURCES[0], pending_bills, client, counters
    )
    stock = modules.ITEM_STOCK
    items_pending, item_documents = _detail_reader(
        stock.module, stock.resources[0], pending_item_stock, client, counters
    )
    adjustments = dlt.resource(adjustment_events, name="adjustment_events", selected=False)(
        destination, counters
    )
    stamp = organization_stamp(settings.organization_id)
    resources = [
        dlt.resource(list_organizations, **_hints("organizations"))(
            client, settings.organization_id, counters, started_at, full_refresh
        ),
        dlt.resource(list_items, **_hints("items"))(
            client, counters, items_snapshot, destination, started_at, full_refresh
        ),
        dlt.resource(list_contacts, **_hints("contacts"))(client, counters, full_refresh),
        dlt.resource(list_invoices, **_hints("invoices"))(client, counters, full_refresh),
        listing,
        dlt.transformer(pricebook_rows, data_from=listing, **_hints("pricebooks"))(
            counters, pricebooks_snapshot, destination, started_at, full_refresh
        ),
        dlt.transformer(pricebook_item_rows, data_from=listing, **_hints("pricebook_items"))(
            client, counters, destination, started_at, full_refresh
        ),
        pending,
        documents,
        dlt.transformer(invoice_detail_rows, data_from=documents, **_hints("invoice_details"))(
            counters
        ),
        dlt.transformer(
            invoice_line_item_rows, data_from=documents, **_hints("invoice_line_items")
        )(counters),
        dlt.resource(list_bills, **_hints("bills"))(client, counters, full_refresh),
        bills_pending,
        bill_documents,
        dlt.transformer(bill_detail_rows, data_from=bill_documents, **_hints("bill_details"))(
            counters
        ),
        dlt.transformer(bill_line_item_rows, data_from=bill_documents, **_hints("bill_line_items"))(
            counters
        ),
        items_pending,
        item_documents,
        dlt.transformer(
            item_stock_reading_rows, data_from=item_documents, **_hints("item_stock_readings")
        )(counters, destination),
        dlt.transformer(item_location_rows, data_from=item_documents, **_hints("item_locations"))(
            counters
        ),
        adjustments,
        dlt.transformer(adjustment_rows, data_from=adjustments, **_hints("inventory_adjustments"))(
            counters, destination
        ),
        dlt.transformer(
            adjustment_line_rows,
            data_from=adjustments,
            **_hints("inventory_adjustment_line_items"),
        )(counters, destination),
        *(
            # its rows go to several tables, each row with its table's own hints
            dlt.resource(
                check_deletions,
                name=kind.resource,
                table_name=kind.table,
                write_disposition=MERGE,
            )(kind, client, counters, stored_ids.get(kind.resource, ()), destination, started_at)
            for kind in (deletions.kind_of(module) for module, _ in modules.DELETION_CHECKS)
        ),
    ]
    # every row a table receives names its organization (the raw tables hold them all)
    helpers = (
        listing,
        pending,
        documents,
        bills_pending,
        bill_documents,
        items_pending,
        item_documents,
        adjustments,
    )
    return [r if r in helpers else r.add_map(stamp) for r in resources]


def _detail_reader(
    module: modules.Module,
    table: str,
    pending: Sequence[tuple[str, datetime]],
    client: ZohoClient,
    counters: Counters,
) -> tuple[DltResource, DltResource]:
    """`pending_<module>` (its pending records in batches) and `<record>_documents`, the
    transformer reading their details for `table` and the lines beside it: helpers, neither
    writes a table."""
    batches = dlt.resource(pending_batches, name=f"pending_{module.name}", selected=False)(
        pending, client, counters
    )
    documents = dlt.transformer(
        fetch_documents, data_from=batches, name=f"{module.singular}_documents", selected=False
    )(client, counters, module, table)
    return batches, documents


def organization_stamp(organization_id: str) -> Any:
    """A dlt map step setting `organization_id` on each row (dicts) or column (arrow)."""

    def stamp(item: Any) -> Any:
        if isinstance(item, pa.Table):
            column = pa.array([organization_id] * item.num_rows, pa.string())
            index = item.schema.get_field_index("organization_id")
            if index >= 0:
                return item.set_column(index, "organization_id", column)
            return item.append_column("organization_id", column)
        if isinstance(item, dict):
            item["organization_id"] = organization_id
        return item

    return stamp
