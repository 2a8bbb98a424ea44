"""Deterministic, index-addressed record generator.

Every base record is a pure function of ``(seed, index)``: nothing is materialised up
front, so a million-item catalogue costs no memory until a page is served, and the same
seed always yields the same organisation. Edits live in :mod:`zoho_sim.table` overlays.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

from . import catalog
from .config import Scale
from .formats import (
    KIND_BILL,
    KIND_BILL_LINE,
    KIND_CONTACT,
    KIND_INVOICE,
    KIND_ITEM,
    KIND_LINE_ITEM,
    KIND_LOCATION,
    KIND_MISC,
    KIND_PRICEBOOK,
    KIND_PRICEBOOK_ITEM,
    LINE_ITEM_SLOTS,
    PRICEBOOK_ITEM_SLOTS,
    format_date,
    format_ts,
    make_id,
    mix64,
    money,
    parse_ts,
)

Record = dict[str, Any]

ROLE_COVERED = 0
ROLE_UNCOVERED = 1
ROLE_ZERO = 2
ROLE_INACTIVE_LISTED = 3
ROLE_INACTIVE_UNLISTED = 4

DATA_START = parse_ts("2023-01-01T08:00:00+0300")
INVOICE_START = parse_ts("2025-01-01T08:00:00+0300")
CLOCK_START = parse_ts("2025-11-01T09:00:00+0300")
"""The simulator clock's first instant; every base record is older than it."""

SALT_ITEM, SALT_CONTACT, SALT_INVOICE, SALT_LINE = 11, 23, 37, 41
SALT_BILL, SALT_BILL_LINE, SALT_STOCK = 53, 59, 61
"""Bills and stock draw from their own hash streams: adding them changed no earlier record."""
BILL_START = parse_ts("2025-01-02T08:00:00+0300")
COGS_ACCOUNT_ID = make_id(KIND_MISC, 2)
COGS_ACCOUNT_NAME = "Cost of Goods Sold"
UNKNOWN_ITEM_BASE = 10**10
"""Index of the first item ID that no catalogue holds (a bill line for a deleted item)."""
BILL_STATUSES: tuple[tuple[str, int], ...] = (
    ("draft", 5),
    ("open", 30),
    ("overdue", 15),
    ("paid", 40),
    ("partially_paid", 7),
    ("void", 3),
)
BILL_DETAIL_ONLY = ("line_items", "sub_total", "tax_total", "notes", "terms")
TAX_ID = make_id(KIND_MISC, 1)
TAX_NAME = "ضريبة المبيعات"
TAX_PERCENT = 5.0
COMBOS = len(catalog.PRODUCTS) * len(catalog.VARIANTS) * len(catalog.SIZES)
INVOICE_STATUSES: tuple[tuple[str, int], ...] = (
    ("draft", 10),
    ("sent", 20),
    ("overdue", 15),
    ("paid", 40),
    ("partially_paid", 10),
    ("void", 5),
)
TIME_COLUMNS = frozenset({"created_time", "last_modified_time"})
NUMBER_COLUMNS = frozenset({"rate", "total", "balance", "outstanding_receivable_amount"})

INVOICE_DETAIL_ONLY = (
    "line_items",
    "sub_total",
    "tax_total",
    "discount_total",
    "shipping_charge",
    "adjustment",
    "pricebook_id",
    "bcy_sub_total",
    "bcy_tax_total",
    "bcy_discount_total",
    "bcy_shipping_charge",
    "bcy_adjustment",
    "bcy_total",
    "notes",
    "terms",
)
CONTACT_DETAIL_ONLY = (
    "pricebook_id",
    "pricebook_name",
    "billing_address",
    "shipping_address",
    "contact_persons",
    "notes",
    "custom_fields",
)


def _coprime_step(n: int, start: int) -> int:
    """A multiplier coprime with ``n``: ``i -> (a*i + b) % n`` is then a permutation."""
    a = start % max(n, 1) or 1
    while math.gcd(a, n) != 1:
        a += 1
    return a


def _pick(options: tuple[str, ...], h: int) -> str:
    return options[h % len(options)]


def sort_key_from_record(record: Record, column: str) -> Any:
    """Sort key of an edited (overlay) record; base records use the faster generators.

    Zoho lists records with hostile values without error, so every value gets a key of
    the column's type: a null or non-text value in a text column sorts as ``""`` / its
    text (nulls first ascending, last descending, then by ID); a number column's null,
    ``""`` or non-number as 0; a time column's unreadable value as the epoch (the oldest).
    """
    value = record.get(column)
    if column in TIME_COLUMNS:
        try:
            return parse_ts(value)
        except (TypeError, ValueError, IndexError):
            return 0
    if column in NUMBER_COLUMNS:
        try:
            number = float(value or 0)
        except (TypeError, ValueError):
            return 0.0
        return number if math.isfinite(number) else 0.0
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


class Generator:
    """Builds Zoho-shaped records of one organisation from indexes."""

    def __init__(self, seed: int, scale: Scale) -> None:
        self.seed = seed
        self.scale = scale
        plan = scale.items
        self.n_items = plan.total
        self.n_contacts = scale.contacts
        self.n_invoices = scale.invoices
        self._role_bounds = (
            plan.covered,
            plan.covered + plan.uncovered,
            plan.covered + plan.uncovered + plan.zero,
            plan.covered + plan.uncovered + plan.zero + plan.inactive_listed,
        )
        self._zero_start = self._role_bounds[1]
        self._role_a = _coprime_step(self.n_items, 7919 + seed * 104_729)
        self._role_b = mix64(seed, 1) % max(self.n_items, 1)
        self._combo_a = _coprime_step(COMBOS, 1031 + seed * 613)
        self._item_span = CLOCK_START - 30 * 86_400 - DATA_START
        self._invoice_span = CLOCK_START - 86_400 - INVOICE_START
        self.pricebooks = catalog.PRICEBOOKS

    # ----- items -------------------------------------------------------------------------
    def item_hash(self, i: int) -> int:
        return mix64(self.seed, SALT_ITEM, i)

    def _role_position(self, i: int) -> int:
        return (self._role_a * i + self._role_b) % self.n_items

    def item_role(self, i: int) -> int:
        """Which population the base item belongs to (decides status, rate, lists)."""
        return self._role_at(self._role_position(i))

    def _role_at(self, position: int) -> int:
        for role, bound in enumerate(self._role_bounds):
            if position < bound:
                return role
        return ROLE_INACTIVE_UNLISTED

    def item_name(self, i: int) -> str:
        position = self._role_position(i)
        return self._item_name(i, self._role_at(position), position)

    def _item_name(self, i: int, role: int, position: int) -> str:
        if role == ROLE_ZERO:
            return self._zero_item_name(position - self._zero_start)
        combo = (self._combo_a * (i % COMBOS) + self.seed) % COMBOS
        sizes, variants = len(catalog.SIZES), len(catalog.VARIANTS)
        name = (
            f"{catalog.PRODUCTS[combo // (sizes * variants)]} "
            f"{catalog.VARIANTS[(combo // sizes) % variants]} {catalog.SIZES[combo % sizes]}"
        )
        return name if i < COMBOS else f"{name} #{i // COMBOS + 1}"

    @staticmethod
    def _zero_item_name(ordinal: int) -> str:
        """The rate-0 items: a service, a discontinued product, then shipping fees."""
        if ordinal == 0:
            return "خدمة تركيب Installation service"
        if ordinal == 1:
            return "Discontinued: Nescafé Classic 50g (متوقف)"
        zone = ordinal - 2
        name = catalog.SHIPPING_ZONES[zone % len(catalog.SHIPPING_ZONES)]
        return name if zone < len(catalog.SHIPPING_ZONES) else f"{name} #{zone + 1}"

    @staticmethod
    def _rate(role: int, h: int) -> int:
        """Selling price in IQD (base currency), a multiple of 250 dinars; 0 for fees."""
        return 0 if role == ROLE_ZERO else (h % 400 + 1) * 250

    def item_rate(self, i: int) -> int:
        return self._rate(self.item_role(i), self.item_hash(i))

    def item_status(self, i: int) -> str:
        return "inactive" if self.item_role(i) >= ROLE_INACTIVE_LISTED else "active"

    def item_created(self, i: int) -> int:
        return DATA_START + (i * self._item_span) // max(self.n_items, 1)

    def item_modified(self, i: int) -> int:
        return self._modified(self.item_created(i), self.item_hash(i))

    @staticmethod
    def _modified(created: int, h: int) -> int:
        return created + (h >> 13) % (CLOCK_START - created - 3600)

    def item_key(self, i: int, column: str) -> Any:
        """Sort key of a base item without building the whole record (fast for 1M rows)."""
        if column == "name":
            return self.item_name(i)
        if column == "rate":
            return float(self.item_rate(i))
        if column == "created_time":
            return self.item_created(i)
        if column == "last_modified_time":
            return self.item_modified(i)
        if column == "status":
            return self.item_status(i)
        return sort_key_from_record(self.item_record(i), column)

    def item_record(self, i: int) -> Record:
        h = self.item_hash(i)
        position = self._role_position(i)
        role = self._role_at(position)
        rate = self._rate(role, h)
        is_service = role == ROLE_ZERO
        discontinued = is_service and position - self._zero_start == 1
        name = self._item_name(i, role, position)
        created = self.item_created(i)
        taxable = not is_service and (h >> 7) % 5 == 0
        purchase_rate: float | str = "" if (h >> 9) % 20 == 0 else round(rate * 0.8 / 250) * 250
        stock: float | str = "" if is_service or (h >> 11) % 20 == 0 else (h >> 40) % 500
        if discontinued:
            stock = 0
        image = (h >> 15) % 3 == 0
        item_type = "sales" if is_service and not discontinued else "inventory"
        record: Record = {
            "item_id": make_id(KIND_ITEM, i),
            "name": name,
            "item_name": name,
            "sku": "" if (h >> 17) % 25 == 0 else f"BG-{(h >> 20) % 90000 + 10000}-{i}",
            "status": "inactive" if role >= ROLE_INACTIVE_LISTED else "active",
            "rate": rate,
            "purchase_rate": purchase_rate,
            "unit": _pick(catalog.UNITS, h >> 23),
            "product_type": "service" if is_service and not discontinued else "goods",
            "item_type": item_type,
            "description": "No longer sold"
            if discontinued
            else _pick(catalog.DESCRIPTIONS, h >> 26),
            "tax_id": TAX_ID if taxable else "",
            "tax_name": TAX_NAME if taxable else "",
            "tax_percentage": TAX_PERCENT if taxable else 0,
            "is_taxable": taxable,
            "stock_on_hand": stock,
            "account_name": "Sales",
            "image_name": f"item_{i}.jpg" if image else "",
            "image_document_id": make_id(KIND_MISC, 1000 + i) if image else "",
            "custom_fields": [
                {
                    "customfield_id": make_id(KIND_MISC, 11),
                    "api_name": "cf_brand",
                    "label": "Brand",
                    "data_type": "string",
                    "index": 1,
                    "value": _pick(catalog.BRANDS, h >> 29),
                },
                {
                    "customfield_id": make_id(KIND_MISC, 12),
                    "api_name": "cf_origin",
                    "label": "Origin / المنشأ",
                    "data_type": "string",
                    "index": 2,
                    "value": _pick(catalog.ORIGINS, h >> 33),
                },
            ],
            "created_time": format_ts(created),
            "last_modified_time": format_ts(self._modified(created, h)),
        }
        if item_type == "inventory":
            record["available_stock"] = available_stock(self.location_split(i, stock))
        return record

    # ----- stock -------------------------------------------------------------------------
    def location_split(self, i: int, stock: Any) -> dict[int, list[float]]:
        """Item ``i``'s stock per location: ``{location: [on_hand, committed]}``, summing to
        ``stock``; empty for an item without stock (a service, an untracked item)."""
        try:
            total = float(stock)
        except (TypeError, ValueError):
            return {}
        if not math.isfinite(total):
            return {}
        total = int(total) if total == int(total) else total
        h = mix64(self.seed, SALT_STOCK, i)
        count = 1 + h % len(catalog.LOCATIONS)
        shares: dict[int, list[float]] = {}
        left = total
        for loc in range(count - 1, 0, -1):
            part = int((h >> (8 + 12 * loc)) % (max(int(left), 0) + 1)) // 2
            shares[loc] = [part, 0]
            left -= part
        shares[0] = [left, 0]
        for loc, share in shares.items():
            share[1] = min(max(int(share[0]), 0), (h >> (44 + 4 * loc)) % 4)
        return dict(sorted(shares.items()))

    def stock_shape(self, i: int, setting: str) -> str:
        """``locations`` or ``warehouses`` for item ``i``'s detail (see ``item_stock_shape``)."""
        if setting != "mixed":
            return setting
        return "warehouses" if mix64(self.seed, SALT_STOCK, i, 1) % 5 == 0 else "locations"

    # ----- price lists -------------------------------------------------------------------
    def pricebook_header(self, k: int) -> Record:
        d = self.pricebooks[k]
        return {
            "pricebook_id": make_id(KIND_PRICEBOOK, k),
            "name": d.name,
            "description": d.description,
            "currency_id": make_id(KIND_MISC, 100 if d.currency_code == "IQD" else 101),
            "currency_code": d.currency_code,
            "decimal_place": 0 if d.currency_code == "IQD" else 2,
            "status": d.status,
            "pricebook_type": d.pricebook_type,
            "sales_or_purchase_type": d.sales_or_purchase_type,
            "percentage": d.percentage,
            "is_increase": d.is_increase,
            "rounding_type": d.rounding_type,
        }

    def all_pricebook_members(self) -> dict[int, array]:
        """Rows of every base per_item list, by list index, in item order."""
        lists = [
            (k, d.key) for k, d in enumerate(self.pricebooks) if d.pricebook_type == "per_item"
        ]
        members: dict[int, array] = {k: array("q") for k, _ in lists}
        for i in range(self.n_items):
            role = self.item_role(i)
            if role == ROLE_INACTIVE_UNLISTED:
                continue
            h = self.item_hash(i)
            for k, key in lists:
                if _member(key, role, h):
                    members[k].append(i)
        return members

    def pricebook_member(self, k: int, i: int) -> bool:
        """Does base list ``k`` name base item ``i``?"""
        if i >= self.n_items or k >= len(self.pricebooks):
            return False
        return _member(self.pricebooks[k].key, self.item_role(i), self.item_hash(i))

    def pricebook_item_id(self, k: int, i: int) -> str:
        return make_id(KIND_PRICEBOOK_ITEM, k * PRICEBOOK_ITEM_SLOTS + i)

    def pricebook_entry(self, k: int, i: int) -> Record:
        """The list-specific part of a base list row: rate, discount, scheme, brackets."""
        d = self.pricebooks[k]
        h = mix64(self.seed, 97, k, i)
        base = float(self.item_rate(i))
        if d.key == "supplier_costs":
            base = base * d.rate_factor
            factor = 1.0
        else:
            factor = d.rate_factor * (1 + ((h % 11) - 5) / 100)
        rate = _list_rate(base * factor, d.currency_code)
        discount = ""
        if d.key == "retail" and (h >> 8) % 10 == 0:
            discount = "5%"
        elif d.key == "consumer" and (h >> 12) % 20 == 0:
            discount = "1000"
        brackets: list[Record] = []
        if d.key in ("wholesale_a", "wholesale_b") and (h >> 16) % 5 == 0:
            brackets = [
                {"start_quantity": 1, "end_quantity": 9, "pricebook_rate": rate},
                {
                    "start_quantity": 10,
                    "end_quantity": 49,
                    "pricebook_rate": _list_rate(base * factor * 0.95, d.currency_code),
                },
                {
                    "start_quantity": 50,
                    "end_quantity": "",
                    "pricebook_rate": _list_rate(base * factor * 0.9, d.currency_code),
                },
            ]
        return {
            "pricebook_rate": rate,
            "pricebook_discount": discount,
            "pricing_scheme": "volume" if brackets else "unit",
            "price_brackets": brackets,
        }

    # ----- contacts ----------------------------------------------------------------------
    def contact_hash(self, i: int) -> int:
        return mix64(self.seed, SALT_CONTACT, i)

    def contact_is_vendor(self, i: int) -> bool:
        return i % 10 == 9

    def contact_name(self, i: int) -> str:
        n_prefix, n_names = len(catalog.BUSINESS_PREFIXES), len(catalog.BUSINESS_NAMES)
        n_city = len(catalog.CITIES)
        combos = n_prefix * n_names * n_city
        c = (i * 37 + self.seed) % combos
        prefix = catalog.BUSINESS_PREFIXES[c % n_prefix]
        name = f"{prefix} {catalog.BUSINESS_NAMES[(c // n_prefix) % n_names]}"
        if c >= n_prefix * n_names:
            name = f"{name} - {catalog.CITIES[c // (n_prefix * n_names)]}"
        if self.contact_is_vendor(i):
            name = f"{name} (مورد)"
        return name if i < combos else f"{name} #{i // combos + 1}"

    def contact_pricebook(self, i: int) -> int | None:
        """Index of the customer's assigned sales list; None means the default (Consumer)."""
        if self.contact_is_vendor(i):
            return None
        c = self.contact_hash(i) % 100
        if c < 30:
            return 1  # Wholesale A USD
        if c < 50:
            return 3  # Retail IQD
        if c < 55:
            return 2  # Wholesale B USD
        return None

    def contact_currency(self, i: int) -> str:
        pb = self.contact_pricebook(i)
        return self.pricebooks[pb].currency_code if pb is not None else "IQD"

    def contact_created(self, i: int) -> int:
        return DATA_START + (i * self._item_span) // max(self.n_contacts, 1) + 3600

    def contact_modified(self, i: int) -> int:
        created = self.contact_created(i)
        return created + (self.contact_hash(i) >> 13) % (CLOCK_START - created - 3600)

    def contact_key(self, i: int, column: str) -> Any:
        if column == "contact_name":
            return self.contact_name(i)
        if column == "created_time":
            return self.contact_created(i)
        if column == "last_modified_time":
            return self.contact_modified(i)
        if column == "status":
            return self.contact_status(i)
        if column == "contact_type":
            return "vendor" if self.contact_is_vendor(i) else "customer"
        return sort_key_from_record(self.contact_detail(i), column)

    def contact_status(self, i: int) -> str:
        return "inactive" if (self.contact_hash(i) >> 32) % 20 == 0 else "active"

    def contact_detail(self, i: int) -> Record:
        h = self.contact_hash(i)
        vendor = self.contact_is_vendor(i)
        pb = self.contact_pricebook(i)
        first = _pick(catalog.FIRST_NAMES, h >> 8)
        last = _pick(catalog.LAST_NAMES, h >> 12)
        city = _pick(catalog.CITIES, h >> 16)
        currency = self.contact_currency(i)
        email = "" if (h >> 20) % 8 == 0 else f"orders.{i}+books@example.iq"
        address = {
            "attention": f"{first} {last}",
            "address": f"Street {(h >> 24) % 90 + 1}, شارع {(h >> 28) % 40 + 1}",
            "city": city,
            "state": "",
            "zip": "",
            "country": "Iraq",
            "phone": "",
        }
        status = self.contact_status(i)
        amount = 0 if vendor else (h >> 36) % 2000 * 1000
        return {
            "contact_id": make_id(KIND_CONTACT, i),
            "contact_name": self.contact_name(i),
            "customer_name": self.contact_name(i),
            "vendor_name": self.contact_name(i) if vendor else "",
            "company_name": self.contact_name(i).split(" - ")[0],
            "contact_type": "vendor" if vendor else "customer",
            "customer_sub_type": "business",
            "status": status,
            "first_name": first,
            "last_name": last,
            "currency_id": make_id(KIND_MISC, 100 if currency == "IQD" else 101),
            "currency_code": currency,
            "email": email,
            "phone": f"+964 770 {(h >> 40) % 900 + 100} {(h >> 44) % 9000 + 1000}",
            "mobile": "",
            "payment_terms": 30,
            "outstanding_receivable_amount": amount
            if currency == "IQD"
            else round(amount / 1310, 2),
            "unused_credits_receivable_amount": "",
            "created_time": format_ts(self.contact_created(i)),
            "last_modified_time": format_ts(self.contact_modified(i)),
            "pricebook_id": make_id(KIND_PRICEBOOK, pb) if pb is not None else "",
            "pricebook_name": self.pricebooks[pb].name if pb is not None else "",
            "billing_address": address,
            "shipping_address": dict(address),
            "contact_persons": [
                {
                    "contact_person_id": make_id(KIND_MISC, 10_000_000 + i),
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "phone": "",
                    "is_primary_contact": True,
                }
            ],
            "notes": _pick(catalog.NOTES, h >> 48),
            "custom_fields": [],
        }

    # ----- invoices ----------------------------------------------------------------------
    def invoice_hash(self, i: int) -> int:
        return mix64(self.seed, SALT_INVOICE, i)

    def invoice_created(self, i: int) -> int:
        jitter = self.invoice_hash(i) % 3600
        return INVOICE_START + (i * self._invoice_span) // max(self.n_invoices, 1) + jitter

    def invoice_status(self, i: int) -> str:
        roll = (self.invoice_hash(i) >> 8) % 100
        for status, weight in INVOICE_STATUSES:
            if roll < weight:
                return status
            roll -= weight
        return "paid"

    def invoice_modified(self, i: int) -> int:
        created = self.invoice_created(i)
        if self.invoice_status(i) == "draft":
            return created
        room = min(60 * 86_400, CLOCK_START - created - 60)
        return created + (self.invoice_hash(i) >> 16) % room

    def invoice_key(self, i: int, column: str) -> Any:
        if column == "created_time":
            return self.invoice_created(i)
        if column == "last_modified_time":
            return self.invoice_modified(i)
        if column == "date":
            return format_date(self.invoice_created(i))
        if column == "invoice_number":
            return f"INV-{i + 1:06d}"
        if column == "status":
            return self.invoice_status(i)
        return sort_key_from_record(self.invoice_detail(i), column)

    def _invoice_customer(self, i: int) -> int:
        c = self.invoice_hash(i) % self.n_contacts
        return c - 1 if self.contact_is_vendor(c) else c

    def _line_item_index(self, i: int, n: int) -> int:
        """A covered (active, priced) catalogue item for line ``n`` of invoice ``i``."""
        j = mix64(self.seed, SALT_LINE, i, n) % self.n_items
        for _ in range(64):
            if self.item_role(j) == ROLE_COVERED:
                return j
            j = (j + 1) % self.n_items
        return j

    def _line_rate(self, item: int, pb: int | None, currency: str) -> float:
        if pb is not None and self.pricebook_member(pb, item):
            return self.pricebook_entry(pb, item)["pricebook_rate"]
        return _list_rate(float(self.item_rate(item)), currency)

    def invoice_detail(self, i: int) -> Record:
        h = self.invoice_hash(i)
        customer = self._invoice_customer(i)
        pb = self.contact_pricebook(customer)
        currency = self.contact_currency(customer)
        n_lines = (h >> 24) % 8 + 1
        lines = []
        for n in range(n_lines):
            item = self._line_item_index(i, n)
            lh = mix64(self.seed, SALT_LINE, i, n, 1)
            line = make_line_item(
                line_item_id=make_id(KIND_LINE_ITEM, i * LINE_ITEM_SLOTS + n),
                item=self.item_record(item),
                rate=self._line_rate(item, pb, currency),
                quantity=lh % 24 + 1,
                discount=(0, 0, 0, 5, 10)[(lh >> 8) % 5],
                order=n + 1,
                currency=currency,
            )
            lines.append(line)
        created = self.invoice_created(i)
        iqd = currency == "IQD"
        header: Record = {
            "invoice_id": make_id(KIND_INVOICE, i),
            "invoice_number": f"INV-{i + 1:06d}",
            "reference_number": "" if (h >> 32) % 3 else f"PO-{(h >> 36) % 100000}",
            "customer_id": make_id(KIND_CONTACT, customer),
            "customer_name": self.contact_name(customer),
            "status": self.invoice_status(i),
            "date": format_date(created),
            "due_date": format_date(created + 30 * 86_400),
            "currency_id": make_id(KIND_MISC, 100 if iqd else 101),
            "currency_code": currency,
            "exchange_rate": 1.0 if iqd else catalog.USD_IQD,
            "created_time": format_ts(created),
            "last_modified_time": format_ts(self.invoice_modified(i)),
            "pricebook_id": make_id(KIND_PRICEBOOK, pb) if pb is not None else "",
            "line_items": lines,
            "shipping_charge": 0 if (h >> 40) % 4 else (5000 if iqd else 4.0),
            "adjustment": 0 if (h >> 44) % 6 else (-250 if iqd else -0.5),
            "discount": 0 if (h >> 48) % 5 else 2,
            "discount_type": "entity_level",
            "notes": _pick(catalog.NOTES, h >> 52),
            "terms": "الدفع خلال 30 يوماً / Net 30",
        }
        return recompute_invoice(header)

    # ----- bills -------------------------------------------------------------------------
    @property
    def n_bills(self) -> int:
        return self.scale.bills

    def bill_hash(self, i: int) -> int:
        return mix64(self.seed, SALT_BILL, i)

    def bill_created(self, i: int) -> int:
        span = CLOCK_START - 86_400 - BILL_START
        return BILL_START + (i * span) // max(self.n_bills, 1) + self.bill_hash(i) % 3600

    def bill_status(self, i: int) -> str:
        roll = (self.bill_hash(i) >> 8) % 100
        for status, weight in BILL_STATUSES:
            if roll < weight:
                return status
            roll -= weight
        return "paid"

    def bill_modified(self, i: int) -> int:
        created = self.bill_created(i)
        if self.bill_status(i) == "draft":
            return created
        room = min(45 * 86_400, CLOCK_START - created - 60)
        return created + (self.bill_hash(i) >> 16) % room

    def bill_vendor(self, i: int) -> int:
        """A vendor contact (every tenth contact is one); the last contact when none is."""
        vendors = (self.n_contacts + 0) // 10
        if vendors == 0:
            return self.n_contacts - 1
        return (self.bill_hash(i) % vendors) * 10 + 9

    def bill_key(self, i: int, column: str) -> Any:
        if column == "created_time":
            return self.bill_created(i)
        if column == "last_modified_time":
            return self.bill_modified(i)
        if column == "date":
            return format_date(self.bill_created(i))
        if column == "bill_number":
            return f"BILL-{i + 1:06d}"
        if column == "status":
            return self.bill_status(i)
        if column == "vendor_id":
            return make_id(KIND_CONTACT, self.bill_vendor(i))
        return sort_key_from_record(self.bill_detail(i), column)

    def _bill_goods_item(self, j: int) -> int:
        """A goods item of the catalogue at or after ``j`` (not a service or a fee)."""
        for _ in range(64):
            if self.item_role(j) != ROLE_ZERO:
                return j
            j = (j + 1) % self.n_items
        return j

    def bill_line(self, i: int, n: int, currency: str) -> Record:
        """Line ``n`` of bill ``i``: mostly a catalogue item at about its purchase cost;
        some lines name no item (freight, customs) and a few an item no catalogue holds."""
        lh = mix64(self.seed, SALT_BILL_LINE, i, n)
        roll = lh % 100
        quantity = (lh >> 24) % 48 + 1
        if roll < 7:
            expense = _pick(catalog.BILL_EXPENSES, lh >> 8)
            item: Record = {
                "item_id": "",
                "name": expense,
                "description": "",
                "sku": "",
                "unit": "",
                "tax_id": "",
                "tax_name": "",
                "tax_percentage": 0,
            }
            cost = float((lh >> 12) % 200 + 1) * 1000
            quantity = 1
        elif roll < 10:
            index = UNKNOWN_ITEM_BASE + (lh >> 8) % 1_000_000
            item = {
                "item_id": make_id(KIND_ITEM, index),
                "name": f"Discontinued import {index - UNKNOWN_ITEM_BASE} (deleted item)",
                "description": "",
                "sku": "",
                "unit": "carton",
                "tax_id": "",
                "tax_name": "",
                "tax_percentage": 0,
            }
            cost = float((lh >> 12) % 100 + 1) * 500
        else:
            j = self._bill_goods_item((lh >> 8) % self.n_items)
            item = self.item_record(j)
            base = item["purchase_rate"] if item["purchase_rate"] != "" else item["rate"] * 0.8
            cost = float(base) * (1 + (((lh >> 16) % 11) - 5) / 100)
        location = 0 if (lh >> 30) % 4 else 1 + (lh >> 32) % (len(catalog.LOCATIONS) - 1)
        return make_bill_line(
            line_item_id=make_id(KIND_BILL_LINE, i * LINE_ITEM_SLOTS + n),
            item=item,
            rate=_list_rate(cost, currency),
            quantity=quantity,
            order=n + 1,
            currency=currency,
            location=location if item["item_id"] else None,
        )

    def bill_detail(self, i: int) -> Record:
        h = self.bill_hash(i)
        vendor = self.bill_vendor(i)
        usd = (h >> 32) % 4 == 0
        currency = "USD" if usd else "IQD"
        lines = [self.bill_line(i, n, currency) for n in range((h >> 24) % 6 + 1)]
        created = self.bill_created(i)
        bill: Record = {
            "bill_id": make_id(KIND_BILL, i),
            "bill_number": f"BILL-{i + 1:06d}",
            "reference_number": "" if (h >> 36) % 5 == 0 else f"VINV-{(h >> 40) % 900000 + 100000}",
            "vendor_id": make_id(KIND_CONTACT, vendor),
            "vendor_name": self.contact_name(vendor),
            "status": self.bill_status(i),
            "date": format_date(created),
            "due_date": format_date(created + 30 * 86_400),
            "currency_id": make_id(KIND_MISC, 101 if usd else 100),
            "currency_code": currency,
            "exchange_rate": catalog.USD_IQD if usd else 1.0,
            "created_time": format_ts(created),
            "last_modified_time": format_ts(self.bill_modified(i)),
            "line_items": lines,
            "notes": _pick(catalog.NOTES, h >> 48),
            "terms": "Net 30",
        }
        return recompute_bill(bill)


def _member(key: str, role: int, h: int) -> bool:
    """Base list membership by the item's role and hash.

    Built so that an active item is in some active sales per_item list exactly when its
    role is "covered": Consumer takes ~97 % of them and the rest are guaranteed a place in
    Wholesale A or Retail. Uncovered and zero-rate items only reach the inactive list and
    the purchases list, which do not price a sale.
    """
    c = h % 100
    if key == "consumer":
        return (role == ROLE_COVERED and c < 97) or (role == ROLE_INACTIVE_LISTED and c < 60)
    if key == "wholesale_a":
        return (role == ROLE_COVERED and ((h >> 8) % 100 < 40 or c in (97, 98))) or (
            role == ROLE_INACTIVE_LISTED and c >= 60
        )
    if key == "wholesale_b":
        return role == ROLE_COVERED and (h >> 24) % 100 < 20
    if key == "retail":
        return role == ROLE_COVERED and ((h >> 16) % 100 < 50 or c == 99)
    if key == "old_prices":
        return (role == ROLE_COVERED and c < 30) or (
            role in (ROLE_UNCOVERED, ROLE_ZERO) and (h >> 8) % 2 == 0
        )
    if key == "supplier_costs":
        return (
            (role == ROLE_COVERED and (h >> 32) % 100 < 60)
            or (role == ROLE_UNCOVERED and (h >> 16) % 3 == 0)
            or role == ROLE_INACTIVE_LISTED
        )
    return False


def _list_rate(value: float, currency: str) -> float | int:
    """A price in a list's currency: IQD to the nearest 250 dinars, USD to the cent."""
    if currency == "IQD":
        return int(round(value / 250) * 250)
    return money(value / catalog.USD_IQD, 2)


def make_line_item(
    *,
    line_item_id: str,
    item: Record,
    rate: float,
    quantity: float,
    discount: float,
    order: int,
    currency: str,
) -> Record:
    """One invoice line; ``discount`` is a percentage of rate x quantity."""
    places = 0 if currency == "IQD" else 2
    gross = rate * quantity
    discount_amount = money(gross * discount / 100, places)
    return {
        "line_item_id": line_item_id,
        "item_id": item["item_id"],
        "name": item["name"],
        "description": item["description"],
        "sku": item["sku"],
        "item_order": order,
        "rate": rate,
        "quantity": quantity,
        "unit": item["unit"],
        "discount": discount,
        "discount_amount": discount_amount,
        "item_total": money(gross - discount_amount, places),
        "tax_id": item["tax_id"],
        "tax_name": item["tax_name"],
        "tax_percentage": item["tax_percentage"],
        "product_type": item["product_type"],
    }


def recompute_invoice(invoice: Record) -> Record:
    """Derive totals from lines: sub_total = sum(item_total) and
    total = sub_total + tax_total + shipping_charge + adjustment - discount_total,
    rounded to the currency (0 places for IQD, 2 for USD); balance follows status."""
    places = 0 if invoice["currency_code"] == "IQD" else 2
    lines = invoice["line_items"]
    for order, line in enumerate(lines, start=1):
        line["item_order"] = order
    sub_total = money(sum(line["item_total"] for line in lines), places)
    tax_total = money(
        sum(line["item_total"] * (line["tax_percentage"] or 0) / 100 for line in lines), places
    )
    discount_total = money(sub_total * (invoice.get("discount") or 0) / 100, places)
    total = money(
        sub_total + tax_total + invoice["shipping_charge"] + invoice["adjustment"] - discount_total,
        places,
    )
    status = invoice["status"]
    if status in ("paid", "void"):
        balance: float | int = 0
    elif status == "partially_paid":
        balance = money(total - total * 0.4, places)
    else:
        balance = total
    rate = invoice["exchange_rate"]
    invoice.update(
        sub_total=sub_total,
        tax_total=tax_total,
        discount_total=discount_total,
        total=total,
        balance=balance,
        bcy_sub_total=money(sub_total * rate, 0),
        bcy_tax_total=money(tax_total * rate, 0),
        bcy_discount_total=money(discount_total * rate, 0),
        bcy_shipping_charge=money(invoice["shipping_charge"] * rate, 0),
        bcy_adjustment=money(invoice["adjustment"] * rate, 0),
        bcy_total=money(total * rate, 0),
    )
    return invoice


def invoice_list_record(detail: Record) -> Record:
    """What ``GET /invoices`` shows of an invoice: the header without detail-only fields."""
    return {k: v for k, v in detail.items() if k not in INVOICE_DETAIL_ONLY}


def make_bill_line(
    *,
    line_item_id: str,
    item: Record,
    rate: float,
    quantity: float,
    order: int,
    currency: str,
    location: int | None,
) -> Record:
    """One bill line; ``location`` (an index into the locations) receives the goods."""
    places = 0 if currency == "IQD" else 2
    line: Record = {
        "line_item_id": line_item_id,
        "item_id": item["item_id"],
        "name": item["name"],
        "description": item.get("description", ""),
        "sku": item.get("sku", ""),
        "account_id": COGS_ACCOUNT_ID,
        "account_name": COGS_ACCOUNT_NAME,
        "item_order": order,
        "rate": rate,
        "quantity": quantity,
        "unit": item.get("unit", ""),
        "item_total": money(rate * quantity, places),
        "tax_id": item.get("tax_id", ""),
        "tax_name": item.get("tax_name", ""),
        "tax_percentage": item.get("tax_percentage", 0),
        "location_id": "",
        "location_name": "",
    }
    if location is not None:
        line["location_id"] = location_id(location)
        line["location_name"] = catalog.LOCATIONS[location]
    return line


def recompute_bill(bill: Record) -> Record:
    """sub_total = sum(item_total), tax_total from each line's tax, total = both; balance
    follows status (0 when paid or void, 40 % paid when partially paid)."""
    places = 0 if bill["currency_code"] == "IQD" else 2
    lines = bill["line_items"]
    for order, line in enumerate(lines, start=1):
        line["item_order"] = order
        line["item_total"] = money(float(line["rate"]) * float(line["quantity"]), places)
    sub_total = money(sum(line["item_total"] for line in lines), places)
    tax_total = money(
        sum(line["item_total"] * (line["tax_percentage"] or 0) / 100 for line in lines), places
    )
    total = money(sub_total + tax_total, places)
    status = bill["status"]
    if status in ("paid", "void"):
        balance: float | int = 0
    elif status == "partially_paid":
        balance = money(total * 0.6, places)
    else:
        balance = total
    bill.update(sub_total=sub_total, tax_total=tax_total, total=total, balance=balance)
    return bill


def bill_list_record(detail: Record) -> Record:
    """What ``GET /bills`` shows of a bill: the header without its lines and sums."""
    return {k: v for k, v in detail.items() if k not in BILL_DETAIL_ONLY}


def location_id(location: int) -> str:
    return make_id(KIND_LOCATION, location)


def available_stock(split: dict[int, list[float]]) -> float | str:
    """On hand less committed over all locations; ``""`` for an item without stock."""
    if not split:
        return ""
    return sum(on_hand - committed for on_hand, committed in split.values())


def stock_on_hand(split: dict[int, list[float]]) -> float | str:
    if not split:
        return ""
    return sum(on_hand for on_hand, _ in split.values())


def location_entries(split: dict[int, list[float]], shape: str) -> list[Record]:
    """The item detail's per-location stock: ``locations[]`` (``location_*`` fields) or
    ``warehouses[]`` (``warehouse_*``), the two names Zoho's docs use."""
    prefix = "location" if shape == "locations" else "warehouse"
    return [
        {
            f"{prefix}_id": location_id(loc),
            f"{prefix}_name": catalog.LOCATIONS[loc],
            "status": "active",
            "is_primary": loc == 0,
            f"{prefix}_stock_on_hand": on_hand,
            f"{prefix}_available_stock": on_hand - committed,
            f"{prefix}_actual_available_stock": on_hand - committed,
        }
        for loc, (on_hand, committed) in sorted(split.items())
    ]


def contact_list_record(detail: Record) -> Record:
    return {k: v for k, v in detail.items() if k not in CONTACT_DETAIL_ONLY}
