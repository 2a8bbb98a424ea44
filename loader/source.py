"""The `zoho_books` dlt source: Zoho Books records into the `zoho_staging` tables.

Each resource reads Zoho the cheapest honest way its endpoint allows (see
docs/staging-tables.md and docs/configuration.md):

| resource            | how a run finds what changed                                           |
|---------------------|------------------------------------------------------------------------|
| organizations       | re-read once a day (resource state), one call                          |
| items               | full listing (no filter exists); only rows new/changed against the      |
|                     | stored (item_id, last_modified_time, is_deleted) are written; items     |
|                     | missing from a complete listing are marked deleted                      |
| contacts            | newest first; paging stops at the first record older than the cursor   |
| invoices            | server-side `last_modified_time >= cursor` filter                        |
| pricebooks          | full listing (a few rows), compared by content hash (no timestamps)    |
| pricebook_items     | one detail call per per_item list, parsed as it arrives and compared   |
|                     | by content hash 10,000 rows at a time; rows gone from a completely     |
|                     | read list are marked deleted                                           |
| invoice_details,    | one detail call per invoice whose listing is newer than its stored      |
| invoice_line_items  | details, at most `details_budget` a run; the rest waits for the next   |

Every table merges with `delete-insert` on its primary key and de-duplicates on
`last_modified_time` where Zoho has one (Zoho has listed the same record twice within
one listing). Big listings are yielded as pyarrow tables, small ones as dicts.

A daily-quota stop (429 code 45) inside a resource ends that resource quietly: what it
yielded is loaded, no deletion is inferred from its incomplete listing, and a cursor that
rows were still missing behind is put back where the run found it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from loader.client import ZohoClient, ZohoSettings
from loader.errors import ConfigError, QuotaExhausted, RecordNotFound
from loader.progress import Progress
from loader.records import DLT_TYPES, TableShape, content_hash, parse_zoho_timestamp
from loader.settings import (
    CONTACT_COLUMNS,
    DEFAULT_DATA_CENTER,
    DEFAULT_DETAILS_BUDGET,
    DEFAULT_MAX_CALLS_PER_MINUTE,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TOKEN_CACHE_PATH,
    INVOICE_COLUMNS,
    INVOICE_DETAIL_COLUMNS,
    INVOICE_DETAIL_SKIP,
    ITEM_COLUMNS,
    LINE_ITEM_COLUMNS,
    ORGANIZATION_COLUMNS,
    ORGANIZATION_REFRESH_SECONDS,
    PRICEBOOK_COLUMNS,
    PRICEBOOK_ITEM_COLUMNS,
    SOURCE_SECTION,
    Columns,
    ColumnType,
    env_var,
    resolve_hosts,
)
from loader.stored import Snapshot, StagingReader, hash_version

log = logging.getLogger(__name__)

MERGE = {"disposition": "merge", "strategy": "delete-insert"}
ARROW_BATCH_ROWS = 5000
PRICEBOOK_CHUNK_ROWS = 10_000  # rows of one price list read per arrow table
PRICEBOOK_ROWS_PATH = "pricebook.pricebook_items.item"  # where the rows sit in the detail
DETAIL_BATCH = 50
EPOCH_MICROS_SQL = "(extract(epoch from last_modified_time) * 1000000)::bigint"
HASH_VERSION_SQL = "('x' || substr(content_hash, 1, 16))::bit(64)::bigint"
PENDING_DETAILS_SQL = """
    from {invoices} i
    left join {details} d on d.invoice_id = i.invoice_id
    where d.invoice_id is null or i.last_modified_time > d.last_modified_time
"""
# dlt's type back to ours; a `double` column (dlt's guess for a float) holds money here
_DLT_TO_KIND: dict[str, ColumnType] = {
    **{dlt_type: kind for kind, dlt_type in DLT_TYPES.items()},
    "double": "decimal",
}


class _ArrowJsonHintFilter(logging.Filter):
    """JSON columns travel in arrow tables as text by design (see loader/records.py), so
    dlt's "arrow and schema hints differ" warning would fire on every page."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_ArrowJsonHintFilter())


# ----- the run shared by resources and pipeline.py ----------------------------------------
@dataclass
class SyncRun:
    """State of one `python -m loader run` that outlives the source: the client and its
    counters, progress, and what stopped early."""

    full_refresh: bool = False
    details_budget: int | None = None
    progress: Progress = field(default_factory=Progress)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    settings: ZohoSettings | None = None
    client: ZohoClient | None = None
    stopped_by_quota: list[str] = field(default_factory=list)
    details_fetched: int = 0
    details_missing: int = 0

    @property
    def quota_exhausted(self) -> bool:
        stats_say = self.client is not None and self.client.stats.quota_exhausted
        return bool(self.stopped_by_quota) or stats_say

    @contextmanager
    def quota_guard(self, resource: str) -> Iterator[None]:
        """End a resource quietly at the daily quota; its rows so far are still loaded."""
        try:
            yield
        except QuotaExhausted:
            self.note_quota_stop(resource)

    def note_quota_stop(self, resource: str) -> None:
        if resource not in self.stopped_by_quota:
            self.stopped_by_quota.append(resource)
            log.warning("%s: stopped early, Zoho's daily API quota is used up", resource)


def make_settings(
    organization_id: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    data_center: str | None,
    api_base_url: str | None,
    accounts_url: str | None,
    token_cache_path: str | None,
    max_calls_per_minute: int,
    max_concurrency: int,
) -> ZohoSettings:
    """Validated settings; every problem is a ConfigError naming the variable to fix."""
    for name, value in (
        ("organization_id", organization_id),
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("refresh_token", refresh_token),
    ):
        if not str(value or "").strip():
            raise ConfigError(f"{env_var(name)} is empty: set it (see docs/configuration.md)")
    api, accounts = resolve_hosts(data_center, api_base_url, accounts_url)
    for name, number in (
        ("max_calls_per_minute", max_calls_per_minute),
        ("max_concurrency", max_concurrency),
    ):
        if int(number) < 1:
            raise ConfigError(f"{env_var(name)} must be at least 1, got {number}")
    return ZohoSettings(
        organization_id=str(organization_id).strip(),
        client_id=str(client_id).strip(),
        client_secret=str(client_secret).strip(),
        refresh_token=str(refresh_token).strip(),
        api_base_url=api,
        accounts_url=accounts,
        token_cache_path=str(token_cache_path or DEFAULT_TOKEN_CACHE_PATH),
        max_calls_per_minute=int(max_calls_per_minute),
        max_concurrency=int(max_concurrency),
    )


@dlt.source(name="zoho_books", section=SOURCE_SECTION, max_table_nesting=0)
def zoho_books_source(
    organization_id: str = dlt.config.value,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    data_center: str = DEFAULT_DATA_CENTER,
    api_base_url: str | None = None,
    accounts_url: str | None = None,
    token_cache_path: str | None = None,
    max_calls_per_minute: int = DEFAULT_MAX_CALLS_PER_MINUTE,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    details_budget: int = DEFAULT_DETAILS_BUDGET,
    run: SyncRun | None = None,
) -> Sequence[DltResource]:
    """Zoho Books for one organization. Settings come from `sources.zoho_books` in
    .dlt/config.toml / secrets.toml or SOURCES__ZOHO_BOOKS__* variables; `run` carries a
    caller's counters and overrides (`python -m loader run` passes one)."""
    settings = make_settings(
        organization_id,
        client_id,
        client_secret,
        refresh_token,
        data_center,
        api_base_url,
        accounts_url,
        token_cache_path,
        max_calls_per_minute,
        max_concurrency,
    )
    run = run if run is not None else SyncRun()
    run.settings = settings
    run.client = ZohoClient(settings)
    budget = run.details_budget if run.details_budget is not None else int(details_budget)
    if budget < 0:
        raise ConfigError(f"{env_var('details_budget')} must be 0 or more, got {budget}")

    pricebook_listing = dlt.resource(list_pricebooks, name="pricebook_listing", selected=False)
    pending = dlt.resource(pending_invoice_batches, name="pending_invoices", selected=False)
    pending_bound = pending(run, budget)
    documents = dlt.transformer(
        fetch_invoice_documents, data_from=pending_bound, name="invoice_documents", selected=False
    )(run=run)
    listing_bound = pricebook_listing(run)
    return [
        dlt.resource(list_organizations, **_hints("organizations", ORGANIZATION_COLUMNS))(run),
        dlt.resource(list_items, **_hints("items", ITEM_COLUMNS, arrow=True))(run),
        dlt.resource(list_contacts, **_hints("contacts", CONTACT_COLUMNS, arrow=True))(run),
        dlt.resource(list_invoices, **_hints("invoices", INVOICE_COLUMNS, arrow=True))(run),
        listing_bound,
        dlt.transformer(
            pricebook_rows,
            data_from=listing_bound,
            **_hints("pricebooks", PRICEBOOK_COLUMNS),
        )(run=run),
        dlt.transformer(
            pricebook_item_rows,
            data_from=listing_bound,
            **_hints("pricebook_items", PRICEBOOK_ITEM_COLUMNS, arrow=True),
        )(run=run),
        pending_bound,
        documents,
        dlt.transformer(
            invoice_detail_rows,
            data_from=documents,
            **_hints("invoice_details", INVOICE_DETAIL_COLUMNS, arrow=True),
        )(run=run),
        dlt.transformer(
            invoice_line_item_rows,
            data_from=documents,
            **_hints("invoice_line_items", LINE_ITEM_COLUMNS, arrow=True, merge_key="invoice_id"),
        )(run=run),
    ]


PRIMARY_KEYS: dict[str, str | list[str]] = {
    "organizations": "organization_id",
    "items": "item_id",
    "contacts": "contact_id",
    "invoices": "invoice_id",
    "invoice_details": "invoice_id",
    "invoice_line_items": "line_item_id",
    "pricebooks": "pricebook_id",
    "pricebook_items": ["pricebook_id", "item_id"],
}


def _hints(table: str, declared: Columns, arrow: bool = False, **extra: Any) -> dict[str, Any]:
    """Table hints: merge (delete-insert) on the primary key, declared column types,
    newest `last_modified_time` wins among duplicates, csv loading for arrow tables."""
    columns: dict[str, dict[str, Any]] = TableShape(table, declared).dlt_columns()
    if "last_modified_time" in columns:
        columns["last_modified_time"]["dedup_sort"] = "desc"
    if "is_deleted" in columns:
        columns["is_deleted"]["nullable"] = False
    hints: dict[str, Any] = {
        "name": table,
        "primary_key": PRIMARY_KEYS[table],
        "write_disposition": MERGE,
        "columns": columns,
        **extra,
    }
    if arrow:
        # postgres loads arrow fastest from csv (COPY); parquet would need an ADBC driver.
        hints["file_format"] = "csv"
    return hints


# ----- helpers ----------------------------------------------------------------------------
def _existing_types(table: str) -> dict[str, ColumnType]:
    """Column types dlt's schema already has for `table` (for fields not declared)."""
    try:
        schema = dlt.current.source_schema()
    except Exception:
        return {}
    columns = schema.tables.get(table, {}).get("columns", {})
    kinds = {name: _DLT_TO_KIND.get(col.get("data_type", "")) for name, col in columns.items()}
    return {name: kind for name, kind in kinds.items() if kind is not None}


def _reader() -> StagingReader | None:
    return StagingReader.of_current_pipeline()


def _snapshot(
    reader: StagingReader | None,
    table: str,
    id_column: str,
    version_sql: str,
    where: str = "",
    *params: Any,
) -> Snapshot:
    if reader is None:
        return Snapshot.empty()
    return reader.snapshot(table, id_column, version_sql, where, *params)


def _micros(table: pa.Table, column: str = "last_modified_time") -> list[int | None]:
    return pc.cast(table.column(column), pa.int64()).to_pylist()


def _with_json_hints(table: pa.Table, shape: TableShape, new_fields: Sequence[str]) -> Any:
    """Tell dlt that newly seen nested fields are JSON (they travel as text in arrow)."""
    json_fields = [name for name in new_fields if shape.types.get(name) == "json"]
    if not json_fields:
        return table
    return dlt.mark.with_hints(table, dlt.mark.make_hints(columns=shape.dlt_columns(json_fields)))


class ArrowBatch:
    """Collects page tables and yields them a few thousand rows at a time: fewer, bigger
    tables are cheaper for dlt to write than one per 200-row page."""

    def __init__(self, shape: TableShape, rows: int = ARROW_BATCH_ROWS) -> None:
        self.shape = shape
        self.rows = rows
        self._tables: list[pa.Table] = []
        self._count = 0
        self._new_fields: list[str] = []

    def add(self, table: pa.Table, new_fields: Sequence[str] = ()) -> Iterator[Any]:
        if table.num_rows:
            self._tables.append(table)
            self._count += table.num_rows
        self._new_fields.extend(new_fields)
        if self._count >= self.rows:
            yield from self.flush()

    def flush(self) -> Iterator[Any]:
        if not self._tables:
            return
        table = pa.concat_tables(self._tables, promote_options="default")
        new_fields, self._new_fields = self._new_fields, []
        self._tables, self._count = [], 0
        yield _with_json_hints(table, self.shape, new_fields)


def _restore_cursor(incremental: Any, saved: dict[str, Any]) -> None:
    """Put an incremental cursor back to where this run found it.

    dlt advances the cursor with every table that passes through it; when a listing is
    cut short (daily quota), records older than the newest one seen may still be unread,
    so the next run must start from the old cursor again (merge absorbs the overlap)."""
    state = incremental.get_state()
    state.clear()
    state.update(saved)


def _stored_rows_marked_deleted(
    reader: StagingReader | None,
    table: str,
    id_column: str,
    ids: list[str],
    deleted_at: datetime,
    where: str = "",
    *params: Any,
) -> Iterator[list[dict[str, Any]]]:
    """The stored rows of `ids` re-written with is_deleted: a delete-insert merge replaces
    whole rows, so a deletion mark must carry the rest of the row along."""
    if reader is None or not ids:
        return
    for chunk in reader.rows_by_id(table, id_column, ids, where, *params):
        for row in chunk:
            row["is_deleted"] = True
            row["deleted_at"] = deleted_at
        yield chunk


# ----- organizations ----------------------------------------------------------------------
def list_organizations(run: SyncRun) -> Iterator[dict[str, Any]]:
    """The configured organization (for its base `currency_code`), once a day."""
    state = dlt.current.resource_state()
    now = run.started_at.timestamp()
    if not run.full_refresh and now - float(state.get("fetched_at", 0)) < (
        ORGANIZATION_REFRESH_SECONDS
    ):
        run.progress.done("organizations", "read within the last day, skipped")
        return
    assert run.client is not None and run.settings is not None
    shape = TableShape("organizations", ORGANIZATION_COLUMNS, _existing_types("organizations"))
    with run.quota_guard("organizations"):
        organizations = run.client.get("/organizations", "organizations") or []
        run.progress.page("organizations", len(organizations), 1)
        wanted = run.settings.organization_id
        match = [o for o in organizations if str(o.get("organization_id")) == wanted]
        if not match:
            known = ", ".join(str(o.get("organization_id")) for o in organizations) or "none"
            raise ConfigError(
                f"{env_var('organization_id')}={wanted} is not an organization of this Zoho "
                f"account (it has: {known})"
            )
        yield shape.shape_row(match[0])
        state["fetched_at"] = now
    run.progress.done("organizations")


# ----- items ------------------------------------------------------------------------------
def list_items(run: SyncRun) -> Iterator[Any]:
    """Every item (active and inactive); only new, changed or re-appeared ones are
    written, and items gone from a complete listing are marked deleted."""
    assert run.client is not None
    name = "items"
    reader = _reader()
    shape = TableShape(name, ITEM_COLUMNS, _existing_types(name))
    stored = _snapshot(reader, name, "item_id", EPOCH_MICROS_SQL)
    batch = ArrowBatch(shape)
    complete = False
    with run.quota_guard(name):
        for page in run.client.pages("/items", "items", {"filter_by": "Status.All"}, prefetch=True):
            new_fields = shape.learn(page)
            table = shape.arrow_table(page, is_deleted=False, deleted_at=None)
            mask = stored.classify_many(
                table.column("item_id").to_pylist(), _micros(table), force=run.full_refresh
            )
            written = sum(mask)
            run.progress.page(name, len(page), written)
            yield from batch.add(table.filter(pa.array(mask, pa.bool_())), new_fields)
        complete = True
    yield from batch.flush()
    deleted = 0
    if complete:
        missing = list(stored.missing())
        for rows in _stored_rows_marked_deleted(reader, name, "item_id", missing, run.started_at):
            deleted += len(rows)
            yield shape.arrow_table(rows)
        run.progress.wrote(name, deleted)
    run.progress.done(name, f"{deleted} marked deleted" if complete else "listing incomplete")


# ----- contacts ---------------------------------------------------------------------------
def list_contacts(
    run: SyncRun,
    updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008
        "last_modified_time", range_start="closed"
    ),
) -> Iterator[Any]:
    """Contacts newest first, stopping at the first page that reaches below the cursor:
    one call when nothing changed."""
    assert run.client is not None
    name = "contacts"
    saved = copy.deepcopy(updated_at.get_state())
    cursor = parse_zoho_timestamp(updated_at.start_value)
    shape = TableShape(name, CONTACT_COLUMNS, _existing_types(name))
    params = {"sort_column": "last_modified_time", "sort_order": "D", "filter_by": "Status.All"}
    complete = False
    with run.quota_guard(name):
        for page in run.client.pages("/contacts", "contacts", params):
            new_fields = shape.learn(page)
            table = shape.arrow_table(page)
            times = table.column("last_modified_time")
            fresh = len(page) if cursor is None else _count_at_or_after(times, cursor)
            run.progress.page(name, len(page), fresh)
            yield _with_json_hints(table, shape, new_fields)
            if cursor is not None and fresh < len(page):
                break  # sorted newest first: every later page is older than the cursor
        complete = True
    if not complete:
        _restore_cursor(updated_at, saved)
    run.progress.done(name, "" if complete else "listing incomplete, cursor kept")


def _count_at_or_after(times: pa.ChunkedArray, cursor: datetime) -> int:
    scalar = pa.scalar(cursor, type=times.type)
    return int(pc.sum(pc.greater_equal(times, scalar)).as_py() or 0)


# ----- invoices ---------------------------------------------------------------------------
def zoho_filter_time(value: datetime) -> str:
    """Zoho's `last_modified_time` filter format, in UTC: `2025-10-31T11:41:13+0000`
    (requests URL-encodes the `+`)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def list_invoices(
    run: SyncRun,
    updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(  # noqa: B008
        "last_modified_time", range_start="closed"
    ),
) -> Iterator[Any]:
    """Invoices modified at or after the cursor (Zoho's filter is inclusive; the merge and
    dlt's boundary de-duplication absorb the record at the cursor itself)."""
    assert run.client is not None
    name = "invoices"
    saved = copy.deepcopy(updated_at.get_state())
    cursor = parse_zoho_timestamp(updated_at.start_value)
    params = {"last_modified_time": zoho_filter_time(cursor)} if cursor else {}
    shape = TableShape(name, INVOICE_COLUMNS, _existing_types(name))
    batch = ArrowBatch(shape)
    complete = False
    with run.quota_guard(name):
        for page in run.client.pages("/invoices", "invoices", params, prefetch=True):
            new_fields = shape.learn(page)
            table = shape.arrow_table(page)
            run.progress.page(name, len(page), len(page))
            yield from batch.add(table, new_fields)
        complete = True
    yield from batch.flush()
    if not complete:
        _restore_cursor(updated_at, saved)
    run.progress.done(name, "" if complete else "listing incomplete, cursor kept")


# ----- price lists ------------------------------------------------------------------------
@dataclass
class PricebookListing:
    """A complete listing of price lists (only complete listings are passed on)."""

    rows: list[dict[str, Any]]


def list_pricebooks(run: SyncRun) -> Iterator[PricebookListing]:
    assert run.client is not None
    rows: list[dict[str, Any]] = []
    with run.quota_guard("pricebooks"):
        for page in run.client.pages("/pricebooks", "pricebooks"):
            rows.extend(page)
        yield PricebookListing(rows)


def pricebook_rows(listing: PricebookListing, run: SyncRun) -> Iterator[list[dict[str, Any]]]:
    """Price lists new or changed by content, and those gone from the listing."""
    name = "pricebooks"
    reader = _reader()
    shape = TableShape(name, PRICEBOOK_COLUMNS, _existing_types(name))
    stored = _snapshot(reader, name, "pricebook_id", HASH_VERSION_SQL)
    rows = []
    for raw in listing.rows:
        digest = content_hash(raw)
        verdict = stored.classify(str(raw["pricebook_id"]), hash_version(digest), run.full_refresh)
        if verdict.write:
            row = {**raw, "content_hash": digest, "is_deleted": False, "deleted_at": None}
            rows.append(shape.shape_row(row))
    run.progress.page(name, len(listing.rows), len(rows))
    missing = list(stored.missing())
    for chunk in _stored_rows_marked_deleted(reader, name, "pricebook_id", missing, run.started_at):
        rows.extend(shape.shape_row(row) for row in chunk)
    run.progress.wrote(name, len(missing))
    run.progress.done(name, f"{len(missing)} marked deleted")
    if rows:
        yield rows


def _clean_brackets(brackets: Any) -> Any:
    """`""` quantities/rates inside price brackets become null, like everywhere else."""
    if not isinstance(brackets, list):
        return brackets
    return [
        {k: (None if v == "" else v) for k, v in b.items()} if isinstance(b, dict) else b
        for b in brackets
    ]


def pricebook_item_rows(listing: PricebookListing, run: SyncRun) -> Iterator[Any]:
    """Rows of each per_item list (one detail call each), written when new or changed;
    rows gone from a list, or whose list is gone, are marked deleted."""
    assert run.client is not None
    name = "pricebook_items"
    reader = _reader()
    shape = TableShape(name, PRICEBOOK_ITEM_COLUMNS, _existing_types(name))
    per_item = [
        str(pb["pricebook_id"]) for pb in listing.rows if pb.get("pricebook_type") == "per_item"
    ]
    with run.quota_guard(name):
        for pricebook_id in per_item:
            # One call per list (the quota's minimum), its rows parsed as they arrive.
            listed = run.client.stream(f"/pricebooks/{pricebook_id}", PRICEBOOK_ROWS_PATH)
            yield from _one_pricebook_items(run, reader, shape, pricebook_id, listed)
    # Lists deleted or no longer per_item keep no live rows.
    yield from _rows_of_gone_pricebooks(run, reader, shape, per_item)
    run.progress.done(name)


# The item's own fields Zoho repeats in each row of a price list. They are not what the
# list says about the item, so a change to them (an item renamed or repriced) does not make
# its list rows "changed": those rows keep the copies from when their list fields last
# changed, and `items` has the current ones. Hashing them re-wrote every list row of each
# changed item: at 1M items a 1% change wrote 27k list rows for 1.4k real list changes.
ITEM_FIELDS_IN_LIST_ROWS = ("name", "sku", "status", "rate")


def _one_pricebook_items(
    run: SyncRun,
    reader: StagingReader | None,
    shape: TableShape,
    pricebook_id: str,
    listed: Iterator[dict[str, Any]],
) -> Iterator[Any]:
    """The rows of one list to write, PRICEBOOK_CHUNK_ROWS at a time (a list can name
    every item: a million rows), then its stored rows the list no longer names.

    Deletions are inferred only after the last row was read: a body that breaks off
    raises out of `listed` before that, so a half-read list marks nothing deleted."""
    name = "pricebook_items"
    stored = _snapshot(reader, name, "item_id", HASH_VERSION_SQL, "pricebook_id = %s", pricebook_id)
    rows: list[dict[str, Any]] = []
    total = 0
    for raw in listed:
        total += 1
        row = {**raw, "pricebook_id": pricebook_id}
        row["price_brackets"] = _clean_brackets(row.get("price_brackets"))
        digest = content_hash(row, ignore=ITEM_FIELDS_IN_LIST_ROWS)
        verdict = stored.classify(str(row["item_id"]), hash_version(digest), run.full_refresh)
        if verdict.write:
            rows.append({**row, "content_hash": digest, "is_deleted": False, "deleted_at": None})
        if total % PRICEBOOK_CHUNK_ROWS == 0:
            yield from _pricebook_chunk(run, shape, PRICEBOOK_CHUNK_ROWS, rows)
            rows = []
    if total % PRICEBOOK_CHUNK_ROWS or not total:
        yield from _pricebook_chunk(run, shape, total % PRICEBOOK_CHUNK_ROWS, rows)
    missing = list(stored.missing())
    for chunk in _stored_rows_marked_deleted(
        reader, name, "item_id", missing, run.started_at, "pricebook_id = %s", pricebook_id
    ):
        run.progress.wrote(name, len(chunk))
        yield shape.arrow_table(chunk)


def _pricebook_chunk(
    run: SyncRun, shape: TableShape, listed: int, rows: list[dict[str, Any]]
) -> Iterator[Any]:
    run.progress.page("pricebook_items", listed, len(rows))
    if rows:
        new_fields = shape.learn(rows)
        yield _with_json_hints(shape.arrow_table(rows), shape, new_fields)


def _rows_of_gone_pricebooks(
    run: SyncRun, reader: StagingReader | None, shape: TableShape, keep: list[str]
) -> Iterator[Any]:
    name = "pricebook_items"
    if reader is None or "pricebook_id" not in reader.existing_columns(name):
        return
    gone = reader.fetch(
        f"select distinct pricebook_id from {reader.table(name)} "
        "where not coalesce(is_deleted, false) and not (pricebook_id = any(%s))",
        keep,
    )
    for (pricebook_id,) in gone:
        live = reader.fetch(
            f"select item_id from {reader.table(name)} "
            "where pricebook_id = %s and not coalesce(is_deleted, false)",
            pricebook_id,
        )
        ids = [row[0] for row in live]
        for chunk in _stored_rows_marked_deleted(
            reader, name, "item_id", ids, run.started_at, "pricebook_id = %s", pricebook_id
        ):
            run.progress.wrote(name, len(chunk))
            yield shape.arrow_table(chunk)


# ----- invoice details and line items -----------------------------------------------------
@dataclass
class PendingInvoices:
    """Invoices whose stored details are missing or older than their listing."""

    invoices: list[tuple[str, datetime]]


@dataclass
class InvoiceDocument:
    invoice_id: str
    listed_modified: datetime
    detail: dict[str, Any] | None  # None: Zoho no longer has the invoice (404 code 1002)


def count_pending_details(reader: StagingReader) -> int | None:
    """Invoices still waiting for their details (None before the first invoice load)."""
    if "invoice_id" not in reader.existing_columns("invoices"):
        return None
    if "invoice_id" not in reader.existing_columns("invoice_details"):
        return int(reader.fetch(f"select count(*) from {reader.table('invoices')}")[0][0])
    sql = "select count(*) " + PENDING_DETAILS_SQL.format(
        invoices=reader.table("invoices"), details=reader.table("invoice_details")
    )
    return int(reader.fetch(sql)[0][0])


def pending_invoice_batches(run: SyncRun, budget: int) -> Iterator[PendingInvoices]:
    """Up to `budget` invoices needing details, newest first, in small batches.

    Read from the destination after the listing was loaded, so "new or changed since the
    details were read" is one query and a backfill resumes where the last run stopped."""
    reader = _reader()
    if reader is None or budget <= 0:
        return
    if "invoice_id" not in reader.existing_columns("invoices"):
        return
    if "invoice_id" in reader.existing_columns("invoice_details"):
        sql = "select i.invoice_id, i.last_modified_time " + PENDING_DETAILS_SQL.format(
            invoices=reader.table("invoices"), details=reader.table("invoice_details")
        )
    else:
        sql = f"select i.invoice_id, i.last_modified_time from {reader.table('invoices')} i"
    rows = reader.fetch(sql + " order by i.last_modified_time desc, i.invoice_id limit %s", budget)
    for start in range(0, len(rows), DETAIL_BATCH):
        if run.quota_exhausted:
            return
        yield PendingInvoices([(str(r[0]), r[1]) for r in rows[start : start + DETAIL_BATCH]])


def fetch_invoice_documents(
    batch: PendingInvoices, run: SyncRun
) -> Iterator[list[InvoiceDocument]]:
    """GET /invoices/{id} for a batch, `max_concurrency` at a time.

    A small thread pool of our own rather than dlt's parallel transformers: its size is
    Zoho's concurrency limit, and after a quota stop the remaining calls end at once
    (the client refuses to send them) while finished documents are still loaded."""
    assert run.client is not None and run.settings is not None
    client = run.client
    documents: list[InvoiceDocument] = []
    quota_hit = False
    with ThreadPoolExecutor(max_workers=run.settings.max_concurrency) as pool:
        futures = [
            (invoice_id, modified, pool.submit(_invoice_detail, client, invoice_id))
            for invoice_id, modified in batch.invoices
        ]
        for invoice_id, modified, future in futures:
            try:
                documents.append(InvoiceDocument(invoice_id, modified, future.result()))
            except QuotaExhausted:
                quota_hit = True
    if quota_hit:
        run.note_quota_stop("invoice_details")
    run.details_fetched += sum(1 for d in documents if d.detail is not None)
    run.details_missing += sum(1 for d in documents if d.detail is None)
    run.progress.page("invoice_details", len(documents), len(documents))
    if documents:
        yield documents


def _invoice_detail(client: ZohoClient, invoice_id: str) -> dict[str, Any] | None:
    try:
        return client.get(f"/invoices/{invoice_id}", "invoice")
    except RecordNotFound:
        return None


def invoice_detail_rows(
    documents: list[InvoiceDocument], run: SyncRun
) -> Iterator[list[dict[str, Any]]]:
    """One row per invoice read: what the listing lacks, stamped with the invoice's
    `last_modified_time` at reading (what "pending" compares against)."""
    shape = TableShape(
        "invoice_details", INVOICE_DETAIL_COLUMNS, _existing_types("invoice_details")
    )
    fetched_at = datetime.now(timezone.utc)
    rows = []
    for doc in documents:
        if doc.detail is None:
            row = {
                "invoice_id": doc.invoice_id,
                "last_modified_time": doc.listed_modified,
                "details_fetched_at": fetched_at,
                "is_deleted": True,
            }
        else:
            row = {
                k: v
                for k, v in doc.detail.items()
                if k != "line_items" and k not in INVOICE_DETAIL_SKIP
            }
            row.update(details_fetched_at=fetched_at, is_deleted=False)
        rows.append(row)
    yield shape.arrow_table(rows)


def invoice_line_item_rows(
    documents: list[InvoiceDocument], run: SyncRun
) -> Iterator[list[dict[str, Any]]]:
    """The lines of each invoice read. Merged on line_item_id with merge key invoice_id:
    re-reading an invoice replaces all of its lines, so removed lines disappear."""
    shape = TableShape(
        "invoice_line_items", LINE_ITEM_COLUMNS, _existing_types("invoice_line_items")
    )
    rows = []
    for doc in documents:
        if doc.detail is None:
            continue
        for line in doc.detail.get("line_items") or []:
            row = {
                **line,
                "invoice_id": doc.invoice_id,
                "last_modified_time": doc.detail.get("last_modified_time"),
            }
            rows.append(row)
    run.progress.wrote("invoice_line_items", len(rows))
    if rows:
        yield shape.arrow_table(rows)
