"""What the warehouse holds: whether a table exists, which columns it has. The one place
that asks PostgreSQL's catalog, for every module that must cope with a table not made yet
(a first run, a warehouse the job never ran on). And `organization_filter`: how a
bookkeeping query keeps to one organization's rows, or reads them all."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from loader.names import RAW_SCHEMA


def _first(row: Any) -> Any:
    """The first value of a row, from a tuple cursor or a dict cursor (RealDictCursor)."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def table_exists(conn: Any, table: str, schema: str = RAW_SCHEMA) -> bool:
    """Whether `schema.table` exists (a psycopg2 connection); `to_regclass` reads the
    catalog and locks nothing."""
    with conn.cursor() as cursor:
        cursor.execute("select to_regclass(%s) is not null", (f'"{schema}"."{table}"',))
        return bool(_first(cursor.fetchone()))


def table_columns(conn: Any, table: str, schema: str = RAW_SCHEMA) -> dict[str, str]:
    """`schema.table`'s columns and their types; empty when the table does not exist."""
    with conn.cursor() as cursor:
        cursor.execute(COLUMNS_SQL, (schema, table))
        rows = cursor.fetchall()
    if rows and isinstance(rows[0], dict):
        return {row["column_name"]: row["data_type"] for row in rows}
    return {row[0]: row[1] for row in rows}


def existing_indexes(conn: Any, names: Iterable[str], schema: str = RAW_SCHEMA) -> set[str]:
    """Which of the indexes `names` exist in `schema`."""
    with conn.cursor() as cursor:
        cursor.execute(
            "select indexname from pg_indexes where schemaname = %s and indexname = any(%s)",
            (schema, list(names)),
        )
        return {_first(row) for row in cursor.fetchall()}


def organization_filter(
    organization_id: str | None, column: str = "organization_id"
) -> tuple[str, tuple[Any, ...]]:
    """(a condition keeping to one organization's rows, its parameters: `%s` style);
    `true`, every organization's rows, when `organization_id` is None."""
    if organization_id is None:
        return "true", ()
    return f"{column} = %s", (organization_id,)


# dlt's sql client passes parameters positionally too: `Destination` uses the same query.
# PostgreSQL's own catalog, not information_schema.columns (the same names and type names
# for the types the loader writes, about ten times faster: a run asks it dozens of times).
COLUMNS_SQL = (
    "select a.attname as column_name, format_type(a.atttypid, null) as data_type"
    " from pg_catalog.pg_attribute as a"
    " join pg_catalog.pg_class as c on c.oid = a.attrelid"
    " join pg_catalog.pg_namespace as n on n.oid = c.relnamespace"
    " where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped"
)


def key_gains_organization(table: str, constraint: str, columns: str) -> str:
    """SQL (a DO block) moving `table`'s primary key `constraint` to `columns`, which begin
    with organization_id, once and in place: a table made before several organizations."""
    return f"""
do $$
begin
    if not exists (
        select 1 from pg_constraint c
        join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
        where c.conrelid = '{table}'::regclass and c.contype = 'p'
          and a.attname = 'organization_id'
    ) then
        alter table {table} drop constraint if exists {constraint};
        alter table {table} add primary key ({columns});
    end if;
end
$$;
"""


def stored_versions(
    conn: Any, table: str, id_column: str, ids: list[str], organization_id: str | None = None
) -> dict[str, tuple[Any, bool]]:
    """Per id of `ids` that `table` holds: (its newest last_modified_time, whether it is
    marked deleted); of one organization's rows when `organization_id` is given (every raw
    table has the column: the loader's upgrade step, loader/warehouse/organization_upgrade.py).
    Empty when the table does not exist. What the webhook worker compares an event with
    (an older event never overwrites newer data)."""
    existing = table_columns(conn, table)
    if not existing:
        return {}
    deleted = "is_deleted" if "is_deleted" in existing else "false"
    mine, params = organization_filter(organization_id)
    with conn.cursor() as cursor:
        cursor.execute(
            f"select {id_column}, max(last_modified_time), bool_or(coalesce({deleted}, false))"
            f' from "{RAW_SCHEMA}"."{table}" where {id_column} = any(%s) and {mine}'
            " group by 1",
            (ids, *params),
        )
        rows = cursor.fetchall()
    if rows and isinstance(rows[0], dict):
        rows = [tuple(row.values()) for row in rows]
    return {row[0]: (row[1], row[2]) for row in rows}
