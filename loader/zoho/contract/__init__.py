"""THE declaration of the raw tables the loader writes into `zoho_staging`.

Every raw table is declared once here: its columns (name, type, one-line description), its
keys and how dlt merges it. Everything else follows from this module:

- the dlt hints of each resource (`dlt_hints(table)`, loader/zoho/contract/hints.py), so a
  column's type never depends on the first page dlt happens to see (an integer `rate`
  would send later fractions into a `rate__v_double` variant column);
- the dbt sources YAML and docs/staging-tables.md (`python -m loader.zoho.contract --write`
  regenerates both, loader/zoho/contract/docs.py; `--check` in `make lint` and
  tests/unit/loader/test_contract.py fail when they disagree);
- the empty raw tables the dbt integration tests load their fixture rows into (created by a
  real dlt pipeline with these hints, tests/integration/raw_tables.py).

Importing this module has no side effects (no dlt pipeline, no configuration), so the
webhook applier can use the same hints to write the same tables.

    from loader.zoho import contract
    contract.TABLES["items"].columns["rate"].type        # "decimal"
    contract.columns("items")                            # {"item_id": "text", ...}
    contract_hints.dlt_hints("items")                    # kwargs for dlt.resource(...)

The column types and the Column/Table classes are loader/zoho/contract/types.py.
"""

from __future__ import annotations

from loader.zoho.contract.types import Columns, ColumnType, Table, declare, per_organization

DLT_LOAD_ID_DESCRIPTION = "{{ doc('dlt_load_id') }}"


_CREATED: tuple[str, ColumnType, str] = (
    "created_time",
    "timestamp",
    "When the record was created in Zoho (UTC).",
)
_MODIFIED: tuple[str, ColumnType, str] = (
    "last_modified_time",
    "timestamp",
    "When the record last changed in Zoho (UTC); the newest copy of a record wins.",
)
_IS_DELETED: tuple[str, ColumnType, str] = (
    "is_deleted",
    "bool",
    "True once the record was missing from a complete listing (deleted in Zoho); never null.",
)
_DELETED_AT: tuple[str, ColumnType, str] = (
    "deleted_at",
    "timestamp",
    "Start of the run that found the record deleted.",
)
_CONTENT_HASH: tuple[str, ColumnType, str] = (
    "content_hash",
    "text",
    "Digest of the record's content: Zoho sends no modified time here, so a run writes a "
    "row only when this changes.",
)

ORGANIZATIONS = declare(
    "organizations",
    "One row per Zoho Books organization (the loader loads the configured one).",
    "organization_id",
    "merge; read on the first run, then once a day",
    [
        ("organization_id", "text", "Zoho's id of the organization (Settings -> Profile)."),
        ("name", "text", "The organization's name."),
        ("currency_code", "text", "The organization's base currency; item rates are in it."),
        ("currency_id", "text", "Zoho's id of the base currency."),
        ("time_zone", "text", "The organization's time zone (Zoho stamps times in it)."),
        ("is_default_org", "bool", "Whether this is the account's default organization."),
        ("fiscal_year_start_month", "bigint", "First month of the fiscal year (0 = January)."),
        ("price_precision", "bigint", "Decimal places Zoho shows for prices."),
    ],
)

ITEMS = declare(
    "items",
    "One row per Zoho item ever seen. Items missing from a complete listing are kept with "
    "`is_deleted` true.",
    "item_id",
    "merge; only new or changed rows; missing from a full listing and confirmed gone "
    "(`GET /items/{id}` answers 404, or missing from the next full listing too) -> `is_deleted`",
    [
        ("item_id", "text", "Zoho's id of the item (the product)."),
        ("name", "text", "The item's name as shown on invoices."),
        ("item_name", "text", "Zoho's second copy of the name (same as `name`)."),
        ("sku", "text", "Stock keeping unit; null when empty."),
        ("status", "text", "`active` or `inactive` (inactive items cannot be sold)."),
        ("rate", "decimal", "Selling price in the organization's base currency."),
        ("purchase_rate", "decimal", "Buying price in the base currency; null when blank."),
        ("unit", "text", "Unit of sale (pcs, box, kg...)."),
        ("product_type", "text", "`goods`, `service` or `digital_service`."),
        ("item_type", "text", "`sales`, `purchases`, `sales_and_purchases` or `inventory`."),
        ("description", "text", "Sales description of the item."),
        ("tax_id", "text", "Zoho's id of the item's default tax."),
        ("tax_name", "text", "Name of the item's default tax."),
        ("tax_percentage", "decimal", "Rate of the item's default tax, in percent."),
        ("is_taxable", "bool", "Whether sales of the item are taxed."),
        ("stock_on_hand", "decimal", "Quantity in stock (inventory items)."),
        (
            "available_stock",
            "decimal",
            "Stock on hand less what is committed to orders (inventory items).",
        ),
        ("account_name", "text", "Income account the item's sales are booked to."),
        ("image_name", "text", "File name of the item's image, if any."),
        ("image_document_id", "text", "Zoho's document id of the item's image."),
        ("custom_fields", "json", "The organization's custom fields of the item (jsonb)."),
        _CREATED,
        _MODIFIED,
        _IS_DELETED,
        _DELETED_AT,
    ],
    arrow=True,
)

CONTACTS = declare(
    "contacts",
    "One row per Zoho contact (customer or vendor).",
    "contact_id",
    "merge, newest first until the cursor",
    [
        ("contact_id", "text", "Zoho's id of the contact."),
        ("contact_name", "text", "Display name of the contact."),
        ("customer_name", "text", "Name as a customer (same as `contact_name` for customers)."),
        ("vendor_name", "text", "Name as a vendor (same as `contact_name` for vendors)."),
        ("company_name", "text", "The contact's company."),
        ("contact_type", "text", "`customer` or `vendor`."),
        ("customer_sub_type", "text", "`business` or `individual`."),
        ("status", "text", "`active` or `inactive`."),
        ("first_name", "text", "First name of the primary contact person."),
        ("last_name", "text", "Last name of the primary contact person."),
        ("currency_id", "text", "Zoho's id of the contact's currency."),
        ("currency_code", "text", "Currency the contact is invoiced in."),
        ("email", "text", "Email of the primary contact person."),
        ("phone", "text", "Phone number."),
        ("mobile", "text", "Mobile number."),
        ("payment_terms", "bigint", "Days to pay an invoice."),
        ("outstanding_receivable_amount", "decimal", "What the customer owes, base currency."),
        ("unused_credits_receivable_amount", "decimal", "Credits the customer has not used."),
        _CREATED,
        _MODIFIED,
        _IS_DELETED,
        _DELETED_AT,
    ],
    arrow=True,
    late_columns=("is_deleted", "deleted_at"),
)

INVOICES = declare(
    "invoices",
    "One row per Zoho invoice, as `GET /invoices` lists it.",
    "invoice_id",
    "merge, server-side `last_modified_time` filter",
    [
        ("invoice_id", "text", "Zoho's id of the invoice."),
        ("invoice_number", "text", "The invoice's number as printed (INV-000123)."),
        ("reference_number", "text", "The customer's reference (order number...)."),
        ("customer_id", "text", "The contact invoiced (contacts.contact_id)."),
        ("customer_name", "text", "The customer's name when the invoice was listed."),
        ("status", "text", "`draft`, `sent`, `overdue`, `paid`, `partially_paid`, `void`..."),
        ("date", "date", "Invoice date."),
        ("due_date", "date", "Payment due date."),
        ("currency_id", "text", "Zoho's id of the invoice's currency."),
        ("currency_code", "text", "Currency of the invoice's amounts."),
        ("exchange_rate", "decimal", "Base currency per unit of the invoice's currency."),
        ("discount", "decimal", "Invoice-level discount (percent or amount, see type)."),
        ("discount_type", "text", "`entity_level` or `item_level` discount."),
        ("total", "decimal", "Invoice total in its currency."),
        ("balance", "decimal", "What is still unpaid, in the invoice's currency."),
        _CREATED,
        _MODIFIED,
        _IS_DELETED,
        _DELETED_AT,
    ],
    arrow=True,
    late_columns=("is_deleted", "deleted_at"),
)

INVOICE_DETAILS = declare(
    "invoice_details",
    "One row per invoice whose detail (`GET /invoices/{id}`) was read: the amounts the "
    "listing does not show.",
    "invoice_id",
    "merge, one `GET /invoices/{id}` per new or changed invoice",
    [
        ("invoice_id", "text", "The invoice (invoices.invoice_id)."),
        (
            "last_modified_time",
            "timestamp",
            "The invoice's modified time when its detail was read (what 'pending' compares).",
        ),
        ("sub_total", "decimal", "Sum of the lines before tax, invoice currency."),
        ("tax_total", "decimal", "Tax of the invoice, invoice currency."),
        ("discount_total", "decimal", "Discounts of the invoice, invoice currency."),
        ("shipping_charge", "decimal", "Shipping charged, invoice currency."),
        ("adjustment", "decimal", "Manual adjustment (rounding...), invoice currency."),
        ("total", "decimal", "Invoice total, invoice currency."),
        ("bcy_sub_total", "decimal", "`sub_total` in the base currency."),
        ("bcy_tax_total", "decimal", "`tax_total` in the base currency."),
        ("bcy_discount_total", "decimal", "`discount_total` in the base currency."),
        ("bcy_shipping_charge", "decimal", "`shipping_charge` in the base currency."),
        ("bcy_adjustment", "decimal", "`adjustment` in the base currency."),
        ("bcy_total", "decimal", "`total` in the base currency."),
        ("pricebook_id", "text", "Price list the invoice was priced with, if any."),
        ("notes", "text", "Notes printed on the invoice."),
        ("terms", "text", "Terms and conditions printed on the invoice."),
        ("details_fetched_at", "timestamp", "When the loader read the detail (UTC)."),
        (
            "is_deleted",
            "bool",
            "True when Zoho answered 404 for an invoice still in `invoices`.",
        ),
    ],
    arrow=True,  # COPY: INSERT VALUES statements made the details load peak at 2x the data
)

INVOICE_LINE_ITEMS = declare(
    "invoice_line_items",
    "One row per invoice line, from the invoice detail.",
    "line_item_id",
    "merge with merge key `invoice_id` only: re-reading an invoice replaces all its lines, "
    "so removed lines are deleted",
    [
        ("line_item_id", "text", "Zoho's id of the line."),
        ("invoice_id", "text", "The invoice the line belongs to (invoices.invoice_id)."),
        ("item_id", "text", "The item sold (items.item_id); null for a free-text line."),
        ("name", "text", "Item name on the line."),
        ("description", "text", "Line description."),
        ("sku", "text", "SKU on the line."),
        ("unit", "text", "Unit on the line."),
        ("rate", "decimal", "Unit price charged, invoice currency."),
        ("quantity", "decimal", "Quantity sold."),
        ("discount", "decimal", "Line discount (percent or amount)."),
        ("discount_amount", "decimal", "Line discount as an amount."),
        ("item_total", "decimal", "Line amount after discount, before tax."),
        ("item_order", "bigint", "Position of the line on the invoice."),
        ("tax_id", "text", "Zoho's id of the line's tax."),
        ("tax_name", "text", "Name of the line's tax."),
        ("tax_percentage", "decimal", "Rate of the line's tax, in percent."),
        ("product_type", "text", "`goods` or `service`."),
        (
            "last_modified_time",
            "timestamp",
            "The invoice's modified time when the line was read.",
        ),
        (
            "is_deleted",
            "bool",
            "True once its invoice was missing from a complete listing (deleted in Zoho).",
        ),
        ("deleted_at", "timestamp", "Start of the run that found its invoice deleted."),
    ],
    merge_key="invoice_id",
    extra_indexes=(("invoice_id",),),
    arrow=True,
    late_columns=("is_deleted", "deleted_at"),
)

BILLS = declare(
    "bills",
    "One row per Zoho bill (a vendor's invoice: a purchase), as `GET /bills` lists it.",
    "bill_id",
    "merge, server-side `last_modified_time` filter",
    [
        ("bill_id", "text", "Zoho's id of the bill."),
        ("bill_number", "text", "The vendor's bill number."),
        ("reference_number", "text", "Our reference (purchase order number...)."),
        ("vendor_id", "text", "The vendor billed by (contacts.contact_id)."),
        ("vendor_name", "text", "The vendor's name when the bill was listed."),
        ("status", "text", "`draft`, `open`, `overdue`, `paid`, `partially_paid`, `void`."),
        ("date", "date", "Bill date."),
        ("due_date", "date", "Payment due date."),
        ("currency_id", "text", "Zoho's id of the bill's currency."),
        ("currency_code", "text", "Currency of the bill's amounts."),
        ("exchange_rate", "decimal", "Base currency per unit of the bill's currency."),
        ("total", "decimal", "Bill total in its currency."),
        ("balance", "decimal", "What is still unpaid, in the bill's currency."),
        _CREATED,
        _MODIFIED,
        _IS_DELETED,
        _DELETED_AT,
    ],
    arrow=True,
    late_columns=("is_deleted", "deleted_at"),
)

BILL_DETAILS = declare(
    "bill_details",
    "One row per bill whose detail (`GET /bills/{id}`) was read: what 'pending' compares "
    "and the sums the listing does not show.",
    "bill_id",
    "merge, one `GET /bills/{id}` per new or changed bill",
    [
        ("bill_id", "text", "The bill (bills.bill_id)."),
        (
            "last_modified_time",
            "timestamp",
            "The bill's modified time when its detail was read (what 'pending' compares).",
        ),
        ("sub_total", "decimal", "Sum of the lines before tax, bill currency."),
        ("tax_total", "decimal", "Tax of the bill, bill currency."),
        ("total", "decimal", "Bill total, bill currency."),
        ("notes", "text", "Notes on the bill."),
        ("terms", "text", "Terms on the bill."),
        ("details_fetched_at", "timestamp", "When the loader read the detail (UTC)."),
        ("is_deleted", "bool", "True when Zoho answered 404 for a bill still in `bills`."),
    ],
    arrow=True,
)

BILL_LINE_ITEMS = declare(
    "bill_line_items",
    "One row per bill line, from the bill detail.",
    "line_item_id",
    "merge with merge key `bill_id` only: re-reading a bill replaces all its lines, "
    "so removed lines are deleted",
    [
        ("line_item_id", "text", "Zoho's id of the line."),
        ("bill_id", "text", "The bill the line belongs to (bills.bill_id)."),
        ("item_id", "text", "The item bought (items.item_id); null for a free-text line."),
        ("name", "text", "Item name on the line."),
        ("description", "text", "Line description."),
        ("sku", "text", "SKU on the line."),
        ("unit", "text", "Unit on the line."),
        ("account_id", "text", "Zoho's id of the expense or stock account of the line."),
        ("account_name", "text", "Name of the line's account."),
        ("rate", "decimal", "Unit cost, bill currency."),
        ("quantity", "decimal", "Quantity bought."),
        ("item_total", "decimal", "Line amount before tax, bill currency."),
        ("item_order", "bigint", "Position of the line on the bill."),
        ("tax_id", "text", "Zoho's id of the line's tax."),
        ("tax_name", "text", "Name of the line's tax."),
        ("tax_percentage", "decimal", "Rate of the line's tax, in percent."),
        ("location_id", "text", "Where the goods were received (a Zoho location)."),
        ("location_name", "text", "Name of the location."),
        ("last_modified_time", "timestamp", "The bill's modified time when the line was read."),
        (
            "is_deleted",
            "bool",
            "True once its bill was missing from a complete listing (deleted in Zoho).",
        ),
        ("deleted_at", "timestamp", "Start of the run that found its bill deleted."),
    ],
    merge_key="bill_id",
    extra_indexes=(("bill_id",),),
    arrow=True,
    late_columns=("is_deleted", "deleted_at"),
)

PRICEBOOKS = declare(
    "pricebooks",
    "One row per Zoho price list ever seen; lists missing from a complete listing are kept "
    "with `is_deleted` true. Zoho sends no modified time for price lists.",
    "pricebook_id",
    "merge; missing from a one-page listing, or from two listings read back to back when "
    "it has more pages -> `is_deleted`",
    [
        ("pricebook_id", "text", "Zoho's id of the price list."),
        ("name", "text", "The price list's name."),
        ("description", "text", "The price list's description."),
        ("currency_id", "text", "Zoho's id of the list's currency."),
        ("currency_code", "text", "Currency of the list's prices."),
        ("decimal_place", "bigint", "Decimal places the list's prices are rounded to."),
        ("status", "text", "`active` or `inactive`."),
        ("pricebook_type", "text", "`per_item` (a price per item) or `fixed_percentage`."),
        ("sales_or_purchase_type", "text", "`sales` or `purchases`."),
        ("percentage", "decimal", "Markup or markdown of a fixed_percentage list, percent."),
        ("is_increase", "bool", "True: a markup; false: a markdown (fixed_percentage)."),
        ("rounding_type", "text", "How a fixed_percentage list rounds its prices."),
        _CONTENT_HASH,
        _IS_DELETED,
        _DELETED_AT,
    ],
)

PRICEBOOK_ITEMS = declare(
    "pricebook_items",
    "One row per item ever listed in a per_item price list; rows gone from a list are kept "
    "with `is_deleted` true. No modified time of their own.",
    ("pricebook_id", "item_id"),
    "merge from each list's detail; rows gone from a list -> `is_deleted`",
    [
        ("pricebook_id", "text", "The price list (pricebooks.pricebook_id)."),
        ("item_id", "text", "The item priced (items.item_id)."),
        ("pricebook_item_id", "text", "Zoho's id of the row in the list."),
        ("pricebook_rate", "decimal", "The item's price in this list, list currency."),
        ("pricebook_discount", "text", "Discount Zoho shows for the row, as text."),
        ("pricing_scheme", "text", "`unit` (one price) or `volume` (price brackets)."),
        (
            "price_brackets",
            "json",
            "Volume prices: jsonb array of {start_quantity, end_quantity, pricebook_rate}.",
        ),
        ("name", "text", "The item's name when the row last changed (items has it current)."),
        ("sku", "text", "The item's SKU when the row last changed."),
        ("status", "text", "The item's status when the row last changed."),
        ("rate", "decimal", "The item's own rate when the row last changed."),
        _CONTENT_HASH,
        _IS_DELETED,
        _DELETED_AT,
    ],
    arrow=True,
    extra_indexes=(("item_id",),),
)

ITEM_STOCK_READINGS = declare(
    "item_stock_readings",
    "One row per inventory item whose detail (`GET /items/{id}`) was read for its stock per "
    "location: the version stamp 'pending' compares, and the detail's totals.",
    "item_id",
    "merge, one `GET /items/{id}` per inventory item changed since its last reading, "
    "from the run's details budget",
    [
        ("item_id", "text", "The item read (items.item_id)."),
        (
            "last_modified_time",
            "timestamp",
            "The item's modified time when its detail was read (what 'pending' compares).",
        ),
        ("stock_on_hand", "decimal", "The detail's stock on hand over every location."),
        ("available_stock", "decimal", "The detail's available stock over every location."),
        (
            "location_count",
            "bigint",
            "Locations the detail listed (0: the item has no stock per location).",
        ),
        ("location_field", "text", "Which list Zoho sent: `locations` or `warehouses`."),
        ("read_at", "timestamp", "When the loader read the detail (UTC)."),
        (
            "previous_stock_on_hand",
            "decimal",
            "The reading before this one: stock on hand over every location (null: first).",
        ),
        (
            "previous_last_modified_time",
            "timestamp",
            "The reading before this one: the item's modified time then (the movements "
            "between the two readings reconcile the stock, stock_movements).",
        ),
        ("previous_read_at", "timestamp", "When the reading before this one was read."),
        ("is_deleted", "bool", "True when Zoho answered 404 for an item still in `items`."),
    ],
    arrow=True,
)

ITEM_LOCATIONS = declare(
    "item_locations",
    "One row per inventory item and stock location, from the item detail's `locations[]` "
    "(or `warehouses[]`: Zoho's docs name both).",
    ("item_id", "location_id"),
    "merge with merge key `item_id` only: re-reading an item replaces all its locations",
    [
        ("item_id", "text", "The item (items.item_id)."),
        ("location_id", "text", "Zoho's id of the location (`location_id`/`warehouse_id`)."),
        ("location_name", "text", "The location's name."),
        ("is_primary", "bool", "Whether this is the organization's primary location."),
        ("status", "text", "`active` or `inactive` location."),
        ("stock_on_hand", "decimal", "Quantity on hand at this location."),
        ("available_stock", "decimal", "On hand less what is committed, at this location."),
        (
            "actual_available_stock",
            "decimal",
            "Available stock less what is committed but not yet shipped, at this location.",
        ),
        ("last_modified_time", "timestamp", "The item's modified time when it was read."),
        ("read_at", "timestamp", "When the loader read the item's detail (UTC)."),
    ],
    merge_key="item_id",
    extra_indexes=(("item_id",),),
    arrow=True,
)

INVENTORY_ADJUSTMENTS = declare(
    "inventory_adjustments",
    "One row per inventory adjustment Zoho sent by webhook (Zoho Books has no listing of "
    "them); the newest event of an adjustment wins.",
    "inventory_adjustment_id",
    "merge from the stored webhook events (`webhook_events`, module `inventoryadjustments`), "
    "no API call; a `deleted` event -> `is_deleted`",
    [
        ("inventory_adjustment_id", "text", "Zoho's id of the adjustment."),
        ("date", "date", "Adjustment date."),
        ("reason", "text", "Why stock was adjusted (stock count, damage...)."),
        ("reason_id", "text", "Zoho's id of the reason."),
        ("description", "text", "Description of the adjustment."),
        ("reference_number", "text", "The adjustment's reference."),
        ("adjustment_type", "text", "`quantity` (moves stock) or `value` (revalues it)."),
        ("location_id", "text", "The location adjusted (lines may name their own)."),
        ("location_name", "text", "Name of the location."),
        ("status", "text", "Zoho's status of the adjustment (`adjusted`, `draft`)."),
        ("total", "decimal", "Value of the adjustment in the base currency."),
        _CREATED,
        _MODIFIED,
        ("event_type", "text", "The webhook event that gave this row: created, edited, deleted."),
        ("webhook_event_id", "bigint", "The stored webhook event (webhook_events.id)."),
        ("received_at", "timestamp", "When the receiver stored the event."),
        _IS_DELETED,
        _DELETED_AT,
    ],
    arrow=True,
)

INVENTORY_ADJUSTMENT_LINE_ITEMS = declare(
    "inventory_adjustment_line_items",
    "One row per line of an inventory adjustment, from its webhook event.",
    "line_item_id",
    "merge with merge key `inventory_adjustment_id` only: a newer event of an adjustment "
    "replaces all its lines",
    [
        ("line_item_id", "text", "Zoho's id of the line."),
        ("inventory_adjustment_id", "text", "The adjustment (inventory_adjustments)."),
        ("item_id", "text", "The item adjusted (items.item_id)."),
        ("name", "text", "Item name on the line."),
        ("description", "text", "Line description."),
        ("quantity_adjusted", "decimal", "Quantity added (negative: taken away)."),
        ("item_total", "decimal", "Value of the line in the base currency."),
        ("unit", "text", "Unit of the quantity."),
        ("location_id", "text", "The location whose stock moved."),
        ("location_name", "text", "Name of the location."),
        ("webhook_event_id", "bigint", "The stored webhook event (webhook_events.id)."),
        ("is_deleted", "bool", "True once its adjustment was deleted in Zoho."),
    ],
    merge_key="inventory_adjustment_id",
    extra_indexes=(("inventory_adjustment_id",),),
    arrow=True,
)

SYNC_RUNS = declare(
    "sync_runs",
    "One row per loader run (`python -m loader run`): the freshness heartbeat.",
    "run_id",
    "one row per `python -m loader run`, written directly (not by dlt)",
    [
        ("run_id", "text", "The run's id: start time (UTC) and a random suffix."),
        ("organization_id", "text", "The organization the run loaded."),
        ("started_at", "timestamp", "When the run started."),
        ("finished_at", "timestamp", "When the run ended; null while it runs."),
        (
            "status",
            "text",
            "`running`, `success`, `failed`, `quota_exhausted`, `waiting` (no call made "
            "before Zoho's quota reset) or `deferred` (the day's API budget was spent).",
        ),
        ("resources", "text", "The resources the run loaded, comma-separated."),
        ("rows_loaded", "json", "Rows written per table (jsonb)."),
        ("api_calls", "bigint", "Zoho API calls the run made."),
        ("api_calls_by_endpoint", "json", "API calls per endpoint (jsonb)."),
        ("tokens_minted", "bigint", "Access tokens the run had to mint."),
        ("quota_remaining", "bigint", "Daily API calls Zoho said were left."),
        ("details_pending", "bigint", "Invoices and bills still waiting for their detail call."),
        ("error", "text", "One line saying why the run failed or stopped early."),
        (
            "quarantined",
            "bigint",
            "Records the run left out because they cannot be stored (see `quarantine`).",
        ),
        (
            "quota_limit",
            "bigint",
            "Zoho's daily quota as the run last saw it (X-Rate-Limit-Limit).",
        ),
        (
            "quota_reset_at",
            "timestamp",
            "When Zoho's quota day ends, from the run's last X-Rate-Limit-Reset.",
        ),
        (
            "details_read",
            "bigint",
            "Invoice, bill and item stock details the run read (one call each).",
        ),
        ("refreshed", "text", "Complete listings the run finished, comma-separated."),
        ("plan", "json", "The run's API budget plan (loader/run/budget/) with each why (jsonb)."),
    ],
    loaded_by_dlt=False,
)

# Every table dlt writes holds every organization's rows: `per_organization` adds
# `organization_id` to each one's columns and keys (a table declared later gets it too).
TABLES: dict[str, Table] = {
    t.name: per_organization(t)
    for t in (
        ORGANIZATIONS,
        ITEMS,
        CONTACTS,
        INVOICES,
        INVOICE_DETAILS,
        INVOICE_LINE_ITEMS,
        PRICEBOOKS,
        PRICEBOOK_ITEMS,
        BILLS,
        BILL_DETAILS,
        BILL_LINE_ITEMS,
        ITEM_STOCK_READINGS,
        ITEM_LOCATIONS,
        INVENTORY_ADJUSTMENTS,
        INVENTORY_ADJUSTMENT_LINE_ITEMS,
    )
}
"""The tables dlt writes, in load order."""

# Fields of GET /invoices/{id} that `invoices` already holds (fresher, from the listing);
# `invoice_details` keeps only what the listing lacks, plus `total` and the version stamp.
INVOICE_DETAIL_SKIP = frozenset(INVOICES.columns) - {"invoice_id", "total", "last_modified_time"}
BILL_DETAIL_SKIP = frozenset(BILLS.columns) - {"bill_id", "total", "last_modified_time"}


def columns(table: str) -> Columns:
    """The declared columns of `table` and their types."""
    return TABLES[table].types
