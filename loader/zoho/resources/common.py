"""What every resource shares: the counters it reports to, arrow batching, the cursor of
an incremental listing, deletions: confirmed (`confirm_missing`), then marked, and the
detail reader of invoices, bills and stock readings (`pending_batches`, `fetch_documents`):
one `GET /<records>/{id}` per pending record."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from loader.errors import QuotaExhausted, RecordNotFound
from loader.zoho.contract import columns
from loader.zoho.contract.types import DLT_TYPES, ColumnType
from loader.zoho.http import ZohoClient
from loader.zoho.modules import Module
from loader.zoho.progress import Progress
from loader.zoho.quarantine import Quarantine
from loader.zoho.records import TableShape, content_hash, parse_zoho_timestamp

log = logging.getLogger("loader.zoho.resources")

ARROW_BATCH_ROWS = 5000
ARROW_BATCH_PIECES = 64  # page tables an ArrowBatch holds before it combines them
# Pending records a batch of detail calls reads (its documents are loaded together).
DETAIL_BATCH = 50

# dlt's type back to ours; a `double` column (dlt's guess for a float) holds money here
_DLT_TO_KIND: dict[str, ColumnType] = {
    **{dlt_type: kind for kind, dlt_type in DLT_TYPES.items()},
    "double": "decimal",
}


@dataclass
class Counters:
    """What the resources of one loader run report back: progress, which resources a
    daily-quota stop ended, how many invoice details were read and the records left out
    because they cannot be stored. Shared by threads."""

    progress: Progress = field(default_factory=Progress)
    quarantine: Quarantine = field(default_factory=Quarantine)
    stopped_by_quota: list[str] = field(default_factory=list)
    details_read: int = 0
    details_gone: int = 0

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


class StoredRows(Protocol):
    """The stored rows a deletion mark re-writes (loader.zoho.stored.Destination implements it)."""

    def rows_by_id(
        self, table: str, id_column: str, ids: Sequence[str], where: str = "", *params: Any
    ) -> Iterator[list[dict[str, Any]]]: ...


def existing_types(table: str) -> dict[str, ColumnType]:
    """Column types dlt's schema already has for `table` (for fields not declared)."""
    try:
        schema = dlt.current.source_schema()
    except Exception:
        return {}
    columns = schema.tables.get(table, {}).get("columns", {})
    kinds = {
        name: _DLT_TO_KIND.get(str(col.get("data_type") or "")) for name, col in columns.items()
    }
    return {name: kind for name, kind in kinds.items() if kind is not None}


def table_shape(table: str, counters: Counters) -> TableShape:
    """The run's shape of `table`: declared columns, types dlt already has, and the run's
    quarantine for records that cannot be stored."""
    return TableShape(table, columns(table), existing_types(table), counters.quarantine)


def with_json_hints(table: pa.Table, shape: TableShape, new_fields: Sequence[str]) -> Any:
    """Tell dlt that newly seen nested fields are JSON (they travel as text in arrow)."""
    json_fields = [name for name in new_fields if shape.types.get(name) == "json"]
    if not json_fields:
        return table
    hints: Any = shape.dlt_columns(json_fields)
    return dlt.mark.with_hints(table, dlt.mark.make_hints(columns=hints))


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
            if len(self._tables) >= ARROW_BATCH_PIECES:
                # A listing with a few changes a page (1% of a million items: 2 rows a
                # page) kept thousands of tiny tables here, each with its own buffers:
                # 150 MB more RSS than the same listing with no change. One table instead.
                self._tables = [self._joined().combine_chunks()]
        self._new_fields.extend(new_fields)
        if self._count >= self.rows:
            yield from self.flush()

    def _joined(self) -> pa.Table:
        # a field a later page brought (a new Zoho field) is null in the earlier pages' rows
        return pa.concat_tables(self._tables, promote_options="default")

    def flush(self) -> Iterator[Any]:
        if not self._tables:
            return
        table = self._joined()
        new_fields, self._new_fields = self._new_fields, []
        self._tables, self._count = [], 0
        yield with_json_hints(table, self.shape, new_fields)


class ListingCursor:
    """The newest `last_modified_time` a complete listing reached, in the resource's own
    dlt state (`dlt.current.resource_state()`, committed with the load's rows).

    Zoho's filter is inclusive and its times have whole seconds, so the records stamped
    exactly at the cursor are listed again by the next run; their content digests are kept
    with the cursor and an unchanged one is not written twice. The cursor moves only when
    `complete()` is called after the whole listing was read: a listing a quota stop cut
    short leaves it where the run found it (records older than the newest one seen may
    still be unread; the merge absorbs the overlap)."""

    def __init__(self, state: dict[str, Any], full_refresh: bool = False) -> None:
        self._state = state
        saved = None if full_refresh else state.get("last_modified_time")
        self.start: datetime | None = parse_zoho_timestamp(saved)
        self._seen_at_start = set(state.get("digests_at_cursor") or []) if self.start else set()
        self._newest = self.start
        self._at_newest: set[str] = set(self._seen_at_start)

    def fresh(self, records: Sequence[Mapping[str, Any]], times: pa.ChunkedArray) -> list[bool]:
        """Which records to write (newer than the cursor, or at it but changed); notes
        the newest time seen."""
        mask = []
        for record, when in zip(records, times.to_pylist(), strict=True):
            if when is None:
                mask.append(True)
                continue
            at_start = self.start is not None and when == self.start
            newest = self._newest is None or when >= self._newest
            digest = content_hash(record) if at_start or newest else ""
            if self._newest is None or when > self._newest:
                self._newest, self._at_newest = when, set()
            if when == self._newest:
                self._at_newest.add(digest)
            if self.start is None or when > self.start:
                mask.append(True)
            else:
                mask.append(at_start and digest not in self._seen_at_start)
        return mask

    def complete(self) -> None:
        if self._newest is None:
            return
        self._state["last_modified_time"] = self._newest.isoformat()
        self._state["digests_at_cursor"] = sorted(self._at_newest)


def count_at_or_after(times: pa.ChunkedArray, cursor: datetime) -> int:
    scalar = pa.scalar(cursor, type=times.type)
    return int(pc.sum(pc.greater_equal(times, scalar)).as_py() or 0)


def stored_rows_marked_deleted(
    stored: StoredRows | None,
    table: str,
    id_column: str,
    ids: list[str],
    deleted_at: datetime,
    where: str = "",
    *params: Any,
) -> Iterator[list[dict[str, Any]]]:
    """The stored rows of `ids` re-written with is_deleted: a delete-insert merge replaces
    whole rows, so a deletion mark must carry the rest of the row along."""
    if stored is None or not ids:
        return
    for chunk in stored.rows_by_id(table, id_column, ids, where, *params):
        for row in chunk:
            row["is_deleted"] = True
            row["deleted_at"] = deleted_at
        yield chunk


@dataclass
class MissingChecked:
    """Records a complete listing did not show, sorted out by `confirm_missing`."""

    gone: list[str] = field(default_factory=list)
    """Deleted: Zoho answered "not found", or two complete listings in a row missed them."""
    found: list[dict[str, Any]] = field(default_factory=list)
    """Still in Zoho (an edit during the listing shifted them past a page boundary)."""
    waiting: list[str] = field(default_factory=list)
    """Missing once, not asked for: the next complete listing decides."""
    quota_hit: bool = False


def confirm_missing(
    missing: Sequence[str],
    state: dict[str, Any],
    fetch: Callable[[str], dict[str, Any] | None],
    max_calls: int,
) -> MissingChecked:
    """Which records missing from a complete listing are really deleted.

    A listing paged by name is not a snapshot: a record deleted or renamed on a page
    already read shifts the later pages, and a live record is never listed. So a missing
    record is deleted only when Zoho confirms it: `fetch` (GET /<records>/{id}) raises
    RecordNotFound, or the previous complete listing missed it too (`state["missing_once"]`,
    the resource's dlt state, committed with the load). `max_calls` caps the calls (the
    daily quota is the scarcest resource): the rest wait for the next listing."""
    before = set(state.get("missing_once") or [])
    checked = MissingChecked(gone=[i for i in missing if i in before])
    fresh = [i for i in missing if i not in before]
    for n, record_id in enumerate(fresh):
        if n >= max_calls:
            checked.waiting.extend(fresh[n:])
            break
        try:
            record = fetch(record_id)
        except RecordNotFound:
            checked.gone.append(record_id)
            continue
        except QuotaExhausted:
            checked.quota_hit = True
            checked.waiting.extend(fresh[n:])
            break
        if record is None:
            checked.waiting.append(record_id)
        else:
            checked.found.append(record)
    state["missing_once"] = sorted(checked.waiting)
    return checked


# ----- details: one GET /<records>/{id} per pending record --------------------------------
@dataclass
class PendingBatch:
    """Records whose stored detail is missing or older than their listing: (id, the
    listing's last_modified_time)."""

    records: list[tuple[str, datetime]]


@dataclass
class DetailDocument:
    """One record's detail as Zoho answered it."""

    record_id: str
    listed_modified: datetime
    detail: dict[str, Any] | None  # None: Zoho no longer has the record (404)


def pending_batches(
    pending: Sequence[tuple[str, datetime]], client: ZohoClient, counters: Counters
) -> Iterator[PendingBatch]:
    """The pending records (newest first, already cut to the budget: loader/run/pipeline.py
    reads them after the listings were loaded) in batches of DETAIL_BATCH; none after a
    daily-quota stop."""
    for start in range(0, len(pending), DETAIL_BATCH):
        if counters.stopped_by_quota or client.stats.quota_exhausted:
            return
        yield PendingBatch(list(pending[start : start + DETAIL_BATCH]))


def fetch_documents(
    batch: PendingBatch, client: ZohoClient, counters: Counters, module: Module, resource: str
) -> Iterator[list[DetailDocument]]:
    """`GET <module.endpoint>/{id}` for a batch, `max_concurrency` at a time (the client's
    call pool); `resource` is the table the details feed, named in progress and quota stops.

    A small thread pool of our own rather than dlt's parallel transformers: its size is
    Zoho's concurrency limit, and after a quota stop the remaining calls end at once
    (the client refuses to send them) while finished documents are still loaded."""
    documents: list[DetailDocument] = []
    quota_hit = False
    pool = client.call_pool()
    futures = [
        (record_id, modified, pool.submit(_detail, client, module, record_id))
        for record_id, modified in batch.records
    ]
    try:
        for record_id, modified, future in futures:
            try:
                documents.append(DetailDocument(record_id, modified, future.result()))
            except QuotaExhausted:
                quota_hit = True
    finally:  # a failed call ends the batch: its calls not started are not sent
        for _, _, future in futures:
            future.cancel()
    if quota_hit:
        counters.note_quota_stop(resource)
    counters.details_read += sum(1 for d in documents if d.detail is not None)
    counters.details_gone += sum(1 for d in documents if d.detail is None)
    counters.progress.page(resource, len(documents), len(documents))
    if documents:
        yield documents


def _detail(client: ZohoClient, module: Module, record_id: str) -> dict[str, Any] | None:
    try:
        return client.get(f"{module.endpoint}/{record_id}", module.singular)
    except RecordNotFound:
        return None
