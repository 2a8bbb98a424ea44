"""Edits between loader runs, stamped with the simulator clock as Zoho stamps them.

Every edit sets ``last_modified_time`` to ``sim.now`` (items, contacts, invoices; price
lists keep their own hidden times, see ``expose_pricebook_times``). Deleted records vanish:
Zoho has no deleted-records endpoint. ``ZohoSimulator`` inherits these methods.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from typing import Any

from . import catalog
from .catalog import USD_IQD
from .config import SimConfig
from .dataset import Changes, Dataset, NotFound
from .formats import (
    KIND_ADJUSTMENT,
    KIND_ADJUSTMENT_LINE,
    KIND_BILL_LINE,
    KIND_LINE_ITEM,
    KIND_LOCATION,
    KIND_MISC,
    LINE_ITEM_SLOTS,
    format_date,
    make_id,
    money,
    parse_id,
)
from .generate import (
    Record,
    available_stock,
    location_id,
    make_bill_line,
    make_line_item,
    recompute_bill,
    recompute_invoice,
)
from .table import Table


class Edits:
    """Mutations of the data set; the host class provides ``data``.

    Item, contact and invoice edits report themselves to ``_emit`` (the simulator's
    workflow-rule webhooks) with the record as it is after the edit (as it was, for a
    deletion)."""

    data: Dataset
    config: SimConfig

    def _emit(self, module: str, event: str, record: Record) -> None:
        """Hook for webhooks; the simulator overrides it."""

    # ----- items -------------------------------------------------------------------------
    def add_item(self, **fields: Any) -> str:
        """Create an item (a copy of a typical goods item with ``fields`` applied); an
        ``item_id`` in ``fields`` is used as its ID (any text, e.g. 40 digits)."""
        index = _allocate(self.data.items, fields.get("item_id"))
        record = self.data.gen.item_record(0)
        now = self.data.now()
        record.update(
            item_id=self.data.items.id_of(index),
            name=f"New item {index}",
            sku=f"NEW-{index}",
            status="active",
            created_time=now,
            last_modified_time=now,
        )
        record.update(fields)
        record["item_name"] = record["name"]
        self.data.items.put(index, record)
        self._emit("items", "created", record)
        return record["item_id"]

    def update_item(self, item_id: str, **changes: Any) -> Record:
        """Change fields; a new ``stock_on_hand`` is a stock count: it is spread over the
        locations afresh (use :meth:`set_item_stock` for one location's stock)."""
        index = self.data.index(self.data.items, item_id)
        record = self.data.items.get_copy(index)
        record.update(changes)
        if "stock_on_hand" in changes:
            self.data.stock.pop(index, None)
            if record.get("item_type") == "inventory" and "available_stock" not in changes:
                split = self.data.gen.location_split(index, record["stock_on_hand"])
                record["available_stock"] = available_stock(split)
        record["item_name"] = record["name"]
        record["last_modified_time"] = self.data.now()
        self.data.items.put(index, record)
        self._emit("items", "edited", record)
        return copy.deepcopy(record)

    def deactivate_item(self, item_id: str) -> Record:
        return self.update_item(item_id, status="inactive")

    def activate_item(self, item_id: str) -> Record:
        return self.update_item(item_id, status="active")

    reactivate_item = activate_item

    def delete_item(self, item_id: str) -> None:
        self._delete(self.data.items, "items", item_id)

    def _delete(self, table: Table, module: str, record_id: str) -> None:
        index = self.data.index(table, record_id)
        record = table.get_copy(index)
        table.delete(index)
        self._emit(module, "deleted", record)

    # ----- contacts ----------------------------------------------------------------------
    def add_contact(self, **fields: Any) -> str:
        """Create a contact; a ``contact_id`` in ``fields`` is used as its ID."""
        index = _allocate(self.data.contacts, fields.get("contact_id"))
        record = self.data.gen.contact_detail(0)
        now = self.data.now()
        name = fields.get("contact_name", f"New customer {index}")
        record.update(
            contact_id=self.data.contacts.id_of(index),
            contact_name=name,
            customer_name=name,
            company_name=name,
            created_time=now,
            last_modified_time=now,
        )
        record.update(fields)
        self.data.contacts.put(index, record)
        self._emit("contacts", "created", record)
        return record["contact_id"]

    def update_contact(self, contact_id: str, **changes: Any) -> Record:
        index = self.data.index(self.data.contacts, contact_id)
        record = self.data.contacts.get_copy(index)
        record.update(changes)
        record["last_modified_time"] = self.data.now()
        self.data.contacts.put(index, record)
        self._emit("contacts", "edited", record)
        return copy.deepcopy(record)

    def delete_contact(self, contact_id: str) -> None:
        self._delete(self.data.contacts, "contacts", contact_id)

    # ----- invoices ----------------------------------------------------------------------
    def _invoice_moves(self, invoice: Record | None, sign: int) -> None:
        """Stock out (``sign`` -1) or back in (1) for an invoice's inventory lines, when
        ``SimConfig.invoices_move_stock`` (as Zoho does for an invoice of inventory items)."""
        config = getattr(self, "config", None)
        if invoice is None or not config or not config.invoices_move_stock:
            return
        if invoice.get("status") in ("draft", "void"):
            return
        for line in invoice.get("line_items", []):
            index = self.data.items.index_of(str(line.get("item_id") or ""))
            if index is None or self.data.items.get(index).get("item_type") != "inventory":
                continue
            self.data.move_stock(index, {0: sign * float(line["quantity"])})

    def _save_invoice(self, index: int, invoice: Record, event: str = "edited") -> Record:
        recompute_invoice(invoice)
        invoice["last_modified_time"] = self.data.now()
        before = None if event == "created" else self.data.invoices.get_copy(index)
        self._invoice_moves(before, 1)
        self._invoice_moves(invoice, -1)
        self.data.invoices.put(index, invoice)
        self._emit("invoices", event, invoice)
        return copy.deepcopy(invoice)

    def _new_line(
        self,
        index: int,
        invoice: Record,
        item_id: str,
        quantity: float,
        rate: float | None,
        discount: float,
    ) -> Record:
        item = self.data.items.get(self.data.index(self.data.items, item_id))
        with self.data.lock:
            slot = self.data.line_slots.get(index)
            if slot is None:
                used = [
                    parse_id(KIND_LINE_ITEM, li["line_item_id"]) or 0
                    for li in invoice["line_items"]
                ]
                slot = max((u - index * LINE_ITEM_SLOTS for u in used), default=-1) + 1
            if slot >= LINE_ITEM_SLOTS:
                raise ValueError("too many line items added to one invoice")
            self.data.line_slots[index] = slot + 1
        if rate is None:
            iqd = invoice["currency_code"] == "IQD"
            rate = item["rate"] if iqd else round(item["rate"] / USD_IQD, 2)
        return make_line_item(
            line_item_id=make_id(KIND_LINE_ITEM, index * LINE_ITEM_SLOTS + slot),
            item=item,
            rate=rate,
            quantity=quantity,
            discount=discount,
            order=len(invoice["line_items"]) + 1,
            currency=invoice["currency_code"],
        )

    def add_invoice(
        self,
        customer_id: str | None = None,
        lines: list[Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> str:
        """Create an invoice for ``customer_id`` with ``lines`` ({item_id, quantity, rate?});
        an ``invoice_id`` in ``fields`` is used as its ID."""
        index = _allocate(self.data.invoices, fields.get("invoice_id"))
        invoice = self.data.gen.invoice_detail(0)
        contacts = self.data.contacts
        customer_index = (
            self.data.index(contacts, customer_id) if customer_id else next(contacts.indices())
        )
        customer = contacts.get(customer_index)
        now = self.data.now()
        invoice.update(
            invoice_id=self.data.invoices.id_of(index),
            invoice_number=f"INV-{index + 1:06d}",
            customer_id=customer["contact_id"],
            customer_name=customer["contact_name"],
            currency_code=customer["currency_code"],
            exchange_rate=1.0 if customer["currency_code"] == "IQD" else USD_IQD,
            pricebook_id=customer.get("pricebook_id", ""),
            status="draft",
            date=format_date(self.data.clock.epoch()),
            due_date=format_date(self.data.clock.epoch() + 30 * 86_400),
            created_time=now,
            line_items=[],
        )
        invoice.update(fields)
        if lines is None:
            lines = [{"item_id": self.data.active_item_ids()[0], "quantity": 1}]
        for line in lines:
            invoice["line_items"].append(
                self._new_line(
                    index,
                    invoice,
                    line["item_id"],
                    line.get("quantity", 1),
                    line.get("rate"),
                    line.get("discount", 0),
                )
            )
        self._save_invoice(index, invoice, "created")
        return invoice["invoice_id"]

    def update_invoice(self, invoice_id: str, **changes: Any) -> Record:
        """Edit header fields (status, date, shipping_charge, adjustment, discount...)."""
        index = self.data.index(self.data.invoices, invoice_id)
        invoice = self.data.invoices.get_copy(index)
        invoice.update(changes)
        return self._save_invoice(index, invoice)

    def add_invoice_line(
        self,
        invoice_id: str,
        item_id: str,
        quantity: float = 1,
        rate: float | None = None,
        discount: float = 0,
    ) -> str:
        index = self.data.index(self.data.invoices, invoice_id)
        invoice = self.data.invoices.get_copy(index)
        line = self._new_line(index, invoice, item_id, quantity, rate, discount)
        invoice["line_items"].append(line)
        self._save_invoice(index, invoice)
        return line["line_item_id"]

    def update_invoice_line(self, invoice_id: str, line_item_id: str, **changes: Any) -> Record:
        """Change quantity / rate / discount of one line; item_total is recomputed."""
        index = self.data.index(self.data.invoices, invoice_id)
        invoice = self.data.invoices.get_copy(index)
        line = _find_line(invoice, line_item_id)
        line.update(changes)
        rebuilt = make_line_item(
            line_item_id=line["line_item_id"],
            item=line,
            rate=line["rate"],
            quantity=line["quantity"],
            discount=line["discount"],
            order=line["item_order"],
            currency=invoice["currency_code"],
        )
        line.update(rebuilt)
        return self._save_invoice(index, invoice)

    def remove_invoice_line(self, invoice_id: str, line_item_id: str) -> Record:
        index = self.data.index(self.data.invoices, invoice_id)
        invoice = self.data.invoices.get_copy(index)
        line = _find_line(invoice, line_item_id)
        invoice["line_items"].remove(line)
        return self._save_invoice(index, invoice)

    def delete_invoice(self, invoice_id: str) -> None:
        index = self.data.index(self.data.invoices, invoice_id)
        self._invoice_moves(self.data.invoices.get_copy(index), 1)
        self._delete(self.data.invoices, "invoices", invoice_id)

    # ----- stock -------------------------------------------------------------------------
    def set_item_stock(
        self, item_id: str, stock_on_hand: float, location_id: str | None = None
    ) -> Record:
        """Set one location's stock on hand (the primary location by default); the item's
        ``stock_on_hand``/``available_stock`` follow and its ``last_modified_time`` is now.
        No webhook: Zoho fires workflow rules on a user's edit of the item, not on stock."""
        index = self.data.index(self.data.items, item_id)
        loc = _location_index(location_id)
        current = self.data.location_stock(index).get(loc, [0, 0])[0]
        return copy.deepcopy(self.data.move_stock(index, {loc: stock_on_hand - current}))

    def item_location_stock(self, item_id: str) -> dict[str, float]:
        """``{location_id: stock on hand}`` of one item, as its detail reports it."""
        index = self.data.index(self.data.items, item_id)
        return {location_id(loc): pair[0] for loc, pair in self.data.location_stock(index).items()}

    def post_inventory_adjustment(
        self,
        lines: list[Mapping[str, Any]],
        reason: str = "Stock count",
        location_id: str | None = None,
        date: str | None = None,
        reference_number: str | None = None,
        adjustment_type: str = "quantity",
        **fields: Any,
    ) -> str:
        """Post an inventory adjustment: each line ``{item_id, quantity_adjusted,
        location_id?}`` adds its quantity (negative: takes away) to the item's stock at
        the line's location (else the adjustment's, else the primary one), so the item's
        ``stock_on_hand`` moves by exactly the adjustment; a ``value`` adjustment moves
        no quantity. Fires the ``inventoryadjustments`` ``created`` webhook with
        ``{"inventory_adjustment": {...}}``. Returns ``inventory_adjustment_id``."""
        if adjustment_type not in ("quantity", "value"):
            raise ValueError("adjustment_type is 'quantity' or 'value'")
        if not lines:
            raise ValueError("an adjustment needs at least one line")
        header_loc = _location_index(location_id)
        with self.data.lock:
            n = len(self.data.adjustments)
            adjustment_id = make_id(KIND_ADJUSTMENT, n)
            moves: list[tuple[int, int, float]] = []
            out_lines: list[Record] = []
            total = 0.0
            for k, line in enumerate(lines):
                index = self.data.index(self.data.items, str(line["item_id"]))
                item = self.data.items.get(index)
                if item.get("item_type") != "inventory":
                    raise ValueError(f"item {line['item_id']} is not an inventory item")
                loc = (
                    _location_index(line["location_id"]) if line.get("location_id") else header_loc
                )
                quantity = line.get("quantity_adjusted", 0) if adjustment_type == "quantity" else 0
                cost = item.get("purchase_rate")
                cost = float(cost) if cost not in ("", None) else float(item.get("rate") or 0)
                item_total = money(float(line.get("value", cost * float(quantity))), 0)
                total += item_total
                moves.append((index, loc, quantity))
                out_lines.append(
                    {
                        "line_item_id": make_id(KIND_ADJUSTMENT_LINE, n * LINE_ITEM_SLOTS + k),
                        "item_id": item["item_id"],
                        "name": item["name"],
                        "description": "",
                        "quantity_adjusted": quantity,
                        "item_total": item_total,
                        "unit": item.get("unit", ""),
                        "location_id": _location_id(loc),
                        "location_name": catalog.LOCATIONS[loc],
                    }
                )
            now = self.data.now()
            record: Record = {
                "inventory_adjustment_id": adjustment_id,
                "date": date or format_date(self.data.clock.epoch()),
                "reason": reason,
                "reason_id": make_id(KIND_MISC, 200 + _reason_index(reason)),
                "description": "",
                "reference_number": reference_number
                if reference_number is not None
                else f"ADJ-{n + 1:05d}",
                "adjustment_type": adjustment_type,
                "location_id": _location_id(header_loc),
                "location_name": catalog.LOCATIONS[header_loc],
                "status": "adjusted",
                "total": money(total, 0),
                "line_items": out_lines,
                "created_time": now,
                "last_modified_time": now,
            }
            record.update(fields)
            for index, loc, quantity in moves:
                if quantity:
                    self.data.move_stock(index, {loc: quantity})
            self.data.adjustments.append(record)
        self._emit("inventoryadjustments", "created", record)
        return adjustment_id

    # ----- bills -------------------------------------------------------------------------
    def _bill_moves(self, bill: Record, sign: int) -> None:
        """Stock in (``sign`` 1) or back out (-1) for a bill's catalogue goods lines."""
        if not getattr(self, "config", None) or not self.config.bills_move_stock:
            return
        if bill.get("status") in ("draft", "void"):
            return
        for line in bill.get("line_items", []):
            index = self.data.items.index_of(str(line.get("item_id") or ""))
            if index is None or self.data.items.get(index).get("item_type") != "inventory":
                continue
            loc = _location_index(line.get("location_id") or None)
            self.data.move_stock(index, {loc: sign * float(line["quantity"])})

    def _save_bill(self, index: int, bill: Record, before: Record | None, event: str) -> Record:
        recompute_bill(bill)
        bill["last_modified_time"] = self.data.now()
        if before is not None:
            self._bill_moves(before, -1)
        self._bill_moves(bill, 1)
        self.data.bills.put(index, bill)
        self._emit("bills", event, bill)
        return copy.deepcopy(bill)

    def _new_bill_line(self, index: int, bill: Record, line: Mapping[str, Any]) -> Record:
        with self.data.lock:
            slot = self.data.bill_line_slots.get(index)
            if slot is None:
                used = [
                    parse_id(KIND_BILL_LINE, li["line_item_id"]) or 0 for li in bill["line_items"]
                ]
                slot = max((u - index * LINE_ITEM_SLOTS for u in used), default=-1) + 1
            if slot >= LINE_ITEM_SLOTS:
                raise ValueError("too many line items added to one bill")
            self.data.bill_line_slots[index] = slot + 1
        item_id = str(line.get("item_id") or "")
        usd = bill["currency_code"] != "IQD"
        if item_id:
            item_index = self.data.items.index_of(item_id)
            if item_index is not None:
                item = dict(self.data.items.get(item_index))
            else:  # an item no catalogue holds: Zoho keeps the line as entered
                item = {"item_id": item_id, "name": line.get("name", "Unknown item")}
        else:
            item = {"item_id": "", "name": line.get("name", catalog.BILL_EXPENSES[0])}
        rate = line.get("rate")
        if rate is None:
            cost = item.get("purchase_rate") or item.get("rate") or 0
            rate = round(float(cost) / USD_IQD, 2) if usd else float(cost)
        loc = _location_index(line.get("location_id") or None)
        return make_bill_line(
            line_item_id=make_id(KIND_BILL_LINE, index * LINE_ITEM_SLOTS + slot),
            item=item,
            rate=rate,
            quantity=line.get("quantity", 1),
            order=len(bill["line_items"]) + 1,
            currency=bill["currency_code"],
            location=loc if item["item_id"] else None,
        )

    def add_bill(
        self,
        vendor_id: str | None = None,
        lines: list[Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> str:
        """Create a bill from ``vendor_id`` (default: the first vendor) with ``lines``
        ({item_id (empty or unknown allowed), quantity, rate?, name?, location_id?}); a
        ``bill_id`` in ``fields`` is used as its ID. Its goods enter stock (see
        ``SimConfig.bills_move_stock``); fires the ``bills`` ``created`` webhook."""
        index = _allocate(self.data.bills, fields.get("bill_id"))
        contacts = self.data.contacts
        if vendor_id:
            vendor = contacts.get(self.data.index(contacts, vendor_id))
        else:
            vendor = next(
                (
                    contacts.get(c)
                    for c in contacts.indices()
                    if contacts.key(c, "contact_type") == "vendor"
                ),
                contacts.get(next(contacts.indices())),
            )
        currency = fields.get("currency_code", "IQD")
        now = self.data.now()
        bill: Record = {
            "bill_id": self.data.bills.id_of(index),
            "bill_number": f"BILL-{index + 1:06d}",
            "reference_number": "",
            "vendor_id": vendor["contact_id"],
            "vendor_name": vendor["contact_name"],
            "status": "open",
            "date": format_date(self.data.clock.epoch()),
            "due_date": format_date(self.data.clock.epoch() + 30 * 86_400),
            "currency_id": make_id(KIND_MISC, 100 if currency == "IQD" else 101),
            "currency_code": currency,
            "exchange_rate": 1.0 if currency == "IQD" else USD_IQD,
            "created_time": now,
            "last_modified_time": now,
            "line_items": [],
            "notes": "",
            "terms": "Net 30",
        }
        bill.update(fields)
        if lines is None:
            lines = [{"item_id": self.data.active_item_ids()[0], "quantity": 10}]
        for line in lines:
            bill["line_items"].append(self._new_bill_line(index, bill, line))
        self._save_bill(index, bill, None, "created")
        return str(bill["bill_id"])

    def update_bill(self, bill_id: str, **changes: Any) -> Record:
        """Edit header fields (status, reference_number, date...); totals are recomputed."""
        index = self.data.index(self.data.bills, bill_id)
        before = self.data.bills.get_copy(index)
        bill = copy.deepcopy(before)
        bill.update(changes)
        return self._save_bill(index, bill, before, "edited")

    def add_bill_line(self, bill_id: str, item_id: str, quantity: float = 1, **line: Any) -> str:
        index = self.data.index(self.data.bills, bill_id)
        before = self.data.bills.get_copy(index)
        bill = copy.deepcopy(before)
        new = self._new_bill_line(index, bill, {"item_id": item_id, "quantity": quantity, **line})
        bill["line_items"].append(new)
        self._save_bill(index, bill, before, "edited")
        return str(new["line_item_id"])

    def update_bill_line(self, bill_id: str, line_item_id: str, **changes: Any) -> Record:
        """Change quantity / rate of one bill line; item_total and the sums follow."""
        index = self.data.index(self.data.bills, bill_id)
        before = self.data.bills.get_copy(index)
        bill = copy.deepcopy(before)
        _find_line(bill, line_item_id).update(changes)
        return self._save_bill(index, bill, before, "edited")

    def remove_bill_line(self, bill_id: str, line_item_id: str) -> Record:
        index = self.data.index(self.data.bills, bill_id)
        before = self.data.bills.get_copy(index)
        bill = copy.deepcopy(before)
        bill["line_items"].remove(_find_line(bill, line_item_id))
        return self._save_bill(index, bill, before, "edited")

    def delete_bill(self, bill_id: str) -> None:
        """Delete a bill (its goods leave stock again); fires ``bills`` ``deleted``."""
        index = self.data.index(self.data.bills, bill_id)
        self._bill_moves(self.data.bills.get(index), -1)
        self._delete(self.data.bills, "bills", bill_id)

    # ----- price lists -------------------------------------------------------------------
    def add_pricebook(self, **fields: Any) -> str:
        index = self.data.pricebooks.allocate()
        record = self.data.gen.pricebook_header(0)
        currency = fields.get("currency_code", "IQD")
        record.update(
            pricebook_id=self.data.pricebooks.id_of(index),
            name=f"New list {index}",
            currency_code=currency,
            currency_id=make_id(KIND_MISC, 100 if currency == "IQD" else 101),
            decimal_place=0 if currency == "IQD" else 2,
            status="active",
        )
        record.update(fields)
        self.data.pricebooks.put(index, record)
        now = int(self.data.clock.epoch())
        self.data.pricebook_created_modified[index] = (now, now)
        return record["pricebook_id"]

    def update_pricebook(self, pricebook_id: str, **changes: Any) -> Record:
        index = self.data.index(self.data.pricebooks, pricebook_id)
        record = self.data.pricebooks.get_copy(index)
        record.update(changes)
        self.data.pricebooks.put(index, record)
        self.data.touch_pricebook(index)
        return copy.deepcopy(record)

    def delete_pricebook(self, pricebook_id: str) -> None:
        self.data.pricebooks.delete(self.data.index(self.data.pricebooks, pricebook_id))

    def set_pricebook_item(
        self,
        pricebook_id: str,
        item_id: str,
        pricebook_rate: float,
        pricebook_discount: str = "",
        price_brackets: list[Record] | None = None,
    ) -> None:
        """Add an item to a per_item list or change its row (volume when brackets given)."""
        k = self.data.index(self.data.pricebooks, pricebook_id)
        i = self.data.index(self.data.items, item_id)
        row = {
            "pricebook_rate": pricebook_rate,
            "pricebook_discount": pricebook_discount,
            "pricing_scheme": "volume" if price_brackets else "unit",
            "price_brackets": list(price_brackets or []),
        }
        self.data.set_entry(k, i, row)

    def remove_pricebook_item(self, pricebook_id: str, item_id: str) -> None:
        k = self.data.index(self.data.pricebooks, pricebook_id)
        i = self.data.index(self.data.items, item_id)
        if i not in self.data.pricebook_item_indices(k):
            raise NotFound(item_id)
        self.data.set_entry(k, i, None)

    # ----- bulk edits for benchmarks -----------------------------------------------------
    def change_fraction(self, fraction: float, seed: int = 0) -> Changes:
        """Edit about ``fraction`` of items, contacts and invoices; return the IDs touched.

        Mostly updates, with a few deletions, additions and (de)activations, the mix a
        day of real use produces.
        """
        rng = random.Random(seed)
        changes = {
            "items": self._change_items(fraction, rng),
            "contacts": self._change_contacts(fraction, rng),
            "invoices": self._change_invoices(fraction, rng),
        }
        # bills draw from their own stream: the edits above stay what they always were
        changes["bills"] = self._change_bills(fraction, random.Random(f"bills-{seed}"))
        return changes

    @staticmethod
    def _sample(table: Table, fraction: float, rng: random.Random) -> list[int]:
        count = round(fraction * len(table))
        if count <= 0:
            return []
        pool = rng.sample(range(table.next_index), min(table.next_index, count * 2 + 10))
        return [i for i in pool if table.exists(i)][:count]

    def _change_items(self, fraction: float, rng: random.Random) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {
            "updated": [],
            "deactivated": [],
            "reactivated": [],
            "deleted": [],
            "added": [],
        }
        for i in self._sample(self.data.items, fraction, rng):
            item_id = self.data.items.id_of(i)
            roll = rng.random()
            if roll < 0.05:
                self.delete_item(item_id)
                out["deleted"].append(item_id)
            elif roll < 0.15:
                if self.data.items.key(i, "status") == "active":
                    self.deactivate_item(item_id)
                    out["deactivated"].append(item_id)
                else:
                    self.activate_item(item_id)
                    out["reactivated"].append(item_id)
            else:
                rate = self.data.items.get(i)["rate"]
                self.update_item(item_id, rate=rate + 250 * rng.randint(1, 8))
                out["updated"].append(item_id)
        for _ in range(round(fraction * len(self.data.items) * 0.05)):
            out["added"].append(self.add_item(rate=250 * rng.randint(1, 400)))
        return out

    def _change_contacts(self, fraction: float, rng: random.Random) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"updated": [], "deleted": [], "added": []}
        for i in self._sample(self.data.contacts, fraction, rng):
            contact_id = self.data.contacts.id_of(i)
            if rng.random() < 0.05:
                self.delete_contact(contact_id)
                out["deleted"].append(contact_id)
            else:
                self.update_contact(contact_id, phone=f"+964 750 {rng.randint(100, 999)} 0000")
                out["updated"].append(contact_id)
        for _ in range(round(fraction * len(self.data.contacts) * 0.05)):
            out["added"].append(self.add_contact(contact_name=f"عميل جديد {rng.randint(0, 10**9)}"))
        return out

    def _change_invoices(self, fraction: float, rng: random.Random) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"updated": [], "lines_changed": [], "deleted": [], "added": []}
        active = None
        for i in self._sample(self.data.invoices, fraction, rng):
            invoice_id = self.data.invoices.id_of(i)
            roll = rng.random()
            if roll < 0.05:
                self.delete_invoice(invoice_id)
                out["deleted"].append(invoice_id)
            elif roll < 0.45:
                invoice = self.data.invoices.get(i)
                line = rng.choice(invoice["line_items"]) if invoice["line_items"] else None
                if line is not None and rng.random() < 0.5:
                    self.update_invoice_line(
                        invoice_id, line["line_item_id"], quantity=line["quantity"] + 1
                    )
                else:
                    active = active or self.data.active_item_ids()
                    self.add_invoice_line(invoice_id, rng.choice(active), rng.randint(1, 5))
                out["lines_changed"].append(invoice_id)
            else:
                self.update_invoice(invoice_id, status=rng.choice(["sent", "paid", "overdue"]))
                out["updated"].append(invoice_id)
        added = round(fraction * len(self.data.invoices) * 0.05)
        if added:
            active = active or self.data.active_item_ids()
            customers = [
                c
                for c in list(self.data.contacts.indices())[:50]
                if self.data.contacts.get(c)["contact_type"] == "customer"
            ]
            for _ in range(added):
                customer = self.data.contacts.id_of(rng.choice(customers))
                lines = [{"item_id": rng.choice(active), "quantity": rng.randint(1, 9)}]
                out["added"].append(self.add_invoice(customer, lines, status="sent"))
        return out

    def _change_bills(self, fraction: float, rng: random.Random) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"updated": [], "deleted": [], "added": []}
        for i in self._sample(self.data.bills, fraction, rng):
            bill_id = self.data.bills.id_of(i)
            if rng.random() < 0.05:
                self.delete_bill(bill_id)
                out["deleted"].append(bill_id)
            else:
                self.update_bill(bill_id, status=rng.choice(["open", "paid", "overdue"]))
                out["updated"].append(bill_id)
        added = round(fraction * len(self.data.bills) * 0.05)
        items = self.data.items
        for _ in range(added):
            # a random live item, found without scanning a million-item catalogue
            index = rng.randrange(items.next_index)
            while not items.exists(index):
                index = rng.randrange(items.next_index)
            lines = [{"item_id": items.id_of(index), "quantity": rng.randint(1, 48)}]
            out["added"].append(self.add_bill(lines=lines))
        return out


def _allocate(table: Table, record_id: str | None) -> int:
    """A fresh index, under the caller's chosen ID when one is given."""
    index = table.allocate()
    if record_id is not None:
        table.assign_id(index, str(record_id))
    return index


def _location_index(location: str | None) -> int:
    """Index of a location ID (None: the primary location); unknown IDs are an error."""
    if location is None:
        return 0
    index = parse_id(KIND_LOCATION, str(location))
    if index is None or index >= len(catalog.LOCATIONS):
        raise ValueError(f"unknown location_id {location!r}")
    return index


def _location_id(index: int) -> str:
    return location_id(index)


def _reason_index(reason: str) -> int:
    try:
        return catalog.ADJUSTMENT_REASONS.index(reason)
    except ValueError:
        return len(catalog.ADJUSTMENT_REASONS)


def _find_line(invoice: Record, line_item_id: str) -> Record:
    for line in invoice["line_items"]:
        if line["line_item_id"] == line_item_id:
            return line
    raise NotFound(line_item_id)
