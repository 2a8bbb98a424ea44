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

from .catalog import USD_IQD
from .dataset import Changes, Dataset, NotFound
from .formats import KIND_LINE_ITEM, KIND_MISC, LINE_ITEM_SLOTS, format_date, make_id, parse_id
from .generate import Record, make_line_item, recompute_invoice
from .table import Table


class Edits:
    """Mutations of the data set; the host class provides ``data``.

    Item, contact and invoice edits report themselves to ``_emit`` (the simulator's
    workflow-rule webhooks) with the record as it is after the edit (as it was, for a
    deletion)."""

    data: Dataset

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
        index = self.data.index(self.data.items, item_id)
        record = self.data.items.get_copy(index)
        record.update(changes)
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
    def _save_invoice(self, index: int, invoice: Record, event: str = "edited") -> Record:
        recompute_invoice(invoice)
        invoice["last_modified_time"] = self.data.now()
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
        self._delete(self.data.invoices, "invoices", invoice_id)

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
        return {
            "items": self._change_items(fraction, rng),
            "contacts": self._change_contacts(fraction, rng),
            "invoices": self._change_invoices(fraction, rng),
        }

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


def _allocate(table: Table, record_id: str | None) -> int:
    """A fresh index, under the caller's chosen ID when one is given."""
    index = table.allocate()
    if record_id is not None:
        table.assign_id(index, str(record_id))
    return index


def _find_line(invoice: Record, line_item_id: str) -> Record:
    for line in invoice["line_items"]:
        if line["line_item_id"] == line_item_id:
            return line
    raise NotFound(line_item_id)
