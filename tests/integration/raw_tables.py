"""The raw tables of `zoho_staging` as the loader creates them, empty, for tests that bring
their own rows (the dbt integration tests and fixtures/dbt/scale.py).

A real dlt pipeline with the contract's hints (`loader.zoho.contract.hints.dlt_hints`, the same the
loader's resources carry) loads one placeholder row into each raw table, then the rows are
deleted; `sync_runs` is created by the loader's own run log. So the tests run on the
columns, types and nullability dlt really creates, never on hand-written DDL: a column
added to loader/zoho/contract/ reaches the dbt tests without another edit.

    load_fixture(pg_env)                  # empty tables + fixtures/dbt/zoho_staging.sql
    create_raw_tables(pg_env)             # empty tables only
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dlt

from loader import warehouse
from loader.names import RAW_SCHEMA
from loader.run.pipeline import connect
from loader.warehouse.sync_runs import RunLog
from loader.zoho.contract import TABLES
from loader.zoho.contract.hints import dlt_hints

FIXTURE_SQL = Path(__file__).parent / "fixtures" / "dbt" / "zoho_staging.sql"
PLACEHOLDER = "placeholder"
FIXTURE_ORGANIZATION = "60012345678"  # fixtures/dbt/zoho_staging.sql's organization


def _placeholder_row(table: str) -> dict[str, Any]:
    """A row dlt accepts for `table`: its not-null columns set, the rest null (dlt creates
    every hinted column anyway)."""
    spec = TABLES[table]
    row: dict[str, Any] = dict.fromkeys(spec.columns)
    merge_key = spec.merge_key or ()
    for name in (*spec.key, *((merge_key,) if isinstance(merge_key, str) else merge_key)):
        row[name] = PLACEHOLDER
    if "is_deleted" in row:
        row["is_deleted"] = False
    return row


def create_raw_tables(pg: dict[str, str]) -> None:
    """Replace `zoho_staging` in pg's database with the loader's raw tables, empty."""
    conn = connect(pg)
    try:
        with conn.cursor() as cur:
            for schema in (RAW_SCHEMA, f"{RAW_SCHEMA}_staging"):
                cur.execute(f'drop schema if exists "{schema}" cascade')
        with tempfile.TemporaryDirectory(prefix="raw-tables-dlt-") as pipelines_dir:
            pipeline = dlt.pipeline(
                pipeline_name="zoho_books",
                destination=dlt.destinations.postgres(warehouse.dlt_credentials(pg)),
                dataset_name=RAW_SCHEMA,
                pipelines_dir=pipelines_dir,
            )
            pipeline.run(
                [
                    dlt.resource([_placeholder_row(name)], name=name, **dlt_hints(name))
                    for name in TABLES
                ]
            )
        RunLog(conn, RAW_SCHEMA).ensure()
        with conn.cursor() as cur:
            tables = ", ".join(f'"{RAW_SCHEMA}"."{name}"' for name in TABLES)
            cur.execute(f"truncate {tables}")
            cur.execute(f'drop schema if exists "{RAW_SCHEMA}_staging" cascade')
            # the fixture's rows are one organization's (its `organizations` row): rows
            # written without the column get it, as the loader stamps every row
            for name in TABLES:
                cur.execute(
                    f'alter table "{RAW_SCHEMA}"."{name}" alter column organization_id '
                    f"set default '{FIXTURE_ORGANIZATION}'"
                )
    finally:
        conn.close()


def load_fixture(pg: dict[str, str], fixture: Path = FIXTURE_SQL) -> None:
    """The empty raw tables, then the rows of `fixture` (fixtures/dbt/zoho_staging.sql)."""
    create_raw_tables(pg)
    conn = connect(pg)
    try:
        with conn.cursor() as cur:
            cur.execute(fixture.read_text())
    finally:
        conn.close()


if __name__ == "__main__":
    # a development database with the fixture's rows (see fixtures/dbt/zoho_staging.sql)
    load_fixture(warehouse.connection_env())
    print("zoho_staging: raw tables created, fixture rows loaded")
