"""`zoho_staging.webhook_events`: every webhook request that got as far as being read, one
row per distinct event, committed before the receiver answers 2xx.

Statuses:
- `pending`   accepted, waiting for the worker (attempts, next_attempt_at, last_error);
- `applied`   written to the raw tables (applied_at);
- `ignored`   accepted but of a module the worker does not apply (e.g. bills), or older
              than what the raw tables already hold;
- `dead`      failed `attempts` times: dead-lettered, see `python -m loader webhooks`;
- `discarded` an operator gave up on it (`webhooks discard`);
- `rejected`  401: missing or wrong signature/token. Only metadata is kept (size, hash of
              the body), never the body: it comes from anyone who found the URL;
- `malformed` 400: signed but unusable (not JSON, no record id, no `?event=`). The raw body
              is kept in `raw_body` for inspection.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.extras
import psycopg2.pool

from loader.names import RAW_SCHEMA
from loader.warehouse.catalog import table_columns

log = logging.getLogger(__name__)

TABLE = f"{RAW_SCHEMA}.webhook_events"

DDL = f"""
create schema if not exists {RAW_SCHEMA};
create table if not exists {TABLE} (
    id bigserial primary key,
    received_at timestamptz not null default now(),
    last_received_at timestamptz not null default now(),
    module text not null,
    event_type text,
    entity_id text,
    last_modified_time text,
    payload jsonb,
    raw_body text,
    body_sha256 text not null,
    body_bytes integer not null,
    signature_ok boolean,
    result text not null,
    idempotency_key text unique,
    deliveries integer not null default 1,
    status text not null,
    attempts integer not null default 0,
    next_attempt_at timestamptz,
    last_error text,
    applied_at timestamptz
);
create index if not exists webhook_events_due
    on {TABLE} (next_attempt_at, id) where status = 'pending';
create index if not exists webhook_events_received on {TABLE} (received_at);
"""

REPLAYABLE = ("dead", "discarded")
DISCARDABLE = ("pending", "dead", "malformed")


@dataclass(frozen=True)
class Event:
    """One request as the receiver understood it (nothing here is a secret)."""

    module: str
    event_type: str | None
    entity_id: str | None
    last_modified_time: str | None
    payload: Any
    raw_body: str | None
    body_sha256: str
    body_bytes: int
    signature_ok: bool | None
    result: str
    status: str
    idempotency_key: str | None


def canonical_hash(payload: Any) -> str:
    """sha256 of the payload's canonical JSON (sorted keys, no whitespace): the same record
    sent again, re-serialized or as a form instead of JSON, hashes the same."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotency_key(
    module: str, event_type: str, entity_id: str, last_modified_time: str | None, payload: Any
) -> str:
    """What makes two deliveries the same event. Zoho's body carries no event id; a retry
    re-sends the same record snapshot to the same URL. So: module, event type (from the
    URL), record id and its last_modified_time, and the hash of the whole record (two
    edits within one second of `last_modified_time` still differ)."""
    return ":".join(
        (module, event_type, entity_id, last_modified_time or "-", canonical_hash(payload))
    )


class Store:
    """The events table over a small thread-safe connection pool (requests run their SQL in
    Starlette's threadpool; `size` bounds the connections, callers beyond wait)."""

    def __init__(self, pg: dict[str, str], size: int = 4) -> None:
        self._pg = pg
        self._pool = psycopg2.pool.ThreadedConnectionPool(0, size, **connect_kwargs(pg))
        self._slots = threading.BoundedSemaphore(size)

    def close(self) -> None:
        self._pool.closeall()

    @contextlib.contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor in one transaction, committed on leaving; a connection that broke (the
        warehouse restarted) is dropped from the pool instead of being reused."""
        with self._slots:
            conn = self._pool.getconn()
            broken = False
            try:
                with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                    yield cur
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                broken = True
                raise
            finally:
                self._pool.putconn(conn, close=broken or bool(conn.closed))

    def ensure(self) -> None:
        with self.cursor() as cur:
            cur.execute(DDL)

    def insert(self, event: Event) -> tuple[int, bool]:
        """Store `event` durably (committed on return); (row id, True when it is a
        redelivery of an event already stored, which is then only counted)."""
        with self.cursor() as cur:
            cur.execute(
                f"""
                insert into {TABLE} (
                    module, event_type, entity_id, last_modified_time, payload, raw_body,
                    body_sha256, body_bytes, signature_ok, result, status, idempotency_key,
                    next_attempt_at
                ) values (
                    %(module)s, %(event_type)s, %(entity_id)s, %(last_modified_time)s,
                    %(payload)s, %(raw_body)s, %(body_sha256)s, %(body_bytes)s,
                    %(signature_ok)s, %(result)s, %(status)s, %(idempotency_key)s,
                    case when %(status)s = 'pending' then now() end
                )
                on conflict (idempotency_key) do update
                    set deliveries = {TABLE}.deliveries + 1, last_received_at = now()
                returning id, deliveries > 1 as duplicate
                """,
                {
                    **event.__dict__,
                    "payload": None
                    if event.payload is None
                    else psycopg2.extras.Json(event.payload),
                },
            )
            row = cur.fetchone()
        return row["id"], row["duplicate"]

    # ----- the worker ---------------------------------------------------------------------
    def has_due(self) -> bool:
        with self.cursor() as cur:
            cur.execute(
                f"select exists (select 1 from {TABLE}"
                " where status = 'pending' and next_attempt_at <= now()) as due"
            )
            return bool(cur.fetchone()["due"])

    def due(self, limit: int) -> list[dict[str, Any]]:
        """Pending events whose next attempt is due, oldest first."""
        with self.cursor() as cur:
            cur.execute(
                f"""
                select id, received_at, module, event_type, entity_id, last_modified_time,
                       payload, attempts
                from {TABLE}
                where status = 'pending' and next_attempt_at <= now()
                order by id limit %s
                """,
                (limit,),
            )
            return list(cur.fetchall())

    def finish(self, rows: Sequence[tuple[int, str | None]], status: str) -> None:
        """Events applied, or ignored (the reason in last_error)."""
        assert status in ("applied", "ignored")
        self._update_many(
            f"""
            update {TABLE} e
            set status = '{status}', attempts = e.attempts + 1, applied_at = now(),
                next_attempt_at = null, last_error = v.note
            from (values %s) as v (id, note)
            where e.id = v.id and e.status = 'pending'
            """,
            rows,
        )

    def fail(
        self,
        rows: Sequence[tuple[int, str | None]],
        max_attempts: int,
        retry_seconds: float,
        max_retry_seconds: float,
    ) -> None:
        """Events that failed this attempt: retried after retry_seconds * 2**(attempts-1)
        (at most max_retry_seconds), dead-lettered at max_attempts."""
        tries, base, cap = int(max_attempts), float(retry_seconds), float(max_retry_seconds)
        self._update_many(
            f"""
            update {TABLE} e
            set attempts = e.attempts + 1,
                status = case when e.attempts + 1 >= {tries} then 'dead' else 'pending' end,
                next_attempt_at = case when e.attempts + 1 >= {tries} then null
                    else now() + least({base} * power(2, e.attempts), {cap})
                                 * interval '1 second' end,
                last_error = v.note
            from (values %s) as v (id, note)
            where e.id = v.id and e.status = 'pending'
            """,
            rows,
        )

    def _update_many(self, sql: str, rows: Sequence[tuple[int, str | None]]) -> None:
        with self.cursor() as cur:
            psycopg2.extras.execute_values(
                cur, sql, list(rows), template="(%s::bigint, %s::text)", page_size=1000
            )

    # ----- operators' commands (`python -m loader webhooks ...`) --------------------------
    def listing(self, statuses: Sequence[str] | None, limit: int) -> list[dict[str, Any]]:
        with self.cursor() as cur:
            cur.execute(
                f"""
                select id, received_at, module, event_type, entity_id, status, attempts,
                       deliveries, next_attempt_at, applied_at, result, last_error
                from {TABLE}
                where %(all)s or status = any(%(statuses)s)
                order by id desc limit %(limit)s
                """,
                {"all": not statuses, "statuses": list(statuses or []), "limit": limit},
            )
            return list(cur.fetchall())

    def set_status(
        self, ids: Sequence[int] | None, from_statuses: Sequence[str], to_status: str
    ) -> list[int]:
        """Move the events `ids` (None: every event in `from_statuses`) that are in one of
        `from_statuses` to `to_status`; a replay also resets attempts. The ids moved."""
        with self.cursor() as cur:
            cur.execute(
                f"""
                update {TABLE}
                set status = %(to)s,
                    attempts = case when %(to)s = 'pending' then 0 else attempts end,
                    next_attempt_at = case when %(to)s = 'pending' then now() end,
                    last_error = case when %(to)s = 'pending' then null else last_error end
                where status = any(%(from)s) and (%(every)s or id = any(%(ids)s))
                returning id
                """,
                {
                    "to": to_status,
                    "from": list(from_statuses),
                    "every": ids is None,
                    "ids": list(ids or []),
                },
            )
            return sorted(row["id"] for row in cur.fetchall())

    def statuses_of(self, ids: Sequence[int]) -> dict[int, str]:
        with self.cursor() as cur:
            cur.execute(f"select id, status from {TABLE} where id = any(%s)", (list(ids),))
            return {row["id"]: row["status"] for row in cur.fetchall()}


def modules_received_since(conn: Any, since: datetime) -> frozenset[str]:
    """The modules whose events arrived since `since` (none when the receiver never ran
    on this warehouse): the budget planner's safety-net rule reads it."""
    if not {"module", "received_at"} <= set(table_columns(conn, "webhook_events")):
        return frozenset()
    with conn.cursor() as cursor:
        cursor.execute(f"select distinct module from {TABLE} where received_at >= %s", (since,))
        return frozenset(str(row[0]) for row in cursor.fetchall())


def connect_kwargs(pg: dict[str, str]) -> dict[str, Any]:
    return {
        "host": pg["PGHOST"],
        "port": pg["PGPORT"],
        "user": pg["PGUSER"],
        "password": pg["PGPASSWORD"],
        "dbname": pg["PGDATABASE"],
        "application_name": "zoho_books webhooks",
        "connect_timeout": 10,
    }
