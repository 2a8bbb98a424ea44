"""What the destination already holds, read back so a run writes only what changed.

Items have no "modified since" filter: every run lists them all, and only rows that are
new, changed, deleted or back from deletion may be written. At a million items a dict of
a million Python objects would cost hundreds of megabytes, so `Snapshot` keeps
(key, version, is_deleted) in flat machine arrays (about 40 bytes a row) and finds a key
by binary search.

`Destination` reads it through the pipeline's own SQL client; pipeline.py reads before
extraction and passes what it read to the resources as arguments.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loader.warehouse.catalog import COLUMNS_SQL
from loader.zoho.modules import INVENTORY_ADJUSTMENTS

_INT64_MAX = (1 << 63) - 1
FETCH_ROWS = 20_000


def _is_plain_number(record_id: str) -> bool:
    """Zoho's IDs: ASCII digits, no leading zero, fitting a signed 64-bit integer."""
    return (
        record_id.isascii()
        and record_id.isdigit()
        and len(record_id) <= 19
        and (record_id[0] != "0" or record_id == "0")
        and int(record_id) <= _INT64_MAX
    )


def id_key(record_id: str) -> int:
    """A signed 64-bit key for an ID: the number itself for Zoho's digit IDs (so the ID
    can be rebuilt from the key), else a 64-bit digest (collision odds at a million keys:
    about 1 in 10^7)."""
    if _is_plain_number(record_id):
        return int(record_id)
    digest = hashlib.blake2b(record_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hash_version(content_hash: str | None) -> int:
    """A 64-bit version number from a hex content hash (for rows without timestamps)."""
    if not content_hash:
        return -1
    return int.from_bytes(bytes.fromhex(content_hash[:16]), "big", signed=True)


class Verdict(Enum):
    NEW = "new"
    CHANGED = "changed"
    REAPPEARED = "reappeared"
    UNCHANGED = "unchanged"
    REPEATED = "repeated"  # the same key again within one listing

    @property
    def write(self) -> bool:
        return self in (Verdict.NEW, Verdict.CHANGED, Verdict.REAPPEARED)


# What `Snapshot._seen` holds per stored key: not listed yet (0), listed, or listed with
# the stored version (so a newer copy later in the same listing is still written).
_SEEN, _SEEN_UNCHANGED = 1, 2

# Zoho repeats a record across a page boundary; new keys are remembered this far back.
_RECENT_NEW_KEYS = 500


class Snapshot:
    """Stored (key, version, is_deleted) of one table sorted by key, plus which keys this
    run's listing has seen: about 18 bytes a row, no Python object per row.

    IDs are not stored: a Zoho ID is its own key, and the few IDs that are not plain
    numbers are kept in a small dict to rebuild `missing()`."""

    def __init__(
        self, keys: pa.Array, versions: pa.Array, deleted: bytearray, odd_ids: dict[int, str]
    ) -> None:
        self._keys_array, self._versions_array = keys, versions  # own the buffers
        self._keys = _int64_view(keys)
        self._versions = _int64_view(versions)
        self._deleted = deleted
        self._odd_ids = odd_ids
        self._seen = bytearray(len(keys))
        self._recent_new: set[int] = set()
        self._older_new: set[int] = set()

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def empty(cls) -> Snapshot:
        return cls.from_rows([])

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> Snapshot:
        """Build from (id, version, is_deleted) rows, streamed."""
        keys, versions, deleted = array("q"), array("q"), array("B")
        odd_ids: dict[int, str] = {}
        for record_id, version, is_deleted in rows:
            key = id_key(record_id)
            if not _is_plain_number(record_id):
                odd_ids[key] = record_id
            keys.append(key)
            versions.append(-1 if version is None else int(version))
            deleted.append(1 if is_deleted else 0)
        key_array = _int64_array(keys)
        order = pc.sort_indices(key_array)
        sorted_keys = pc.take(key_array, order)
        del key_array, keys
        sorted_versions = pc.take(_int64_array(versions), order)
        del versions
        flag_array = pa.Array.from_buffers(pa.uint8(), len(deleted), [None, pa.py_buffer(deleted)])
        flags = pc.take(flag_array, order)
        del flag_array, deleted
        return cls(sorted_keys, sorted_versions, _bytes_of(flags), odd_ids)

    def _find(self, key: int) -> int:
        i = bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def _repeated_new(self, key: int) -> bool:
        """Was this new key listed a moment ago? Bounded memory: a first load lists a
        million new keys, and a repeat farther apart is caught by the merge anyway."""
        if key in self._recent_new or key in self._older_new:
            return True
        if len(self._recent_new) >= _RECENT_NEW_KEYS:
            self._older_new, self._recent_new = self._recent_new, set()
        self._recent_new.add(key)
        return False

    def classify(self, record_id: str, version: int | None, force: bool = False) -> Verdict:
        """What to do with a listed record; marks it seen. `force` writes unchanged rows
        too (full refresh) but still skips repeats within the listing."""
        key = id_key(record_id)
        i = self._find(key)
        if i < 0:
            return Verdict.REPEATED if self._repeated_new(key) else Verdict.NEW
        changed = self._versions[i] != (-1 if version is None else version)
        if self._seen[i]:
            # Listed again. An item renamed across a page boundary while the listing is
            # read shows up twice, unchanged first and newer second: write the newer one.
            if self._seen[i] == _SEEN_UNCHANGED and changed:
                self._seen[i] = _SEEN
                return Verdict.CHANGED
            return Verdict.REPEATED
        self._seen[i] = _SEEN_UNCHANGED if not (force or changed or self._deleted[i]) else _SEEN
        j = i + 1  # a key stored twice (a warehouse without the unique index) is seen once
        while j < len(self._keys) and self._keys[j] == key:
            self._seen[j] = _SEEN
            j += 1
        if self._deleted[i]:
            return Verdict.REAPPEARED
        if force or changed:
            return Verdict.CHANGED
        return Verdict.UNCHANGED

    def classify_many(
        self, ids: Sequence[str], versions: Sequence[int | None], force: bool = False
    ) -> list[bool]:
        """A write mask for a page."""
        return [self.classify(i, v, force).write for i, v in zip(ids, versions, strict=True)]

    def missing(self) -> Iterator[str]:
        """IDs stored as present but not seen by this (complete) listing: deleted in Zoho."""
        seen, deleted, keys, odd = self._seen, self._deleted, self._keys, self._odd_ids
        for i in range(len(keys)):
            if not seen[i] and not deleted[i]:
                key = keys[i]
                yield odd.get(key) or str(key)


def _bytes_of(values: pa.Array) -> bytearray:
    if not len(values):
        return bytearray()
    buffer = values.buffers()[1]
    return bytearray(memoryview(buffer)[values.offset : values.offset + len(values)])


def _int64_view(values: pa.Array) -> memoryview:
    """A zero-copy sequence of Python ints over an int64 arrow array (bisect-able)."""
    buffer = values.buffers()[1] if len(values) else None
    if buffer is None:
        return memoryview(array("q"))
    start = values.offset * 8
    return memoryview(buffer)[start : start + len(values) * 8].cast("q")


def _int64_array(values: array) -> pa.Array:
    if not values:
        return pa.array([], pa.int64())
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


# ----- reading the destination ------------------------------------------------------------
EPOCH_MICROS_SQL = "(extract(epoch from last_modified_time) * 1000000)::bigint"
HASH_VERSION_SQL = "('x' || substr(content_hash, 1, 16))::bit(64)::bigint"
# Items whose stock per location is read: inventory items not marked deleted.
ITEM_STOCK_CONDITION = "i.item_type = 'inventory' and not coalesce(i.is_deleted, false)"
PENDING_DETAILS_SQL = """
    from {records} i
    left join {details} d on d.organization_id = i.organization_id and d.{id} = i.{id}
    where (d.{id} is null or i.last_modified_time > d.last_modified_time) {org}
"""


class Pending(Sequence[tuple[str, Any]]):
    """(id, last_modified_time) pairs of the records awaiting their details, newest first,
    held as two arrow arrays: a 130k-record backfill's list in about 3 MB instead of about
    25 MB of Python tuples kept through the whole details phase (issue 25, peak RSS).
    Slices (how the details resources take their batches) come back as Python tuples."""

    def __init__(self, ids: pa.Array, times: pa.Array) -> None:
        self._ids = ids
        self._times = times

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            count = max(stop - start, 0)
            ids = self._ids.slice(start, count).to_pylist()
            times = self._times.slice(start, count).to_pylist()
            return list(zip(ids, times, strict=True))
        position = range(len(self))[index]  # negative indices, IndexError
        return (self._ids[position].as_py(), self._times[position].as_py())

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[Any, Any]]) -> Pending:
        """From (id, timestamptz) rows, read a chunk at a time."""
        ids: list[pa.Array] = []
        times: list[pa.Array] = []
        chunk: list[tuple[Any, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= FETCH_ROWS:
                cls._add(chunk, ids, times)
                chunk = []
        cls._add(chunk, ids, times)
        return cls(pa.concat_arrays(ids), pa.concat_arrays(times))

    @staticmethod
    def _add(chunk: list[tuple[Any, Any]], ids: list[pa.Array], times: list[pa.Array]) -> None:
        ids.append(pa.array([str(r[0]) for r in chunk], pa.string()))
        times.append(pa.array([r[1] for r in chunk], pa.timestamp("us", tz="UTC")))


class Destination:
    """Queries on the pipeline's dataset, through the pipeline's own SQL client (so the
    source needs no second set of warehouse credentials); any table may not exist yet
    (first run). pipeline.py reads the snapshots and the pending invoices with it before
    extraction and passes them to the resources.

    With `organization_id`, every query reads that organization's rows only (the raw
    tables hold every organization's, keyed by (organization_id, id)). Every table it
    reads has the column: a run's upgrade step (loader/warehouse/organization_upgrade.py)
    gives it to a warehouse of an earlier version before anything is read."""

    def __init__(self, sql_client: Any, organization_id: str | None = None) -> None:
        self._client = sql_client
        self.organization_id = organization_id

    def scope(self, alias: str = "") -> tuple[str, tuple[Any, ...]]:
        """(`organization_id = %s`, its parameter), or ("", ()) to read every organization's
        rows (no organization given); `alias` qualifies the column."""
        if self.organization_id is None:
            return "", ()
        column = f"{alias}.organization_id" if alias else "organization_id"
        return f"{column} = %s", (self.organization_id,)

    def _where(self, where: str, params: tuple[Any, ...]) -> tuple[str, tuple]:
        condition, scoped = self.scope()
        parts = [part for part in (where, condition) if part]
        return ("where " + " and ".join(parts) if parts else ""), (*params, *scoped)

    def table(self, name: str) -> str:
        return str(self._client.make_qualified_table_name(name))

    def existing_columns(self, table: str) -> set[str]:
        with self._client as client:
            rows = client.execute_sql(
                COLUMNS_SQL, client.fully_qualified_dataset_name(quote=False), table
            )
        return {row[0] for row in rows or []}

    def fetch(self, sql: str, *params: Any) -> list[tuple]:
        with self._client as client:
            return list(client.execute_sql(sql, *params) or [])

    def stream(self, sql: str, *params: Any) -> Iterator[tuple]:
        """Rows of a big query through a server-side cursor: memory stays flat."""
        with self._client as client:
            conn = client.native_connection
            with client.begin_transaction(), conn.cursor(name="zoho_stream") as cursor:
                cursor.itersize = FETCH_ROWS
                cursor.execute(sql, params or None)
                yield from cursor

    def snapshot(
        self, table: str, id_column: str, version_sql: str, where: str = "", *params: Any
    ) -> Snapshot:
        """(id, version, is_deleted) of `table`, or an empty snapshot before its first load."""
        columns = self.existing_columns(table)
        if id_column not in columns:
            return Snapshot.empty()
        deleted = "coalesce(is_deleted, false)" if "is_deleted" in columns else "false"
        clause, values = self._where(where, params)
        sql = f"select {id_column}, {version_sql}, {deleted} from {self.table(table)} {clause}"
        return Snapshot.from_rows(self.stream(sql, *values))

    def stored_ids(self, table: str, id_column: str) -> list[tuple[str, bool]]:
        """(id, is_deleted) of every stored row, for a deletion check (empty before the
        table's first load)."""
        existing = self.existing_columns(table)
        if id_column not in existing:
            return []
        deleted = "coalesce(is_deleted, false)" if "is_deleted" in existing else "false"
        clause, values = self._where("", ())
        sql = f"select {id_column}, {deleted} from {self.table(table)} {clause}"
        return [(str(r[0]), bool(r[1])) for r in self.stream(sql, *values)]

    def items_snapshot(self) -> Snapshot:
        return self.snapshot("items", "item_id", EPOCH_MICROS_SQL)

    def pricebooks_snapshot(self) -> Snapshot:
        return self.snapshot("pricebooks", "pricebook_id", HASH_VERSION_SQL)

    def pricebook_items_snapshot(self, pricebook_id: str) -> Snapshot:
        return self.snapshot(
            "pricebook_items", "item_id", HASH_VERSION_SQL, "pricebook_id = %s", pricebook_id
        )

    def live_pricebook_items_outside(self, keep: list[str]) -> Iterator[tuple[str, list[str]]]:
        """(pricebook_id, live item ids) of every stored list not in `keep`."""
        if "pricebook_id" not in self.existing_columns("pricebook_items"):
            return
        table = self.table("pricebook_items")
        clause, values = self._where(
            "not coalesce(is_deleted, false) and not (pricebook_id = any(%s))",
            (keep,),
        )
        gone = self.fetch(f"select distinct pricebook_id from {table} {clause}", *values)
        for (pricebook_id,) in gone:
            clause, values = self._where(
                "pricebook_id = %s and not coalesce(is_deleted, false)",
                (pricebook_id,),
            )
            live = self.fetch(f"select item_id from {table} {clause}", *values)
            yield pricebook_id, [row[0] for row in live]

    def pending_invoices(self, budget: int) -> Sequence[tuple[str, Any]]:
        """Up to `budget` (invoice_id, last_modified_time) whose details are missing or
        older than the listing, newest first: a backfill resumes where the last run stopped."""
        return self._pending("invoices", "invoice_details", "invoice_id", budget)

    def pending_bills(self, budget: int) -> Sequence[tuple[str, Any]]:
        """Up to `budget` (bill_id, last_modified_time) awaiting their details, newest first."""
        return self._pending("bills", "bill_details", "bill_id", budget)

    def pending_item_stock(self, budget: int) -> Sequence[tuple[str, Any]]:
        """Up to `budget` (item_id, last_modified_time) of inventory items changed since
        their stock per location was read (or never read), newest first."""
        return self._pending(
            "items", "item_stock_readings", "item_id", budget, ITEM_STOCK_CONDITION
        )

    def count_pending_item_stock(self) -> int:
        """Inventory items whose stock per location awaits a reading (0 before items)."""
        if "item_type" not in self.existing_columns("items"):
            return 0
        count = self._count_pending("items", "item_stock_readings", "item_id", ITEM_STOCK_CONDITION)
        return count or 0

    def _pending(
        self, records: str, details: str, id_column: str, budget: int, where: str = ""
    ) -> Sequence[tuple[str, Any]]:
        if budget <= 0 or id_column not in self.existing_columns(records):
            return []
        if where and "item_type" not in self.existing_columns(records):
            return []
        sql, values = self._pending_sql(
            records, details, id_column, f"i.{id_column}, i.last_modified_time", where
        )
        order = f" order by i.last_modified_time desc, i.{id_column} limit %s"
        return Pending.from_rows(self.stream(sql + order, *values, budget))

    def count_pending_details(self) -> int | None:
        """Invoices and bills still waiting for their details (None before the first
        invoice or bill load)."""
        counts = [
            self._count_pending(records, details, id_column)
            for records, details, id_column in (
                ("invoices", "invoice_details", "invoice_id"),
                ("bills", "bill_details", "bill_id"),
            )
        ]
        known = [c for c in counts if c is not None]
        return sum(known) if known else None

    def _count_pending(
        self, records: str, details: str, id_column: str, where: str = ""
    ) -> int | None:
        if id_column not in self.existing_columns(records):
            return None
        sql, values = self._pending_sql(records, details, id_column, "count(*)", where)
        return int(self.fetch(sql, *values)[0][0])

    def _pending_sql(
        self, records: str, details: str, id_column: str, select: str, where: str = ""
    ) -> tuple[str, tuple[Any, ...]]:
        """The records of this organization (and `where`, on alias `i`) whose details are
        missing or stale."""
        condition, values = self.scope("i")
        condition = " and ".join(part for part in (condition, where) if part)
        if id_column not in self.existing_columns(details):
            where = f" where {condition}" if condition else ""
            return f"select {select} from {self.table(records)} i{where}", values
        sql = f"select {select} " + PENDING_DETAILS_SQL.format(
            records=self.table(records),
            details=self.table(details),
            id=id_column,
            org=f"and {condition}" if condition else "",
        )
        return sql, values

    def adjustment_events(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Stored webhook events of inventory adjustments after `after_id` (oldest first,
        at most `limit`): those the receiver accepted with a payload (a malformed request
        was set aside by the receiver with its reason). None before the receiver's table."""
        existing = self.existing_columns("webhook_events")
        if "payload" not in existing:
            return []
        clause, values = self._where(
            "module = %s and id > %s and payload is not null and status <> 'malformed'",
            (INVENTORY_ADJUSTMENTS.webhook_module, after_id),
        )
        sql = (
            "select id, event_type, entity_id, received_at, payload "
            f"from {self.table('webhook_events')} {clause} order by id limit %s"
        )
        names = ("id", "event_type", "entity_id", "received_at", "payload")
        return [dict(zip(names, row, strict=True)) for row in self.fetch(sql, *values, limit)]

    def rows_by_id(
        self, table: str, id_column: str, ids: Sequence[str], where: str = "", *params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """Full stored rows (without dlt's bookkeeping columns) in chunks of 1000, to
        re-write them marked deleted: a delete-insert merge replaces whole rows."""
        condition = f"{id_column} = any(%s)" + (f" and {where}" if where else "")
        clause, values = self._where(condition, ("ids", *params))
        sql = f"select * from {self.table(table)} {clause}"
        for start in range(0, len(ids), 1000):
            batch = list(ids[start : start + 1000])
            query = (batch, *values[1:])
            with self._client as client, client.execute_query(sql, *query) as cursor:
                names = [d[0] for d in cursor.native_cursor.description]
                rows = cursor.fetchall()
            yield [
                {k: v for k, v in zip(names, values, strict=True) if not k.startswith("_dlt_")}
                for values in rows
            ]
