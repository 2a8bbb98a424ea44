"""Constants of the Zoho Books loader: hosts per data center, limits, defaults, and the
declared column types of every table in the `zoho_staging` contract
(docs/staging-tables.md).

Declared types matter beyond documentation: a column whose type dlt has to infer from the
first page (say an integer `rate`) sends later fractions into `rate__v_double` variant
columns, so every money, date and timestamp field of the contract is declared here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from loader.errors import EXIT_QUOTA as EXIT_QUOTA_EXHAUSTED  # noqa: F401 (job.py's name)
from loader.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"

PIPELINE_NAME = "zoho_books"
DATASET_NAME = "zoho_staging"
SOURCE_SECTION = "zoho_books"
ENV_PREFIX = "SOURCES__ZOHO_BOOKS__"

DEFAULT_TOKEN_CACHE_PATH = LOCAL_DIR / "zoho_token.json"
DEFAULT_PIPELINES_DIR = LOCAL_DIR / "dlt"
PIPELINES_DIR_ENV = "DLT_PIPELINES_DIR"

# Zoho's published limits (docs: /work/shared/zoho-books-api.md).
ZOHO_CALLS_PER_MINUTE = 100
# Keep a margin under Zoho's 100/minute: the budget is per organization and shared with
# every other integration of the org.
DEFAULT_MAX_CALLS_PER_MINUTE = 90
# The free plan allows 5 concurrent calls, paid plans 10: 5 is safe everywhere.
DEFAULT_MAX_CONCURRENCY = 5
# One detail call per invoice; 300 a run is 28,800 a day at a 15-minute schedule when a
# backfill is pending, and nothing once it is done.
DEFAULT_DETAILS_BUDGET = 300
PER_PAGE = 200
REQUEST_TIMEOUT_SECONDS = 60
# A cached access token is reused until this long before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 300
# Organizations change rarely; re-reading them once a day keeps a quiet run's calls to the
# lists that can change.
ORGANIZATION_REFRESH_SECONDS = 24 * 3600
# A `running` row older than this is a run that died without saying so.
STALE_RUN_SECONDS = 3600

# Zoho error codes the loader acts on.
CODE_RATE_PER_MINUTE = 44
CODE_DAILY_QUOTA = 45
CODE_NOT_AUTHORIZED = 57
CODE_CONCURRENCY = 1070
CODE_NOT_FOUND = 1002
CODE_BAD_ORGANIZATION = 6041
RETRYABLE_429_CODES = frozenset({CODE_RATE_PER_MINUTE, CODE_CONCURRENCY})

DATA_CENTERS: dict[str, tuple[str, str]] = {
    "com": ("https://www.zohoapis.com/books/v3", "https://accounts.zoho.com"),
    "eu": ("https://www.zohoapis.eu/books/v3", "https://accounts.zoho.eu"),
    "in": ("https://www.zohoapis.in/books/v3", "https://accounts.zoho.in"),
    "com.au": ("https://www.zohoapis.com.au/books/v3", "https://accounts.zoho.com.au"),
    "jp": ("https://www.zohoapis.jp/books/v3", "https://accounts.zoho.jp"),
    # Canada's accounts server is zohocloud.ca, not zoho.ca.
    "ca": ("https://www.zohoapis.ca/books/v3", "https://accounts.zohocloud.ca"),
    "com.cn": ("https://www.zohoapis.com.cn/books/v3", "https://accounts.zoho.com.cn"),
    "sa": ("https://www.zohoapis.sa/books/v3", "https://accounts.zoho.sa"),
    "uk": ("https://www.zohoapis.uk/books/v3", "https://accounts.zoho.uk"),
}
DEFAULT_DATA_CENTER = "com"


def env_var(setting: str) -> str:
    """The environment variable of a `sources.zoho_books` setting, for messages."""
    return ENV_PREFIX + setting.upper()


def resolve_hosts(
    data_center: str | None, api_base_url: str | None = None, accounts_url: str | None = None
) -> tuple[str, str]:
    """(API base URL, accounts URL): explicit URLs win over the data center's hosts.

    The overrides exist for the simulator and for proxies; the data center is what a real
    account sets."""
    dc = (data_center or DEFAULT_DATA_CENTER).strip().lower()
    if dc not in DATA_CENTERS:
        raise ConfigError(
            f"unknown data center {data_center!r} in {env_var('data_center')}: "
            f"use one of {', '.join(DATA_CENTERS)}"
        )
    api, accounts = DATA_CENTERS[dc]
    return (api_base_url or api).rstrip("/"), (accounts_url or accounts).rstrip("/")


# ----- the contract's columns -------------------------------------------------------------
ColumnType = Literal["text", "decimal", "bigint", "bool", "timestamp", "date", "json"]
Columns = dict[str, ColumnType]

_ZOHO_TIMES: Columns = {"created_time": "timestamp", "last_modified_time": "timestamp"}

ORGANIZATION_COLUMNS: Columns = {
    "organization_id": "text",
    "name": "text",
    "currency_code": "text",
    "currency_id": "text",
    "time_zone": "text",
    "is_default_org": "bool",
    "fiscal_year_start_month": "bigint",
    "price_precision": "bigint",
}

ITEM_COLUMNS: Columns = {
    "item_id": "text",
    "name": "text",
    "item_name": "text",
    "sku": "text",
    "status": "text",
    "rate": "decimal",
    "purchase_rate": "decimal",
    "unit": "text",
    "product_type": "text",
    "item_type": "text",
    "description": "text",
    "tax_id": "text",
    "tax_name": "text",
    "tax_percentage": "decimal",
    "is_taxable": "bool",
    "stock_on_hand": "decimal",
    "account_name": "text",
    "image_name": "text",
    "image_document_id": "text",
    "custom_fields": "json",
    **_ZOHO_TIMES,
    "is_deleted": "bool",
    "deleted_at": "timestamp",
}

CONTACT_COLUMNS: Columns = {
    "contact_id": "text",
    "contact_name": "text",
    "customer_name": "text",
    "vendor_name": "text",
    "company_name": "text",
    "contact_type": "text",
    "customer_sub_type": "text",
    "status": "text",
    "first_name": "text",
    "last_name": "text",
    "currency_id": "text",
    "currency_code": "text",
    "email": "text",
    "phone": "text",
    "mobile": "text",
    "payment_terms": "bigint",
    "outstanding_receivable_amount": "decimal",
    "unused_credits_receivable_amount": "decimal",
    **_ZOHO_TIMES,
}

INVOICE_COLUMNS: Columns = {
    "invoice_id": "text",
    "invoice_number": "text",
    "reference_number": "text",
    "customer_id": "text",
    "customer_name": "text",
    "status": "text",
    "date": "date",
    "due_date": "date",
    "currency_id": "text",
    "currency_code": "text",
    "exchange_rate": "decimal",
    "discount": "decimal",
    "discount_type": "text",
    "total": "decimal",
    "balance": "decimal",
    **_ZOHO_TIMES,
}

INVOICE_DETAIL_COLUMNS: Columns = {
    "invoice_id": "text",
    "last_modified_time": "timestamp",
    "sub_total": "decimal",
    "tax_total": "decimal",
    "discount_total": "decimal",
    "shipping_charge": "decimal",
    "adjustment": "decimal",
    "total": "decimal",
    "bcy_sub_total": "decimal",
    "bcy_tax_total": "decimal",
    "bcy_discount_total": "decimal",
    "bcy_shipping_charge": "decimal",
    "bcy_adjustment": "decimal",
    "bcy_total": "decimal",
    "pricebook_id": "text",
    "notes": "text",
    "terms": "text",
    "details_fetched_at": "timestamp",
    "is_deleted": "bool",
}
# Fields of GET /invoices/{id} that `invoices` already holds (fresher, from the listing);
# `invoice_details` keeps only what the listing lacks, plus `total` and the version stamp.
INVOICE_DETAIL_SKIP = frozenset(INVOICE_COLUMNS) - {"invoice_id", "total", "last_modified_time"}

LINE_ITEM_COLUMNS: Columns = {
    "line_item_id": "text",
    "invoice_id": "text",
    "item_id": "text",
    "name": "text",
    "description": "text",
    "sku": "text",
    "unit": "text",
    "rate": "decimal",
    "quantity": "decimal",
    "discount": "decimal",
    "discount_amount": "decimal",
    "item_total": "decimal",
    "item_order": "bigint",
    "tax_id": "text",
    "tax_name": "text",
    "tax_percentage": "decimal",
    "product_type": "text",
    "last_modified_time": "timestamp",
}

PRICEBOOK_COLUMNS: Columns = {
    "pricebook_id": "text",
    "name": "text",
    "description": "text",
    "currency_id": "text",
    "currency_code": "text",
    "decimal_place": "bigint",
    "status": "text",
    "pricebook_type": "text",
    "sales_or_purchase_type": "text",
    "percentage": "decimal",
    "is_increase": "bool",
    "rounding_type": "text",
    "content_hash": "text",
    "is_deleted": "bool",
    "deleted_at": "timestamp",
}

PRICEBOOK_ITEM_COLUMNS: Columns = {
    "pricebook_id": "text",
    "item_id": "text",
    "pricebook_item_id": "text",
    "pricebook_rate": "decimal",
    "pricebook_discount": "text",
    "pricing_scheme": "text",
    "price_brackets": "json",
    "content_hash": "text",
    "is_deleted": "bool",
    "deleted_at": "timestamp",
}

TABLE_COLUMNS: dict[str, Columns] = {
    "organizations": ORGANIZATION_COLUMNS,
    "items": ITEM_COLUMNS,
    "contacts": CONTACT_COLUMNS,
    "invoices": INVOICE_COLUMNS,
    "invoice_details": INVOICE_DETAIL_COLUMNS,
    "invoice_line_items": LINE_ITEM_COLUMNS,
    "pricebooks": PRICEBOOK_COLUMNS,
    "pricebook_items": PRICEBOOK_ITEM_COLUMNS,
}

LIST_RESOURCES = (
    "organizations",
    "items",
    "contacts",
    "invoices",
    "pricebooks",
    "pricebook_items",
)
DETAIL_RESOURCES = ("invoice_details", "invoice_line_items")
ALL_RESOURCES = LIST_RESOURCES + DETAIL_RESOURCES
