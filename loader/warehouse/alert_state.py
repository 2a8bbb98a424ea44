"""The alerts' bookkeeping (loader/ops/alerts.py decides what to send; this module owns
the tables and every query on them):

- `zoho_staging.alert_state`: per organization and condition, alerting or not, since
  when, the message and the value that distinguishes two alerting states;
- `zoho_staging.alert_delivery`: per organization, condition and destination, the state
  that destination last accepted (a destination that is down is tried again alone);
- `zoho_staging.alert_log`: every attempt, delivered or not (retention prunes it).

Each organization's conditions are its own (`organization_id`, '' for a warehouse's
conditions evaluated without one): one organization failing alerts once and the other's
state is untouched. Tables made before several organizations gain the column in place,
their key with it (`DDL`); `adopt` gives their rows to the organization of the
single-organization settings, so an alert already sent is not sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loader.names import RAW_SCHEMA
from loader.warehouse.catalog import key_gains_organization, table_columns, table_exists
from loader.warehouse.locking import schema_changes

STATE = f"{RAW_SCHEMA}.alert_state"
DELIVERY = f"{RAW_SCHEMA}.alert_delivery"
LOG = f"{RAW_SCHEMA}.alert_log"


DELIVERY_KEY = "organization_id, condition, destination"
DDL = f"""
create schema if not exists {RAW_SCHEMA};
create table if not exists {STATE} (
    organization_id text not null default '',
    condition text not null,
    alerting boolean not null,
    since timestamptz not null,
    message text,
    value text,
    primary key (organization_id, condition)
);
alter table {STATE} add column if not exists organization_id text not null default '';
{key_gains_organization(STATE, "alert_state_pkey", "organization_id, condition")}
create table if not exists {DELIVERY} (
    organization_id text not null default '',
    condition text not null,
    destination text not null,
    alerting boolean not null,
    value text,
    delivered_at timestamptz not null default now(),
    primary key (organization_id, condition, destination)
);
alter table {DELIVERY} add column if not exists organization_id text not null default '';
{key_gains_organization(DELIVERY, "alert_delivery_pkey", DELIVERY_KEY)}
create table if not exists {LOG} (
    sent_at timestamptz not null default now(),
    condition text not null,
    alerting boolean not null,
    message text not null,
    delivered boolean not null,
    error text
);
alter table {LOG} add column if not exists destination text;
alter table {LOG} add column if not exists organization_id text;
create index if not exists alert_log__sent_at on {LOG} (sent_at)
"""


def ensure(conn: Any, legacy_organization: str | None = None) -> None:
    """Create or upgrade the tables; `legacy_organization` (the organization of the
    single-organization settings) adopts the state kept before organizations (`adopt`)."""
    if not _current(conn):  # the DDL and its upgrade run once, not at every job
        with schema_changes(conn), conn.cursor() as cursor:
            cursor.execute(DDL)
    if legacy_organization:
        adopt(conn, legacy_organization)


def _current(conn: Any) -> bool:
    """The three tables exist in this version's shape (the DDL's last upgrade applied)."""
    return all(
        "organization_id" in table_columns(conn, name.split(".")[1])
        for name in (STATE, DELIVERY, LOG)
    ) and "destination" in table_columns(conn, LOG.split(".")[1])


def adopt(conn: Any, organization_id: str) -> None:
    """Rows kept without an organization become `organization_id`'s (unless it has its
    own already)."""
    with conn.cursor() as cursor:
        for table, key in ((STATE, "condition"), (DELIVERY, "condition, destination")):
            match = " and ".join(f"o.{c} = r.{c}" for c in key.split(", "))
            cursor.execute(
                f"update {table} as r set organization_id = %(org)s"
                f" where organization_id = '' and not exists (select 1 from {table} as o"
                f" where o.organization_id = %(org)s and {match})",
                {"org": organization_id},
            )


def states(
    conn: Any, organizations: list[str]
) -> dict[tuple[str, str], tuple[bool, str | None, datetime]]:
    """(organization, condition) -> (alerting, value, since), of `organizations`."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"select organization_id, condition, alerting, value, since from {STATE}"
            " where organization_id = any(%s)",
            (organizations,),
        )
        return {(row[0], row[1]): (row[2], row[3], row[4]) for row in cursor.fetchall()}


def deliveries(
    conn: Any, organizations: list[str]
) -> dict[tuple[str, str, str], tuple[bool, str | None]]:
    """(organization, condition, destination) -> (alerting, value) each destination last
    accepted, of `organizations`."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"select organization_id, condition, destination, alerting, value from {DELIVERY}"
            " where organization_id = any(%s)",
            (organizations,),
        )
        return {(row[0], row[1], row[2]): (row[3], row[4]) for row in cursor.fetchall()}


def store(
    conn: Any,
    organization_id: str,
    condition: str,
    alerting: bool,
    message: str,
    value: str | None,
    changed: bool,
) -> None:
    """The condition's state now; `since` moves only when it `changed`."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            insert into {STATE} as s
                (organization_id, condition, alerting, since, message, value)
            values (%s, %s, %s, now(), %s, %s)
            on conflict (organization_id, condition) do update set
                alerting = excluded.alerting, message = excluded.message,
                value = excluded.value,
                since = case when %s then excluded.since else s.since end
            """,
            (organization_id, condition, alerting, message, value, changed),
        )


def delivered(
    conn: Any,
    organization_id: str,
    condition: str,
    destination: str,
    alerting: bool,
    value: str | None,
) -> None:
    """`destination` accepted the condition's state."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            insert into {DELIVERY} (organization_id, condition, destination, alerting, value)
            values (%s, %s, %s, %s, %s)
            on conflict (organization_id, condition, destination) do update set
                alerting = excluded.alerting, value = excluded.value, delivered_at = now()
            """,
            (organization_id, condition, destination, alerting, value),
        )


def log_attempt(
    conn: Any,
    organization_id: str,
    condition: str,
    alerting: bool,
    message: str,
    destination: str,
    error: str | None,
) -> None:
    """One attempt to send, delivered (`error` None) or not."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"insert into {LOG} (organization_id, condition, alerting, message, delivered,"
            " error, destination) values (%s, %s, %s, %s, %s, %s, %s)",
            (
                organization_id or None,
                condition,
                alerting,
                message,
                error is None,
                error,
                destination,
            ),
        )


def purge(conn: Any, days: int) -> int | None:
    """Retention (loader/ops/retention.py): delete the alert attempts logged over `days`
    days ago; how many (None without the table)."""
    if not table_exists(conn, LOG.split(".")[1]):
        return None
    with conn.cursor() as cursor:
        cursor.execute(f"delete from {LOG} where sent_at < now() - %s * interval '1 day'", (days,))
        return int(cursor.rowcount)
