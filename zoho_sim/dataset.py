"""The organisation's data: generated tables plus the edits made between loader runs.

Every edit stamps ``last_modified_time`` with the simulator clock, as Zoho does, so a
loader's incremental logic can be tested by editing, advancing the clock and re-running.
Deleted records simply vanish (Zoho has no deleted-records endpoint).
"""

from __future__ import annotations

import copy
import threading
from array import array
from collections.abc import Iterator, Mapping
from typing import Any

from .clock import SimClock
from .config import Scale
from .formats import (
    KIND_BILL,
    KIND_CONTACT,
    KIND_INVOICE,
    KIND_ITEM,
    KIND_PRICEBOOK,
    format_ts,
)
from .generate import (
    DATA_START,
    Generator,
    Record,
    available_stock,
    location_entries,
    sort_key_from_record,
    stock_on_hand,
)
from .table import Table

Changes = dict[str, dict[str, list[str]]]


class NotFound(KeyError):
    """The ID names no live record."""


class RecordsView(Mapping[str, Record]):
    """Read-only ``id -> record`` view of a table; records are copies, built on access."""

    def __init__(self, table: Table, shape: Any = None) -> None:
        self._table = table
        self._shape = shape

    def __getitem__(self, record_id: str) -> Record:
        index = self._table.index_of(record_id)
        if index is None:
            raise KeyError(record_id)
        record = self._table.get_copy(index)
        return self._shape(record) if self._shape else record

    def __iter__(self) -> Iterator[str]:
        return (self._table.id_of(i) for i in self._table.indices())

    def __len__(self) -> int:
        return len(self._table)


class Dataset:
    """Tables of items, contacts, invoices and price lists, and the edits on them."""

    def __init__(self, seed: int, scale: Scale, clock: SimClock) -> None:
        self.gen = Generator(seed, scale)
        self.clock = clock
        gen = self.gen
        self.items = Table(KIND_ITEM, gen.n_items, gen.item_record, gen.item_key)
        self.contacts = Table(KIND_CONTACT, gen.n_contacts, gen.contact_detail, gen.contact_key)
        self.invoices = Table(KIND_INVOICE, gen.n_invoices, gen.invoice_detail, gen.invoice_key)
        self.bills = Table(KIND_BILL, gen.n_bills, gen.bill_detail, gen.bill_key)
        self.pricebooks = Table(
            KIND_PRICEBOOK,
            len(gen.pricebooks),
            gen.pricebook_header,
            lambda i, col: sort_key_from_record(gen.pricebook_header(i), col),
        )
        self._entries: dict[int, dict[int, Record | None]] = {}
        """Per price list: item index -> edited row, or None when removed from the list."""
        self._entries_version: dict[int, int] = {}
        self._members_cache: dict[int, tuple[tuple[int, int], array]] = {}
        self._base_member_arrays: dict[int, array] | None = None
        self.pricebook_created_modified: dict[int, tuple[int, int]] = {}
        self.line_slots: dict[int, int] = {}
        self.bill_line_slots: dict[int, int] = {}
        self.stock: dict[int, dict[int, list[float]]] = {}
        """Per item index: stock per location after an adjustment or a bill moved it."""
        self.adjustments: list[Record] = []
        """Inventory adjustments posted through the edit API, oldest first."""
        self.lock = threading.RLock()

    def now(self) -> str:
        return self.clock.now_zoho()

    # ----- price-list rows ---------------------------------------------------------------
    def _base_members(self, k: int) -> array:
        """Generated rows of base list ``k``; all lists are found in one pass over the
        catalogue, because each membership test needs the item's role and hash anyway."""
        if self._base_member_arrays is None:
            self._base_member_arrays = self.gen.all_pricebook_members()
        return self._base_member_arrays.get(k, array("q"))

    def pricebook_item_indices(self, k: int) -> array:
        """Item indexes of list ``k``'s rows, in pricebook_item_id order (cached)."""
        stamp = (self._entries_version.get(k, 0), self.items.version)
        cached = self._members_cache.get(k)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with self.lock:
            overlay = self._entries.get(k, {})
            members: array | list[int] = self._base_members(k)
            if overlay:
                merged = set(members)
                for i, row in overlay.items():
                    if row is None:
                        merged.discard(i)
                    else:
                        merged.add(i)
                members = sorted(merged)
            if self.items.deleted:
                exists = self.items.exists
                result = array("q", (i for i in members if exists(i)))
            else:
                result = array("q", members)
            self._members_cache[k] = (stamp, result)
            return result

    def pricebook_row(self, k: int, i: int) -> Record:
        """One row of a list's ``pricebook_items``: item fields plus the list's price."""
        row = self._entries.get(k, {}).get(i)
        if row is None:
            row = self.gen.pricebook_entry(k, i)
        item = self.items.get(i)
        return {
            "pricebook_item_id": self.gen.pricebook_item_id(k, i),
            "item_id": item["item_id"],
            "name": item["name"],
            "sku": item["sku"],
            "status": item["status"],
            "rate": item["rate"],
            **row,
        }

    def pricebook_detail(self, k: int) -> Record:
        header = copy.deepcopy(self.pricebooks.get(k))
        header["pricebook_items"] = [
            self.pricebook_row(k, i) for i in self.pricebook_item_indices(k)
        ]
        return header

    def pricebook_times(self, k: int) -> tuple[str, str]:
        created, modified = self.pricebook_created_modified.get(
            k, (DATA_START + k * 86_400 * 20, DATA_START + k * 86_400 * 20)
        )
        return format_ts(created), format_ts(modified)

    def touch_pricebook(self, k: int) -> None:
        created = self.pricebook_created_modified.get(k, (DATA_START + k * 86_400 * 20, 0))[0]
        self.pricebook_created_modified[k] = (created, int(self.clock.epoch()))

    # ----- stock -------------------------------------------------------------------------
    def location_stock(self, i: int) -> dict[int, list[float]]:
        """Item ``i``'s stock per location, ``{location: [on_hand, committed]}`` (a copy)."""
        moved = self.stock.get(i)
        if moved is not None:
            return {loc: list(pair) for loc, pair in moved.items()}
        return self.gen.location_split(i, self.items.get(i).get("stock_on_hand"))

    def item_detail(self, i: int, shape_setting: str) -> Record:
        """``GET /items/{id}``: the record plus its stock per location (``locations[]`` or
        ``warehouses[]``, see ``SimConfig.item_stock_shape``) for an inventory item."""
        record = dict(self.items.get(i))
        if record.get("item_type") == "inventory":
            shape = self.gen.stock_shape(i, shape_setting)
            record[shape] = location_entries(self.location_stock(i), shape)
        return record

    def move_stock(self, i: int, moves: dict[int, float]) -> Record:
        """Add ``moves`` (location -> quantity, negative to take away) to item ``i``'s stock;
        ``stock_on_hand`` and ``available_stock`` follow and ``last_modified_time`` is now."""
        with self.lock:
            split = self.location_stock(i)
            for loc, quantity in moves.items():
                pair = split.setdefault(loc, [0, 0])
                pair[0] = _number(pair[0] + quantity)
            self.stock[i] = dict(sorted(split.items()))
            record = self.items.get_copy(i)
            record["stock_on_hand"] = stock_on_hand(split)
            if record.get("item_type") == "inventory":
                record["available_stock"] = available_stock(split)
            record["last_modified_time"] = self.now()
            self.items.put(i, record)
            return record

    # ----- lookups -----------------------------------------------------------------------
    def index(self, table: Table, record_id: str) -> int:
        index = table.index_of(record_id)
        if index is None:
            raise NotFound(record_id)
        return index

    def active_item_ids(self) -> list[str]:
        items = self.items
        return [items.id_of(i) for i in items.indices() if items.key(i, "status") == "active"]

    def set_entry(self, k: int, i: int, row: Record | None) -> None:
        with self.lock:
            self._entries.setdefault(k, {})[i] = row
            self._entries_version[k] = self._entries_version.get(k, 0) + 1
            self.touch_pricebook(k)


def _number(value: float) -> float:
    """Whole quantities stay integers in the JSON, as Zoho writes them."""
    return int(value) if float(value).is_integer() else round(value, 6)
