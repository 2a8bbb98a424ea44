"""What the warehouse holds: whether a table exists, which columns it has. The one place
that asks PostgreSQL's catalog, for every module that must cope with a table not made yet
(a first run, a warehouse the job never ran on)."""

from __future__ import annotations

from typing import Any

from loader.names import RAW_SCHEMA


def _first(row: Any) -> Any:
    """The first value of a row, from a tuple cursor or a dict cursor (RealDictCursor)."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def table_exists(conn: Any, table: str, schema: str = RAW_SCHEMA) -> bool:
    """Whether `schema.table` exists (a psycopg2 connection)."""
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


def stored_versions(
    conn: Any, table: str, id_column: str, ids: list[str], organization_id: str | None = None
) -> dict[str, tuple[Any, bool]]:
    """Per id of `ids` that `table` holds: (its newest last_modified_time, whether it is
    marked deleted); of one organization's rows when the table has the column and
    `organization_id` is given. Empty when the table does not exist. What the webhook
    worker compares an event with (an older event never overwrites newer data)."""
    existing = table_columns(conn, table)
    if not existing:
        return {}
    deleted = "is_deleted" if "is_deleted" in existing else "false"
    scoped = organization_id is not None and "organization_id" in existing
    with conn.cursor() as cursor:
        cursor.execute(
            f"select {id_column}, max(last_modified_time), bool_or(coalesce({deleted}, false))"
            f' from "{RAW_SCHEMA}"."{table}" where {id_column} = any(%s)'
            + (" and organization_id = %s" if scoped else "")
            + " group by 1",
            (ids, organization_id) if scoped else (ids,),
        )
        rows = cursor.fetchall()
    if rows and isinstance(rows[0], dict):
        rows = [tuple(row.values()) for row in rows]
    return {row[0]: (row[1], row[2]) for row in rows}
