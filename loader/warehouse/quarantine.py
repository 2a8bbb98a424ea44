"""`zoho_staging.quarantine`: the records a load left out because they cannot be stored
(loader/zoho/quarantine.py decides which and why), one row per table and record: its last
raw payload, why, when first and last seen, the last run that saw it and how often. The
loader's runs and the webhook worker write it; a fixed record loads like any other and
its row stays as history. The table's DDL and every query on it live here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loader.names import RAW_SCHEMA
from loader.warehouse.locking import schema_changes

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


def _table(schema: str) -> str:
    return f'"{schema}".quarantine'


def save(
    conn: Any, records: Iterable[tuple[str, str, str, str]], run_id: str, schema: str = RAW_SCHEMA
) -> int:
    """Note `records` ((table, record id, payload, reason) each: storable text) as seen by
    `run_id`, creating the table on first use; returns how many."""
    rows = list(records)
    if not rows:
        return 0
    table = _table(schema)
    # in turns with other runs' schema changes (loader/warehouse/locking.py)
    with schema_changes(conn), conn.cursor() as cursor:
        cursor.execute(f'create schema if not exists "{schema}"')
        cursor.execute(QUARANTINE_DDL.format(table=table))
    with conn.cursor() as cursor:
        for row in rows:
            cursor.execute(UPSERT_SQL.format(table=table), (*row, run_id))
    return len(rows)
