"""The loader's indexes on the raw tables, and fresh planner statistics after a load."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Iterator
from typing import Any

import dlt
import psycopg2
from dlt.destinations.exceptions import DatabaseException

from loader.zoho.contract import TABLES
from loader.zoho.stored import Destination

log = logging.getLogger(__name__)

# Indexes the loader keeps on the raw tables, besides dlt's own. Each table's key gets a
# UNIQUE index: PostgreSQL then refuses a second row for a key at write time, and dbt's
# `unique_key` source tests need not scan millions of rows to prove it. The others serve
# lookups: `_dlt_load_id` (dbt's "rows loaded since"), the merge key of line items and a
# product's rows in every price list.
UNIQUE_INDEXES: dict[str, list[str]] = {name: list(t.key) for name, t in TABLES.items()}
RAW_INDEXES: dict[str, list[list[str]]] = {
    name: [["_dlt_load_id"], *(list(columns) for columns in t.extra_indexes)]
    for name, t in TABLES.items()
}


# The advisory lock (one per warehouse) under which runs create the raw tables' indexes.
INDEX_LOCK_KEY = 0x7A6F686F5F696478  # "zoho_idx"


def _index_name(table: str, columns: list[str], suffix: str = "") -> str:
    return f"{table}__{'_'.join(columns).strip('_')}{suffix}"


def index_first_loads(pipeline: dlt.Pipeline, tables: Collection[str]) -> None:
    """The unique index of each table a first load wrote straight into
    (loader/run/pipeline.py), right after that load and before anything reads the table
    (the details phase picks its documents from the listings): a key the listing repeated
    keeps its newest row."""
    if not tables:
        return
    reader = Destination(pipeline.sql_client())
    with pipeline.sql_client() as client, _index_lock(client):
        for table in sorted(tables):
            if reader.existing_columns(table):  # (a table that got no row was not created)
                _ensure_unique_index(client, table, UNIQUE_INDEXES[table], first_load=True)


@contextlib.contextmanager
def _index_lock(client: Any) -> Iterator[None]:
    # Several organizations' runs finish at once: `create index if not exists` racing on
    # one table fails in PostgreSQL's catalog, so they take turns.
    client.execute_sql("select pg_advisory_lock(%s)", INDEX_LOCK_KEY)
    try:
        yield
    finally:
        client.execute_sql("select pg_advisory_unlock(%s)", INDEX_LOCK_KEY)


def index_and_analyze(pipeline: dlt.Pipeline, written: list[str]) -> None:
    """Keep the raw tables' indexes (created once) and refresh the planner statistics of
    the tables this load wrote.

    dbt's next build reads "rows loaded after the last load it read" from them
    (`_dlt_load_id > x`: a few thousand rows of millions after a 1% change) and looks up
    the products those rows name; dlt's next merge deletes by key. Without indexes each is
    a scan of the whole table; without fresh statistics PostgreSQL guesses the size of the
    new slice from the table as it was before the load, and may sort all of it. Every run
    checks every table's indexes (a catalog lookup each), so a table whose unique index
    could not be built is reported again until it is mended."""
    reader = Destination(pipeline.sql_client())
    with pipeline.sql_client() as client, _index_lock(client):
        _index_tables(client, reader, written)


def _index_tables(client: Any, reader: Destination, written: list[str]) -> None:
    for table in sorted(set(UNIQUE_INDEXES) | set(written)):
        existing = reader.existing_columns(table)
        if not existing:
            continue  # not created yet (dlt creates a table with its first rows)
        qualified = client.make_qualified_table_name(table)
        key = UNIQUE_INDEXES.get(table)
        if key and set(key) <= existing:
            _ensure_unique_index(client, table, key)
        for columns in RAW_INDEXES.get(table, []):
            if set(columns) <= existing:
                client.execute_sql(
                    f"create index if not exists "
                    f"{client.escape_column_name(_index_name(table, columns))} "
                    f"on {qualified} ({', '.join(columns)})"
                )
        if table in written:
            client.execute_sql(f"analyze {qualified}")


def _repeated(exc: DatabaseException) -> bool:
    return isinstance(exc.dbapi_exception, psycopg2.errors.UniqueViolation)


def _keep_newest_row_of_each_key(client: Any, table: str, key: list[str]) -> None:
    """Delete all but the newest row (by `last_modified_time`, then the last written) of
    each key stored more than once."""
    qualified = client.make_qualified_table_name(table)
    columns = ", ".join(key)
    newest = "ctid desc"
    if "last_modified_time" in TABLES[table].columns:
        newest = "last_modified_time desc nulls last, " + newest
    client.execute_sql(
        f"delete from {qualified} as t using ("
        f"select ctid as row, row_number() over (partition by {columns} order by {newest}) as n "
        f"from {qualified} where ({columns}) in "
        f"(select {columns} from {qualified} group by {columns} having count(*) > 1)"
        f") as r where t.ctid = r.row and r.n > 1"
    )
    log.info(
        "%s: the first load listed some %s more than once (Zoho edited while it was read); "
        "kept the newest row of each",
        qualified,
        " + ".join(key),
    )


def _ensure_unique_index(client: Any, table: str, key: list[str], first_load: bool = False) -> None:
    """The table's key as a UNIQUE index; a warning (and a plain index) if rows repeat it.
    After a first load written straight into the table, the older rows of a repeated key
    are deleted first (what dlt's merge would have done in its staging copy).

    Warehouses loaded before this index existed have a plain index of the same columns
    (`<table>__<key>`); it is dropped once the unique one is built."""
    qualified = client.make_qualified_table_name(table)
    unique = client.escape_column_name(_index_name(table, key, "__unique"))
    plain = client.escape_column_name(_index_name(table, key))
    schema = client.escape_column_name(client.dataset_name)
    create = f"create unique index if not exists {unique} on {qualified} ({', '.join(key)})"
    try:
        try:
            client.execute_sql(create)
        except DatabaseException as exc:
            if not (first_load and _repeated(exc)):
                raise
            _keep_newest_row_of_each_key(client, table, key)
            client.execute_sql(create)
    except DatabaseException as exc:
        if not _repeated(exc):
            raise
        client.execute_sql(f"create index if not exists {plain} on {qualified} ({', '.join(key)})")
        log.warning(
            "%s holds more than one row for some %s, so PostgreSQL cannot enforce it as "
            "unique: dbt's unique_key test lists them; `python -m loader run --full-refresh` "
            "rewrites each key Zoho still lists once (delete the older copies of any other)",
            qualified,
            " + ".join(key),
        )
        return
    client.execute_sql(f"drop index if exists {schema}.{plain}")
    if key[0] == "organization_id" and len(key) > 1:
        # the unique index of the key before several organizations (`<table>__<id>__unique`)
        # would refuse a second organization's row with the same Zoho id
        for name in (_index_name(table, key[1:], "__unique"), _index_name(table, key[1:])):
            client.execute_sql(f"drop index if exists {schema}.{client.escape_column_name(name)}")
