"""Upgrade in place of a warehouse loaded before several organizations: every raw table
gains `organization_id`, filled with the one organization it holds.

The raw tables of a one-organization warehouse hold that organization's rows only, and its
`organizations` table (or its `sync_runs`) names it. The first run after the upgrade adds the
column (nullable: PostgreSQL cannot add a NOT NULL column to a table with rows), fills it,
and the loader's indexes (loader/run/indexes.py) then key each table by (organization_id,
id) and drop the old id-only unique index. Every step is idempotent (`if not exists`,
`where organization_id is null`), and two runs doing it at once serialize on the table
lock `alter table` takes. History stays: no row is rewritten but for the new column.

The same step brings the webhook events of an earlier receiver to this version's shape
(loader/warehouse/webhook_events.py `upgrade`): every table a run reads by organization
has the column before the run reads (loader/run/pipeline.py calls `upgrade` first).
"""

from __future__ import annotations

import logging
from typing import Any

from psycopg2 import sql

from loader.errors import ConfigError
from loader.names import RAW_SCHEMA
from loader.warehouse import sync_runs, webhook_events
from loader.warehouse.catalog import existing_indexes, table_exists
from loader.zoho.contract import TABLES
from loader.zoho.contract.types import ORGANIZATION_ID

log = logging.getLogger(__name__)


def _tables_without_column(conn: Any, schema: str) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute(
            """
            select t.table_name from information_schema.tables t
            where t.table_schema = %s and t.table_name = any(%s)
              and not exists (
                  select 1 from information_schema.columns c
                  where c.table_schema = t.table_schema and c.table_name = t.table_name
                    and c.column_name = %s)
            order by t.table_name
            """,
            (schema, list(TABLES), ORGANIZATION_ID),
        )
        return [row[0] for row in cursor.fetchall()]


def _one_organization(conn: Any, schema: str) -> str | None:
    """The organization a one-organization warehouse holds: its `organizations` row, else
    the organization of its successful runs (`sync_runs`, through its owner); None when
    neither names exactly one."""
    found: list[str] = []
    if table_exists(conn, "organizations", schema):
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("select distinct organization_id from {}.organizations").format(
                    sql.Identifier(schema)
                )
            )
            found = [str(row[0]) for row in cursor.fetchall() if row[0]]
    if len(found) != 1:
        found = sync_runs.successful_organizations(conn, schema)
    return found[0] if len(found) == 1 else None


def _old_unique_indexes(conn: Any, schema: str) -> list[str]:
    """The unique indexes of the keys before several organizations (`<table>__<id>__unique`),
    still present: they would refuse a second organization's row with the same Zoho id."""
    names = [
        "__".join((name, "_".join(table.key[1:]), "unique"))
        for name, table in TABLES.items()
        if table.key[0] == ORGANIZATION_ID and len(table.key) > 1
    ]
    return sorted(existing_indexes(conn, names, schema))


def upgrade(conn: Any, schema: str = RAW_SCHEMA) -> list[str]:
    """Give every raw table lacking it `organization_id`, filled, and drop the id-only
    unique indexes (the loader's indexes then key each table by organization and id);
    returns the tables that gained the column.

    dlt's staging dataset (`<schema>_staging`) keeps the last load's rows: its tables
    gain the column too (nullable, not filled), or dlt's own ALTER TABLE would add it NOT
    NULL (a key column) to a table with rows and fail."""
    webhook_events.upgrade(conn)  # a run reads the events by organization (stock)
    for index in _old_unique_indexes(conn, schema):
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("drop index if exists {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(index)
                )
            )
    staging = f"{schema}_staging"
    for table in _tables_without_column(conn, staging):
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("alter table {}.{} add column if not exists organization_id text").format(
                    sql.Identifier(staging), sql.Identifier(table)
                )
            )
    missing = _tables_without_column(conn, schema)
    if not missing:
        return []
    organization_id = _one_organization(conn, schema)
    if organization_id is None:
        raise ConfigError(
            f"the raw tables {', '.join(missing)} were loaded before several organizations "
            f"but {schema}.organizations names no single organization: add the column "
            "`organization_id` and fill it (CHANGELOG, Several organizations)"
        )
    for table in missing:
        target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        with conn.cursor() as cursor:
            cursor.execute(
                sql.SQL("alter table {} add column if not exists organization_id text").format(
                    target
                )
            )
            cursor.execute(
                sql.SQL("update {} set organization_id = %s where organization_id is null").format(
                    target
                ),
                (organization_id,),
            )
    log.warning(
        "upgraded %s to several organizations: organization_id = %s on every stored row",
        ", ".join(missing),
        organization_id,
    )
    return missing
