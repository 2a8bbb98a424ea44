"""Records the loader could not shape into storable rows: kept aside, never blocking.

loader/zoho/records.py cleans what PostgreSQL cannot store (NUL characters and lone surrogates
become U+FFFD). A record that still cannot become a row (a time that is not a time, a
number beyond numeric(38, 9), a key that is missing or too long to index) is left out of
the load and noted here; pipeline.py writes the notes into `zoho_staging.quarantine`
(one row per table and record, its last raw payload, why, when first and last seen, the
last run that saw it) and counts them in the run's `sync_runs` row. The record is read
again when Zoho changes it (cursors move past it otherwise; items are listed every run),
and a fixed record loads like any other.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loader.names import RAW_SCHEMA
from loader.warehouse.locking import schema_changes

log = logging.getLogger(__name__)

PAYLOAD_MAX_CHARS = 1_000_000  # a 100k-character field still fits; a runaway one does not

QUARANTINE_DDL = """
create table if not exists {table} (
    table_name text not null,
    record_id text not null,
    payload text not null,
    reason text not null,
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    run_id text not null,
    times_seen bigint not null default 1
);
create unique index if not exists quarantine__table_record
    on {table} (table_name, md5(record_id))
"""

UPSERT_SQL = """
insert into {table} (table_name, record_id, payload, reason, run_id)
values (%s, %s, %s, %s, %s)
on conflict (table_name, md5(record_id)) do update
set payload = excluded.payload, reason = excluded.reason, run_id = excluded.run_id,
    last_seen_at = now(), times_seen = {table}.times_seen + 1
"""


@dataclass(frozen=True)
class Rejected:
    """One record left out of a load, and why."""

    table: str
    record_id: str
    payload: str
    reason: str


def payload_text(record: Mapping[str, Any]) -> str:
    """The raw record as ASCII JSON: NUL and lone surrogates stay visible as `\\u` escapes
    and still fit a text column."""
    text = json.dumps(record, ensure_ascii=True, default=str, sort_keys=True)
    return text if len(text) <= PAYLOAD_MAX_CHARS else text[:PAYLOAD_MAX_CHARS] + "...(cut)"


class Quarantine:
    """The records one run left out (shared by the run's resources and threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[Rejected] = []

    def __len__(self) -> int:
        return len(self.records)

    def add(self, table: str, record_id: str, record: Mapping[str, Any], reason: str) -> None:
        """Note a record left out; `record_id` must already be storable text."""
        log.warning(
            "%s: record %s cannot be stored and is quarantined: %s",
            table,
            record_id[:100] or "(no id)",
            reason,
        )
        with self._lock:
            self.records.append(Rejected(table, record_id, payload_text(record), reason))

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for record in self.records:
            found[record.table] = found.get(record.table, 0) + 1
        return found

    def save(self, conn: Any, run_id: str, schema: str = RAW_SCHEMA) -> int:
        """Write the run's records into `<schema>.quarantine`; returns how many."""
        if not self.records:
            return 0
        table = f'"{schema}".quarantine'
        with schema_changes(conn), conn.cursor() as cursor:
            cursor.execute(f'create schema if not exists "{schema}"')
            cursor.execute(QUARANTINE_DDL.format(table=table))
        with conn.cursor() as cursor:
            for r in self.records:
                cursor.execute(
                    UPSERT_SQL.format(table=table),
                    (r.table, r.record_id, r.payload, r.reason, run_id),
                )
        return len(self.records)
