"""`zoho_staging.webhook_events`: every webhook request that got as far as being read, one
row per distinct event, committed before the receiver answers 2xx.

Statuses:
- `pending`   accepted, waiting for the worker (attempts, next_attempt_at, last_error);
- `applied`   written to the raw tables (applied_at);
- `ignored`   accepted but of a module the worker does not apply (e.g. bills), or older
              than what the raw tables already hold;
- `dead`      failed `attempts` times: dead-lettered, see `python -m loader webhooks`;
- `discarded` an operator gave up on it (`webhooks discard`);
- `rejected`  401 (before 0.x): missing or wrong signature/token. Refused requests are no
              longer stored one row each: they are counted per module, reason and hour
              in `webhook_rejections` (REJECTIONS), and in the receiver's metrics;
- `malformed` 400: signed but unusable (not JSON, no record id, no `?event=`). The raw body
              is kept in `raw_body` for inspection.

Every event, and every hour row of `webhook_rejections`, names the organization whose URL
it came to (`organization_id`, loader/zoho/organizations.py): the worker of an
organization applies its own events only, and health, the alerts and the planner's
evidence count an organization's own. The tables are created complete (`DDL`); one made
before several organizations gains the column once (`upgrade`), and `Store.adopt` gives
its rows the first organization (docs/webhooks.md, CHANGELOG).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg2
import psycopg2.extras
import psycopg2.pool

from loader.names import RAW_SCHEMA
from loader.warehouse import per_day
from loader.warehouse.catalog import (
    existing_indexes,
    key_gains_organization,
    organization_filter,
    table_columns,
    table_exists,
)
from loader.warehouse.locking import schema_changes

log = logging.getLogger(__name__)

NAME, REJECTIONS_NAME = "webhook_events", "webhook_rejections"
TABLE = f"{RAW_SCHEMA}.{NAME}"
REJECTIONS = f"{RAW_SCHEMA}.{REJECTIONS_NAME}"
# A listing is relaxed only while verified events of its module keep coming: applied in
# this window (loader/run/budget/inputs.py); after it, health and the alerts say so.
EVIDENCE_WINDOW = timedelta(hours=3)
REJECTIONS_KEPT = timedelta(days=90)

INDEXES = ("webhook_events_due", "webhook_events_received", "webhook_events_applied")

# The tables as this version makes them, complete (`ensure_tables`).
REJECTIONS_KEY = "hour, organization_id, module, reason"
DDL = f"""
create schema if not exists {RAW_SCHEMA};
create table if not exists {TABLE} (
    id bigserial primary key,
    organization_id text,
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
create index if not exists webhook_events_applied
    on {TABLE} (module, applied_at) where status = 'applied';
create table if not exists {REJECTIONS} (
    hour timestamptz not null,
    organization_id text not null default '',
    module text not null,
    reason text not null,
    requests bigint not null default 0,
    bytes bigint not null default 0,
    last_at timestamptz not null default now(),
    primary key ({REJECTIONS_KEY})
);
"""
# What tables made before several organizations lack (`upgrade`): the column, and the
# refusals' key with it.
UPGRADE_DDL = f"""
alter table {TABLE} add column if not exists organization_id text;
alter table {REJECTIONS} add column if not exists organization_id text not null default '';
{key_gains_organization(REJECTIONS, "webhook_rejections_pkey", REJECTIONS_KEY)}"""


def ensure_tables(conn: Any) -> bool:
    """The tables: created complete, or an earlier version's upgraded once (`upgrade`), in
    turns with other schema changes; True when any DDL ran. On tables of this version
    nothing runs but a catalog read: a receiver's start takes no lock on them (an `alter
    table`'s exclusive lock would wait for every open reader of the events, and hold up
    every insert behind it)."""
    if _current(conn):
        return False
    with schema_changes(conn):
        if not upgrade(conn):
            with conn.cursor() as cursor:
                cursor.execute(DDL)
    return True


def _current(conn: Any) -> bool:
    """Both tables exist in this version's shape: `organization_id`, the indexes."""
    return all(
        "organization_id" in table_columns(conn, name) for name in (NAME, REJECTIONS_NAME)
    ) and existing_indexes(conn, INDEXES) == set(INDEXES)


def upgrade(conn: Any) -> bool:
    """The upgrade step of tables made before several organizations (CHANGELOG, "Several
    organizations"): `webhook_events` gains `organization_id`, `webhook_rejections` gains
    it in its key (their rows are the first organization's from the receiver's next start,
    `Store.adopt`). Once: on tables that have it, made by this version or upgraded, it
    only reads the catalog. The receiver's start runs it (`ensure_tables`), and so does
    the loader's upgrade step (loader/warehouse/organization_upgrade.py): a run reads the
    events by organization even before the receiver is restarted on this version. True
    when it upgraded."""
    events = table_columns(conn, NAME)
    rejections = table_columns(conn, REJECTIONS_NAME)
    if not events:
        return False  # not made yet: `ensure_tables` makes it complete
    earlier = "organization_id" not in events or (
        bool(rejections) and "organization_id" not in rejections
    )
    if not earlier:
        return False
    with schema_changes(conn), conn.cursor() as cursor:
        cursor.execute(DDL)  # what the earlier version lacks besides: indexes, refusals' table
        cursor.execute(UPGRADE_DDL)
    log.warning("upgraded %s and %s: organization_id added", TABLE, REJECTIONS)
    return True


REPLAYABLE = ("dead", "discarded")
# Statuses of an event that did not get through: refused (401/400) or given up on.
FAILED = ("rejected", "malformed", "dead")


def health_counts(
    conn: Any, now: datetime | None = None, organization_id: str | None = None
) -> dict[str, Any] | None:
    """What the one health (loader/ops/health.py, `webhook_checks`) reads of the events
    (of one organization, or all when None): the last received, the last day's total and
    failed ones, requests refused at the door in the last day (counted per hour in
    REJECTIONS, never stored one by one), pending and dead-lettered, and `unverified`:
    `webhook_notes`' plain words for modules whose verified events stopped. None without
    the table."""
    if not table_exists(conn, NAME):
        return None
    rejections = table_exists(conn, REJECTIONS_NAME)
    mine, params = organization_filter(organization_id)
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            select max(received_at),
                   count(*) filter (where received_at > now() - interval '1 day'),
                   count(*) filter (where received_at > now() - interval '1 day'
                                    and status = any(%s)),
                   count(*) filter (where status = 'pending'),
                   min(received_at) filter (where status = 'pending'),
                   count(*) filter (where status = 'dead')
            from {TABLE} where {mine}
            """,
            (list(FAILED), *params),
        )
        last, total, failed, pending, oldest, dead = cursor.fetchone()
        refused = 0
        if rejections:
            cursor.execute(
                f"select coalesce(sum(requests), 0) from {REJECTIONS}"
                f" where hour > now() - interval '1 day' and {mine}",
                params,
            )
            refused = int(cursor.fetchone()[0])
    return {
        "last_received_at": last,
        "events_24h": total,
        "failed_24h": failed,
        "rejected_24h": refused,
        "pending": pending,
        "oldest_pending_at": oldest,
        "dead_letters": dead,
        "unverified": webhook_notes(conn, now, organization_id=organization_id),
    }


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
    organization_id: str | None = None  # whose URL it came to (None: not named)


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
    edits within one second of `last_modified_time` still differ). `of_organization`
    makes it one organization's."""
    return ":".join(
        (module, event_type, entity_id, last_modified_time or "-", canonical_hash(payload))
    )


def of_organization(organization_id: str | None, key: str) -> str:
    """`key` within one organization (the same record snapshot sent to two organizations'
    URLs is two events); unchanged when the receiver serves no named organization, and
    what `Store.adopt` gives such rows later."""
    return key if organization_id is None else f"{organization_id}:{key}"


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

    def ensure(self, first_organization: str | None = None) -> None:
        """Create or upgrade the tables (`ensure_tables`); `first_organization` adopts the
        rows stored before organizations were named (`adopt`)."""
        with self.cursor() as cur:
            ensure_tables(cur.connection)
            # the hourly counts of refused requests are kept REJECTIONS_KEPT (at start)
            cur.execute(f"delete from {REJECTIONS} where hour < now() - %s", (REJECTIONS_KEPT,))
        if first_organization is not None:
            self.adopt(first_organization)

    def adopt(self, organization_id: str) -> int:
        """Give the events and hour rows stored without an organization (by a version
        before several organizations, or a receiver serving none named) to
        `organization_id`, the first configured: the one the single-organization URL
        serves. Their idempotency keys become its own (`of_organization`), so a Zoho
        redelivery of one of them is still a duplicate. The events adopted."""
        with self.cursor() as cur:
            cur.execute(
                f"update {TABLE} set organization_id = %(org)s,"
                " idempotency_key = %(org)s || ':' || idempotency_key"
                " where organization_id is null",
                {"org": organization_id},
            )
            adopted = int(cur.rowcount)
            cur.execute(
                f"""
                update {REJECTIONS} as r set organization_id = %(org)s
                where organization_id = '' and not exists (
                    select 1 from {REJECTIONS} as o
                    where o.hour = r.hour and o.module = r.module and o.reason = r.reason
                      and o.organization_id = %(org)s)
                """,
                {"org": organization_id},
            )
        return adopted

    def insert(self, event: Event) -> tuple[int, bool]:
        """Store `event` durably (committed on return); (row id, True when it is a
        redelivery of an event already stored, which is then only counted)."""
        with self.cursor() as cur:
            return insert_many(cur.connection, [event])[0]

    def count_rejected(
        self, module: str, reason: str, body_bytes: int, organization_id: str | None = None
    ) -> None:
        """One refused request, added to its hour's row (module: an applied module or
        `other`; reason: one of the receiver's fixed set; the organization whose URL it
        came to): bounded rows whatever is sent."""
        with self.cursor() as cur:
            cur.execute(
                f"""
                insert into {REJECTIONS} as r
                    (hour, organization_id, module, reason, requests, bytes)
                values (date_trunc('hour', now()), %s, %s, %s, 1, %s)
                on conflict (hour, organization_id, module, reason) do update
                    set requests = r.requests + 1, bytes = r.bytes + excluded.bytes,
                        last_at = now()
                """,
                (organization_id or "", module, reason, body_bytes),
            )

    # ----- the worker ---------------------------------------------------------------------
    def has_due(self, organization_id: str | None = None) -> bool:
        mine, params = organization_filter(organization_id)
        with self.cursor() as cur:
            cur.execute(
                f"select exists (select 1 from {TABLE}"
                f" where status = 'pending' and next_attempt_at <= now() and {mine}) as due",
                params,
            )
            return bool(cur.fetchone()["due"])

    def due(self, limit: int, organization_id: str | None = None) -> list[dict[str, Any]]:
        """Pending events whose next attempt is due, oldest first (of one organization:
        its worker applies them to its rows only)."""
        mine, params = organization_filter(organization_id)
        with self.cursor() as cur:
            cur.execute(
                f"""
                select id, received_at, module, event_type, entity_id, last_modified_time,
                       payload, attempts, organization_id
                from {TABLE}
                where status = 'pending' and next_attempt_at <= now() and {mine}
                order by id limit %s
                """,
                (*params, limit),
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

    def bury(self, rows: Sequence[tuple[int, str | None]]) -> None:
        """Events that cannot be applied (the reason in last_error): dead-lettered now,
        alone; `webhooks list --status dead` shows them."""
        self._update_many(
            f"""
            update {TABLE} e
            set status = 'dead', attempts = e.attempts + 1, next_attempt_at = null,
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
                select id, received_at, organization_id, module, event_type, entity_id, status,
                       attempts, deliveries, next_attempt_at, applied_at, result, last_error
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
                  -- an event without its record (a malformed one) has nothing to replay
                  and (%(to)s <> 'pending' or (payload is not null and entity_id is not null))
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

    def statuses_of(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Per id: its status, whether it has a record to apply, and the receiver's result."""
        with self.cursor() as cur:
            cur.execute(
                f"select id, status, result, payload is not null and entity_id is not null"
                f" as applicable from {TABLE} where id = any(%s)",
                (list(ids),),
            )
            return {row["id"]: dict(row) for row in cur.fetchall()}


def modules_applied_since(
    conn: Any, since: datetime, organization_id: str | None = None
) -> frozenset[str]:
    """The modules whose events were verified and applied since `since` (none when the
    receiver never ran on this warehouse): evidence, not traffic. Refused, malformed,
    failed and dead-lettered deliveries never count; the budget planner's safety-net rule
    reads it, so once verified events stop a listing is back to its normal cadence. With
    `organization_id`, that organization's events only: another's do not relax its
    listings."""
    if not table_exists(conn, NAME):
        return frozenset()
    mine, params = organization_filter(organization_id)
    with conn.cursor() as cursor:
        cursor.execute(
            f"select distinct module from {TABLE}"
            f" where status = 'applied' and applied_at >= %s and {mine}",
            (since, *params),
        )
        return frozenset(str(row[0]) for row in cursor.fetchall())


_INSERT = f"""
insert into {TABLE} (
    organization_id, module, event_type, entity_id, last_modified_time,
    payload, raw_body, body_sha256, body_bytes, signature_ok, result, status,
    idempotency_key, next_attempt_at
) values %s
on conflict (idempotency_key) do update
    set deliveries = {TABLE}.deliveries + 1, last_received_at = now()
returning idempotency_key, id, deliveries > 1 as duplicate
"""
_VALUES = """(
    %(organization_id)s, %(module)s, %(event_type)s, %(entity_id)s, %(last_modified_time)s,
    %(payload)s, %(raw_body)s, %(body_sha256)s, %(body_bytes)s, %(signature_ok)s, %(result)s,
    %(status)s, %(idempotency_key)s, case when %(status)s = 'pending' then now() end
)"""


def insert_many(conn: Any, events: Sequence[Event]) -> list[tuple[int, bool]]:
    """Insert `events` in `conn`'s transaction (the caller commits; the receiver commits a
    group of requests at once): per event, in order, (row id, True when it is a redelivery
    of an event stored before, which is then only counted). A key twice in `events` is a
    redelivery the second time, as if it came in a later request."""
    out: list[tuple[int, bool]] = [(0, False)] * len(events)
    with conn.cursor() as cur:
        for n, event in enumerate(events):
            if event.idempotency_key is None:  # nothing to conflict with: alone
                ((_, row_id, duplicate),) = _insert(cur, [event])
                out[n] = (row_id, duplicate)
        left = [(n, e) for n, e in enumerate(events) if e.idempotency_key is not None]
        while left:
            # a statement may change a row once: a repeated key goes in the next one
            group: dict[str | None, int] = {}
            later = []
            for n, event in left:
                if event.idempotency_key in group:
                    later.append((n, event))
                else:
                    group[event.idempotency_key] = n
            for key, row_id, duplicate in _insert(cur, [events[n] for n in group.values()]):
                out[group[key]] = (row_id, duplicate)
            left = later
    return out


def _insert(cur: Any, events: Sequence[Event]) -> list[tuple[str | None, int, bool]]:
    """One statement inserting `events`: (idempotency key, id, duplicate) per event."""
    rows = [
        {
            **event.__dict__,
            "payload": None if event.payload is None else psycopg2.extras.Json(event.payload),
        }
        for event in events
    ]
    found = psycopg2.extras.execute_values(
        cur, _INSERT, rows, template=_VALUES, page_size=len(rows), fetch=True
    )
    return [(key, row_id, duplicate) for key, row_id, duplicate in found]


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


# ----- evidence for the planner, health and alerts ------------------------------------------
def webhook_evidence(
    conn: Any,
    now: datetime | None = None,
    window: timedelta = EVIDENCE_WINDOW,
    organization_id: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Per module with webhook traffic: `last_applied_at` (the newest event verified and
    applied, ever), `applied` (how many in `window`), `rejected` (requests refused in
    `window`: signature, token, size ...) and `dead` (dead-lettered, now). Empty before
    the receiver ever ran. `conn` is a psycopg2 connection; `organization_id` keeps to
    one organization's events and refusals."""
    now = now or datetime.now(timezone.utc)
    since = now - window
    mine, params = organization_filter(organization_id)
    facts: dict[str, dict[str, Any]] = {}

    def entry(module: str) -> dict[str, Any]:
        return facts.setdefault(
            module, {"last_applied_at": None, "applied": 0, "rejected": 0, "dead": 0}
        )

    events, rejections = table_exists(conn, NAME), table_exists(conn, REJECTIONS_NAME)
    with conn.cursor() as cur:
        if events:
            cur.execute(
                f"""
                select module,
                       max(applied_at) filter (where status = 'applied'),
                       count(*) filter (where status = 'applied' and applied_at >= %s),
                       count(*) filter (where status = 'rejected' and received_at >= %s),
                       count(*) filter (where status = 'dead')
                from {TABLE} where {mine} group by module
                """,
                (since, since, *params),
            )
            for module, last, applied, rejected, dead in cur.fetchall():
                e = entry(module)
                e.update(last_applied_at=last, applied=applied, dead=dead)
                e["rejected"] += rejected
        if rejections:
            # the hour rows overlapping the window (its first hour counts whole)
            cur.execute(
                f"select module, sum(requests) from {REJECTIONS}"
                f" where hour > %s and {mine} group by module",
                (since - timedelta(hours=1), *params),
            )
            for module, requests in cur.fetchall():
                entry(module)["rejected"] += int(requests)
    return facts


def webhook_notes(
    conn: Any,
    now: datetime | None = None,
    window: timedelta = EVIDENCE_WINDOW,
    organization_id: str | None = None,
) -> list[str]:
    """Plain-words warnings for health and the alerts: a module whose verified events
    stopped (its listing is back to its normal cadence), or whose requests are refused.
    Never a failure by itself: rejected traffic alone is anyone's noise."""
    now = now or datetime.now(timezone.utc)
    notes = []
    for module, e in sorted(webhook_evidence(conn, now, window, organization_id).items()):
        singular = module.removesuffix("s")
        last = e["last_applied_at"]
        rejected = f"{e['rejected']} rejected: check the secret (docs/webhooks.md)"
        if e["applied"] or last is None:  # flowing, or never used (refusals alone: noise)
            continue
        hours = (now - last).total_seconds() / 3600
        why = rejected if e["rejected"] else "is the Zoho workflow rule still on?"
        notes.append(
            f"no verified {singular} webhooks for {hours:.0f} h; {why} "
            f"({module} are listed at their normal cadence meanwhile)"
        )
    return notes


def applied_count(conn: Any) -> int:
    """Events the worker wrote to the raw tables (kept ones): the job compares the count
    before and after to know whether the marts can have changed in between."""
    if not table_exists(conn, NAME):
        return 0
    with conn.cursor() as cursor:
        cursor.execute(f"select count(*) from {TABLE} where status = 'applied'")
        return int(cursor.fetchone()[0])


def events_per_day(conn: Any, tz: str) -> list[tuple[str, int, int, int]] | None:
    """(day, events, applied or ignored, dead-lettered) per day of the organization (time
    zone `tz`), for the report; None while the receiver has never run (no table)."""
    if not table_exists(conn, NAME):
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            with days as ({per_day.days_sql(TABLE, "received_at")}),
            events as (
                select to_char(received_at at time zone %(tz)s, 'YYYY-MM-DD') as day, status
                from {TABLE}
            )
            select days.day, count(events.day),
                   count(events.day) filter (where events.status in ('applied', 'ignored')),
                   count(events.day) filter (where events.status = 'dead')
            from days
            left join events on days.day = events.day
            group by days.day
            order by days.day
            """,
            {"tz": tz},
        )
        return cursor.fetchall()


# Statuses of an event that is done with: retention deletes them after RETENTION_DAYS; never
# one still pending, nor a dead letter awaiting a person.
FINISHED = ("applied", "ignored", "discarded", "rejected", "malformed")


def purge(conn: Any, days: int) -> int | None:
    """Retention (loader/ops/retention.py): delete the finished events received over `days`
    days ago; how many (None without the table)."""
    if not table_exists(conn, NAME):
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            f"delete from {TABLE}"
            " where received_at < now() - %s * interval '1 day' and status = any(%s)",
            (days, list(FINISHED)),
        )
        return int(cursor.rowcount)
