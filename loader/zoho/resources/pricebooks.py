"""pricebooks and pricebook_items: Zoho's price lists and the rows of each per_item list.

Price lists carry no timestamps: a list (a few rows) is compared with the stored one by
content hash; a per_item list's rows come from one detail call per list, parsed as they
arrive and compared by content hash PRICEBOOK_CHUNK_ROWS at a time. Rows gone from a
completely read list (one answer: no page boundary can hide a row), and every row of a list
gone or no longer per_item, are marked deleted; a list is gone when a one-page listing or
two listings in a row miss it.

The snapshot of `pricebooks` is read before extraction. Each list's stored rows (one list
can name every item: a million rows) are read when that list is compared, through the
`StoredPricebookItems` passed in, so at most one list's snapshot is in memory at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from loader.zoho import modules
from loader.zoho.http import ZohoClient
from loader.zoho.records import TableShape, content_hash
from loader.zoho.resources.common import (
    Counters,
    StoredRows,
    stored_rows_marked_deleted,
    table_shape,
    with_json_hints,
)
from loader.zoho.stored import Snapshot, hash_version

MODULE = modules.PRICEBOOKS
PRICEBOOKS, PRICEBOOK_ITEMS = MODULE.tables
PRICEBOOK_CHUNK_ROWS = 10_000  # rows of one price list read per arrow table
PRICEBOOK_ROWS_PATH = "pricebook.pricebook_items.item"  # where the rows sit in the detail

# The item's own fields Zoho repeats in each row of a price list. They are not what the
# list says about the item, so a change to them (an item renamed or repriced) does not make
# its list rows "changed": those rows keep the copies from when their list fields last
# changed, and `items` has the current ones. Hashing them re-wrote every list row of each
# changed item: at 1M items a 1% change wrote 27k list rows for 1.4k real list changes.
ITEM_FIELDS_IN_LIST_ROWS = ("name", "sku", "status", "rate")


class StoredPricebookItems(StoredRows, Protocol):
    """What the destination holds of `pricebook_items` (loader.zoho.stored.Destination)."""

    def pricebook_items_snapshot(self, pricebook_id: str) -> Snapshot: ...

    def live_pricebook_items_outside(self, keep: list[str]) -> Iterator[tuple[str, list[str]]]: ...


@dataclass
class PricebookListing:
    """A complete listing of price lists (only complete listings are passed on)."""

    rows: list[dict[str, Any]]


def _read_listing(client: ZohoClient) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    pages = 0
    for page in client.pages(MODULE.endpoint, MODULE.list_key, MODULE.list_params()):
        rows.extend(page)
        pages += 1
    return rows, pages


def list_pricebooks(client: ZohoClient, counters: Counters) -> Iterator[PricebookListing]:
    """Every price list. One page is one answer, a consistent picture. A listing of more
    than one page (over 200 lists) is paged by name, and a list deleted or renamed while it
    is read shifts a live one past a page boundary: it is read twice and a list counts as
    gone only when both listings miss it (docs/decisions.md, "Deletions are confirmed")."""
    with counters.quota_guard(PRICEBOOKS):
        rows, pages = _read_listing(client)
        if pages > 1:
            again, _ = _read_listing(client)
            newer = {str(r.get("pricebook_id")): r for r in again}
            rows = [r for r in rows if str(r.get("pricebook_id")) not in newer] + again
        yield PricebookListing(rows)


def pricebook_rows(
    listing: PricebookListing,
    counters: Counters,
    stored: Snapshot,
    stored_rows: StoredRows | None,
    deleted_at: datetime,
    full_refresh: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """Price lists new or changed by content, and those gone from the listing."""
    shape = table_shape(PRICEBOOKS, counters)
    rows = []
    for raw in listing.rows:
        digest = content_hash(raw)
        verdict = stored.classify(str(raw["pricebook_id"]), hash_version(digest), full_refresh)
        if verdict.write:
            row = {**raw, "content_hash": digest, "is_deleted": False, "deleted_at": None}
            rows.append(row)
    counters.progress.page(PRICEBOOKS, len(listing.rows), len(rows))
    missing = list(stored.missing())
    for chunk in stored_rows_marked_deleted(
        stored_rows, PRICEBOOKS, "pricebook_id", missing, deleted_at
    ):
        rows.extend(chunk)
    counters.progress.wrote(PRICEBOOKS, len(missing))
    counters.progress.done(PRICEBOOKS, f"{len(missing)} marked deleted")
    if rows:
        yield shape.shape_rows(rows)


def _clean_brackets(brackets: Any) -> Any:
    """`""` quantities/rates inside price brackets become null, like everywhere else."""
    if not isinstance(brackets, list):
        return brackets
    return [
        {k: (None if v == "" else v) for k, v in b.items()} if isinstance(b, dict) else b
        for b in brackets
    ]


def pricebook_item_rows(
    listing: PricebookListing,
    client: ZohoClient,
    counters: Counters,
    stored: StoredPricebookItems | None,
    deleted_at: datetime,
    full_refresh: bool = False,
) -> Iterator[Any]:
    """Rows of each per_item list (one detail call each), written when new or changed;
    rows gone from a list, or whose list is gone, are marked deleted."""
    shape = table_shape(PRICEBOOK_ITEMS, counters)
    per_item = [
        str(pb["pricebook_id"]) for pb in listing.rows if pb.get("pricebook_type") == "per_item"
    ]
    with counters.quota_guard(PRICEBOOK_ITEMS):
        for pricebook_id in per_item:
            # One call per list (the quota's minimum), its rows parsed as they arrive.
            listed = client.stream(f"/pricebooks/{pricebook_id}", PRICEBOOK_ROWS_PATH)
            snapshot = stored.pricebook_items_snapshot(pricebook_id) if stored else Snapshot.empty()
            yield from _one_pricebook_items(
                counters, stored, shape, pricebook_id, listed, snapshot, deleted_at, full_refresh
            )
    # Lists deleted or no longer per_item keep no live rows.
    if stored is not None:
        for pricebook_id, item_ids in stored.live_pricebook_items_outside(per_item):
            yield from _list_rows_marked_deleted(
                counters, stored, shape, pricebook_id, item_ids, deleted_at
            )
    counters.progress.done(PRICEBOOK_ITEMS)


def _one_pricebook_items(
    counters: Counters,
    stored_rows: StoredRows | None,
    shape: TableShape,
    pricebook_id: str,
    listed: Iterator[dict[str, Any]],
    stored: Snapshot,
    deleted_at: datetime,
    full_refresh: bool,
) -> Iterator[Any]:
    """The rows of one list to write, PRICEBOOK_CHUNK_ROWS at a time (a list can name
    every item: a million rows), then its stored rows the list no longer names.

    Deletions are inferred only after the last row was read: a body that breaks off
    raises out of `listed` before that, so a half-read list marks nothing deleted."""
    rows: list[dict[str, Any]] = []
    total = 0
    for raw in listed:
        total += 1
        row = {**raw, "pricebook_id": pricebook_id}
        row["price_brackets"] = _clean_brackets(row.get("price_brackets"))
        digest = content_hash(row, ignore=ITEM_FIELDS_IN_LIST_ROWS)
        verdict = stored.classify(str(row["item_id"]), hash_version(digest), full_refresh)
        if verdict.write:
            rows.append({**row, "content_hash": digest, "is_deleted": False, "deleted_at": None})
        if total % PRICEBOOK_CHUNK_ROWS == 0:
            yield from _pricebook_chunk(counters, shape, PRICEBOOK_CHUNK_ROWS, rows)
            rows = []
    if total % PRICEBOOK_CHUNK_ROWS or not total:
        yield from _pricebook_chunk(counters, shape, total % PRICEBOOK_CHUNK_ROWS, rows)
    yield from _list_rows_marked_deleted(
        counters, stored_rows, shape, pricebook_id, list(stored.missing()), deleted_at
    )


def _list_rows_marked_deleted(
    counters: Counters,
    stored_rows: StoredRows | None,
    shape: TableShape,
    pricebook_id: str,
    item_ids: list[str],
    deleted_at: datetime,
) -> Iterator[Any]:
    """The stored rows of list `pricebook_id` for `item_ids`, marked deleted, as arrow."""
    for chunk in stored_rows_marked_deleted(
        stored_rows, PRICEBOOK_ITEMS, "item_id", item_ids, deleted_at,
        "pricebook_id = %s", pricebook_id,
    ):  # fmt: skip
        counters.progress.wrote(PRICEBOOK_ITEMS, len(chunk))
        yield shape.arrow_table(chunk)


def _pricebook_chunk(
    counters: Counters, shape: TableShape, listed: int, rows: list[dict[str, Any]]
) -> Iterator[Any]:
    counters.progress.page(PRICEBOOK_ITEMS, listed, len(rows))
    if rows:
        new_fields = shape.learn(rows)
        yield with_json_hints(shape.arrow_table(rows), shape, new_fields)
