"""`ArrowBatch` collects a listing's page tables into a few thousand rows for dlt. A listing
with a few changes a page (1% of a million items: two rows a page) must not keep thousands
of tiny tables alive until those rows add up (it cost 150 MB of RSS at 1M items)."""

from __future__ import annotations

import pyarrow as pa

from loader.zoho.contract import columns
from loader.zoho.records import TableShape
from loader.zoho.resources.common import ARROW_BATCH_PIECES, ArrowBatch


def page(item_id: int) -> pa.Table:
    return pa.table({"item_id": [str(item_id)], "name": [f"item {item_id}"]})


def test_sparse_pages_are_combined_and_every_row_comes_out_once_in_order():
    batch = ArrowBatch(TableShape("items", columns("items")), rows=5000)
    pages = 10 * ARROW_BATCH_PIECES

    early = [t for n in range(pages) for t in batch.add(page(n))]
    [flushed] = list(batch.flush())

    assert early == []  # fewer rows than a batch: nothing yielded before the flush
    assert flushed.column("item_id").to_pylist() == [str(n) for n in range(pages)]
    # held as a few combined tables, not one per page
    assert flushed.column("item_id").num_chunks <= ARROW_BATCH_PIECES


def test_a_dense_listing_still_yields_a_batch_when_its_rows_add_up():
    batch = ArrowBatch(TableShape("items", columns("items")), rows=400)
    dense = [
        pa.table({"item_id": [str(n) for n in range(p * 200, p * 200 + 200)]}) for p in range(3)
    ]

    out = [t for table in dense for t in batch.add(table)]

    assert [t.num_rows for t in out] == [400]
    assert [t.num_rows for t in batch.flush()] == [200]
