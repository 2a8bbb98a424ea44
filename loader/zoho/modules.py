"""The Zoho Books modules the loader reads, each declared once (docs/adding-a-module.md).

A module's `name` is its one name everywhere: the dlt resource that lists it, the raw
table it lands in, the budget planner's name for it, the webhook module Zoho sends, what
`--resources` and `loader status` show. Its declaration says what the rest of the loader
needs to know about it:

- `tables`: the raw tables its resources write (declared in loader/zoho/contract/), first
  the listing's own;
- `endpoint`, `list_key`, `params`, `modified_filter`, `page_size`: how it is listed, and
  whether Zoho filters the listing server-side by `last_modified_time`;
- `refresh` and `cost`: how the budget planner (loader/run/budget/) schedules it and what one
  refresh costs in calls;
- `webhook`: whether the webhook receiver applies its events (the payload's key is
  `singular`: `{"item": {...}}`);
- `deletion_check`: the complete ID listing that finds its records deleted in Zoho (Zoho
  has no deleted-records endpoint), and the tables that follow a deleted record.

Readers: loader/zoho/source.py and resources/ (the listing), loader/run/budget/ (costs and
cadence), loader/run/pipeline.py and the CLI (resource names), loader/webhooks/config.py
(applied modules and payload keys). Pure data: importing it calls nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# Zoho's maximum `per_page`: every listing asks for it (fewest calls).
PAGE_SIZE = 200
# One detail call per invoice; 300 a run is 28,800 a day at a 15-minute schedule when a
# backfill is pending, and nothing once it is done (DETAILS_BUDGET, --details-budget).
DEFAULT_DETAILS_BUDGET = 300

# How the budget planner schedules a module's listing:
#   every_run  incremental (a modified filter or newest first): one call when little changed
#   daily      re-read once a day (organizations)
#   cadence    a complete listing, as often as the day's budget pays for (at most every run)
Refresh = Literal["every_run", "daily", "cadence"]


@dataclass(frozen=True)
class Cost:
    """Calls of one refresh, from what the warehouse holds (the planner's `Sizes`, named by
    field): `calls`, plus the pages of `pages_of` rows, plus one call per `one_per` row."""

    calls: int = 0
    pages_of: str | None = None
    one_per: str | None = None


@dataclass(frozen=True)
class DeletionCheck:
    """The complete ID listing that finds a module's records deleted in Zoho, run at the
    planner's cadence (at most daily). `children`: tables keyed by the same id that follow
    a deleted record's fate."""

    name: str
    cost: Cost
    params: Mapping[str, str] = field(default_factory=dict)
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class Module:
    name: str
    singular: str  # the detail answer's key, the webhook payload's key, `<singular>_id`
    tables: tuple[str, ...]
    endpoint: str
    list_key: str
    refresh: Refresh
    cost: Cost
    resources: tuple[str, ...] = ()  # the dlt resources writing `tables` (default: the tables)
    params: Mapping[str, str] = field(default_factory=dict)
    modified_filter: bool = False  # Zoho filters the listing by `last_modified_time`
    page_size: int = PAGE_SIZE
    webhook: bool = False  # the receiver applies its events
    # webhooks delivering its changes make its complete listing a daily safety net
    webhook_safety_net: bool = False
    deletion_check: DeletionCheck | None = None
    priority: int = 0  # every_run modules: lower runs first when calls are short

    @property
    def id_column(self) -> str:
        return f"{self.singular}_id"

    @property
    def resource_names(self) -> tuple[str, ...]:
        return self.resources or self.tables

    def list_params(self, **extra: str) -> dict[str, str]:
        """The listing's query parameters (the page size included)."""
        return {"per_page": str(self.page_size), **self.params, **extra}


CONTACT_DELETIONS = DeletionCheck(
    "contact_deletions", Cost(pages_of="contacts"), {"filter_by": "Status.All"}
)
INVOICE_DELETIONS = DeletionCheck(
    "invoice_deletions",
    Cost(pages_of="invoices"),
    children=("invoice_details", "invoice_line_items"),
)
BILL_DELETIONS = DeletionCheck(
    "bill_deletions",
    Cost(pages_of="bills"),
    children=("bill_details", "bill_line_items"),
)

ORGANIZATIONS = Module(
    name="organizations",
    singular="organization",
    tables=("organizations",),
    endpoint="/organizations",
    list_key="organizations",
    refresh="daily",
    cost=Cost(calls=1),
)
ITEMS = Module(
    name="items",
    singular="item",
    tables=("items",),
    endpoint="/items",
    list_key="items",
    params={"filter_by": "Status.All"},
    refresh="cadence",
    cost=Cost(pages_of="items"),
    webhook=True,
    webhook_safety_net=True,
)
CONTACTS = Module(
    name="contacts",
    singular="contact",
    tables=("contacts",),
    endpoint="/contacts",
    list_key="contacts",
    # newest first: a run stops at the first page reaching below its cursor
    params={"sort_column": "last_modified_time", "sort_order": "D", "filter_by": "Status.All"},
    refresh="every_run",
    cost=Cost(calls=1),
    webhook=True,
    deletion_check=CONTACT_DELETIONS,
    priority=1,
)
INVOICES = Module(
    name="invoices",
    singular="invoice",
    tables=("invoices",),
    endpoint="/invoices",
    list_key="invoices",
    modified_filter=True,
    refresh="every_run",
    cost=Cost(calls=1),
    webhook=True,
    deletion_check=INVOICE_DELETIONS,
    priority=0,
)
PRICEBOOKS = Module(
    name="pricebooks",
    singular="pricebook",
    tables=("pricebooks", "pricebook_items"),
    endpoint="/pricebooks",
    list_key="pricebooks",
    refresh="cadence",
    cost=Cost(calls=1, one_per="per_item_pricebooks"),  # the listing + each per_item list
)
BILLS = Module(
    name="bills",
    singular="bill",  # GET /bills/{id} answers {"bill": ...}; webhook payload key
    tables=("bills",),
    endpoint="/bills",
    list_key="bills",
    modified_filter=True,  # Zoho filters by last_modified_time server-side
    refresh="every_run",  # incremental: one call a run when little changed
    cost=Cost(calls=1),
    webhook=True,
    deletion_check=BILL_DELETIONS,
    priority=2,  # after invoices and contacts when calls are short
)

MODULES: tuple[Module, ...] = (ORGANIZATIONS, ITEMS, CONTACTS, INVOICES, PRICEBOOKS, BILLS)
BY_NAME: dict[str, Module] = {m.name: m for m in MODULES}


@dataclass(frozen=True)
class Reading:
    """A module's records read one detail call each for what its listing lacks, paid from
    the run's details budget after invoices and bills (docs/decisions.md, "Stock per
    location"). `cost`: the calls to read every record awaiting it (a `Sizes` field);
    `share`: the part of the details budget it may take while invoice or bill details wait."""

    name: str
    module: Module
    resources: tuple[str, ...]  # the tables it writes, the version stamp's first
    cost: Cost
    share: float


@dataclass(frozen=True)
class WebhookLanded:
    """A Zoho module with no listing: the receiver stores its events raw
    (`webhook_events`, module `webhook_module`, payload key `singular`) and each run lands
    the new ones into `resources` (no API call)."""

    name: str
    webhook_module: str
    singular: str
    resources: tuple[str, ...]

    @property
    def id_column(self) -> str:
        return f"{self.singular}_id"


# Stock per location: one GET /items/{id} per inventory item changed since its last reading.
ITEM_STOCK = Reading(
    name="item_stock",
    module=ITEMS,
    resources=("item_stock_readings", "item_locations"),
    cost=Cost(one_per="pending_item_stock"),
    share=0.1,
)
READINGS: tuple[Reading, ...] = (ITEM_STOCK,)
# Inventory adjustments: Zoho Books has no listing of them, only the webhook.
INVENTORY_ADJUSTMENTS = WebhookLanded(
    name="inventory_adjustments",
    webhook_module="inventoryadjustments",
    singular="inventory_adjustment",
    resources=("inventory_adjustments", "inventory_adjustment_line_items"),
)
WEBHOOK_LANDED: tuple[WebhookLanded, ...] = (INVENTORY_ADJUSTMENTS,)
WEBHOOK_LANDED_RESOURCES = tuple(r for w in WEBHOOK_LANDED for r in w.resources)

# Details: one detail call per invoice, bill or reading awaiting it, at most the details
# budget a run, invoices first (not a listing: the planner gives them what listings leave).
# The planner's one name for them all is INVOICE_DETAILS.
INVOICE_DETAILS = "invoice_details"
INVOICE_DETAIL_RESOURCES = ("invoice_details", "invoice_line_items")
BILL_DETAIL_RESOURCES = ("bill_details", "bill_line_items")
READING_RESOURCES = tuple(r for reading in READINGS for r in reading.resources)
DETAIL_RESOURCES = INVOICE_DETAIL_RESOURCES + BILL_DETAIL_RESOURCES + READING_RESOURCES

# The loader's resource names (`--resources`): the listings, the details, and the deletion
# checks, which run when the planner schedules them or when named.
LIST_RESOURCES = tuple(r for m in MODULES for r in m.resource_names) + WEBHOOK_LANDED_RESOURCES
ALL_RESOURCES = LIST_RESOURCES + DETAIL_RESOURCES
DELETION_CHECKS: tuple[tuple[Module, DeletionCheck], ...] = tuple(
    (m, m.deletion_check) for m in MODULES if m.deletion_check is not None
)
RECONCILE_RESOURCES = tuple(check.name for _, check in DELETION_CHECKS)

# Modules whose webhook events the receiver's worker applies, and their payload keys.
WEBHOOK_PAYLOAD_KEYS: dict[str, str] = {m.name: m.singular for m in MODULES if m.webhook}


def planned_resources(name: str) -> tuple[str, ...]:
    """The loader's resources behind one of the planner's names (a module, a deletion
    check, invoice details)."""
    if name in BY_NAME:
        return BY_NAME[name].resource_names
    if name == INVOICE_DETAILS:
        return DETAIL_RESOURCES
    if name in RECONCILE_RESOURCES:
        return (name,)
    raise KeyError(f"no Zoho module, deletion check or details named {name!r}")
