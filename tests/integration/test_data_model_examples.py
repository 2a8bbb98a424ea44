"""Every example query of docs/data-model.md returns rows on what `make demo` builds (the
simulator's demo data, seed 1): an analyst copying one gets an answer, not an empty result
because a SKU or a date exists only in the documentation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from tests.integration.conftest import ROOT, connect

DATA_MODEL = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def example_queries() -> list[str]:
    """The ```sql blocks of docs/data-model.md, psql meta-commands and comments removed."""
    blocks = re.findall(r"```sql\n(.*?)```", DATA_MODEL.read_text(), flags=re.DOTALL)
    return [
        "\n".join(
            line for line in block.splitlines() if not line.lstrip().startswith(("--", "\\"))
        ).strip()
        for block in blocks
    ]


def test_the_data_model_has_example_queries():
    assert len(example_queries()) >= 8


@pytest.mark.parametrize(
    "query", example_queries(), ids=lambda q: re.sub(r"\W+", "_", q[:60]).strip("_")
)
def test_example_query_returns_rows_on_the_demo_data(demo_warehouse, query):
    conn = connect(demo_warehouse)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            rows = cur.fetchall()
    finally:
        conn.close()
    assert rows, f"no rows on the demo data for:\n{query}"


# Session time zones far apart: UTC, three hours ahead (no daylight saving), and eight or
# seven behind. A `timestamp without time zone` compared with an instant moves by the
# session's offset; an instant does not.
ZONES = ("UTC", "Asia/Baghdad", "America/Los_Angeles")


def rows_in_zone(pg: dict[str, str], zone: str, query: str, params: dict | None = None) -> list:
    """The rows of `query` in a session whose time zone is `zone` (what PGTZ sets)."""
    conn = psycopg2.connect(
        host=pg["PGHOST"],
        port=pg["PGPORT"],
        user=pg["PGUSER"],
        password=pg["PGPASSWORD"],
        dbname=pg["PGDATABASE"],
        options=f"-c TimeZone={zone}",
    )
    try:
        with conn.cursor() as cur:
            cur.execute("show timezone")
            assert cur.fetchone() == (zone,)
            cur.execute(query, params)
            return cur.fetchall()
    finally:
        conn.close()


def test_no_column_of_the_warehouse_is_a_time_without_its_zone(demo_warehouse):
    """Raw tables, the loader's own tables, staging, marts and snapshots: every time is
    a timestamptz instant, never wall-clock time read in the session's zone."""
    naive = rows_in_zone(
        demo_warehouse,
        "UTC",
        "select table_schema || '.' || table_name || '.' || column_name "
        "from information_schema.columns "
        "where data_type = 'timestamp without time zone' "
        "and table_schema not in ('pg_catalog', 'information_schema')",
    )
    assert naive == []
    schemas = rows_in_zone(
        demo_warehouse,
        "UTC",
        "select distinct table_schema from information_schema.columns "
        "where data_type = 'timestamp with time zone' order by 1",
    )
    assert {"zoho_staging", "analytics", "analytics_snapshots"} <= {s for (s,) in schemas}


@pytest.mark.parametrize(
    "query", example_queries(), ids=lambda q: re.sub(r"\W+", "_", q[:60]).strip("_")
)
def test_example_query_gives_the_same_rows_in_every_session_time_zone(demo_warehouse, query):
    answers = {zone: rows_in_zone(demo_warehouse, zone, query) for zone in ZONES}
    # timestamptz values come back in each session's zone; equal means the same instant
    assert answers["Asia/Baghdad"] == answers["UTC"]
    assert answers["America/Los_Angeles"] == answers["UTC"]


def current_price(pg: dict[str, str]) -> tuple[str, object, object]:
    """(SKU, Consumer price, valid_from) of one product priced in the demo's Consumer
    list since the build."""
    [(sku, price, valid_from)] = rows_in_zone(
        pg,
        "UTC",
        "select sku, price, valid_from from analytics.product_price_history "
        "where sku = 'BG-10705-1358' and pricelist_name = 'Consumer' and is_current",
    )
    return sku, price, valid_from


@pytest.mark.parametrize("zone", ZONES)
def test_the_price_at_an_instant_is_the_same_in_every_session_time_zone(demo_warehouse, zone):
    """The documented filter, one second before and after the version began, with the
    instant written in another zone's offset: the same answer in every session zone."""
    sku, price, valid_from = current_price(demo_warehouse)
    query = (
        "select price from analytics.product_price_history "
        "where sku = %(sku)s and pricelist_name = 'Consumer' "
        "and valid_from <= %(t)s::timestamptz "
        "and (valid_to is null or valid_to > %(t)s::timestamptz)"
    )
    baghdad = timezone(timedelta(hours=3))
    before = (valid_from - timedelta(seconds=1)).astimezone(baghdad).isoformat()
    after = (valid_from + timedelta(seconds=1)).astimezone(baghdad).isoformat()
    assert rows_in_zone(demo_warehouse, zone, query, {"sku": sku, "t": before}) == []
    assert rows_in_zone(demo_warehouse, zone, query, {"sku": sku, "t": after}) == [(price,)]


def price_on_date(pg: dict[str, str], zone: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m loader.ops.analyses price-on-date ARGS` on pg's database with PGTZ=zone."""
    return subprocess.run(
        [sys.executable, "-m", "loader.ops.analyses", "price-on-date", *args],
        env={**os.environ, **pg, "PGTZ": zone, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("zone", ZONES)
def test_price_on_date_answers_the_same_under_every_pgtz(demo_warehouse, zone):
    sku, price, valid_from = current_price(demo_warehouse)
    la = ZoneInfo("America/Los_Angeles")
    after = price_on_date(
        demo_warehouse,
        zone,
        "--sku",
        sku,
        "--as-of",
        str((valid_from + timedelta(seconds=1)).astimezone(la)),
    )
    assert after.returncode == 0, after.stderr
    assert f" {price} " in after.stdout and "Basmati Rice Premium 1kg" in after.stdout
    early = valid_from - timedelta(seconds=1)
    before = price_on_date(demo_warehouse, zone, "--sku", sku, "--as-of", early.isoformat())
    assert before.returncode == 1, before.stderr
    start = valid_from.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert f"price history in Consumer starts {start}" in before.stdout


def test_price_on_date_names_close_skus_for_an_unknown_one(demo_warehouse):
    result = price_on_date(demo_warehouse, "UTC", "--sku", "BG-10705-13")
    assert result.returncode == 1
    assert result.stdout.startswith("no product has SKU 'BG-10705-13'; close ones: ")
    assert "BG-10705-1358 (Basmati Rice Premium 1kg)" in result.stdout


def test_price_on_date_without_a_sku_prints_its_usage(demo_warehouse):
    result = price_on_date(demo_warehouse, "UTC", "--sku", "", "--as-of", "")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage: python -m loader.ops.analyses price-on-date" in result.stderr
    assert "SKU=" in result.stderr


def test_price_on_date_refuses_an_instant_without_its_offset(demo_warehouse):
    result = price_on_date(
        demo_warehouse, "UTC", "--sku", "BG-10705-1358", "--as-of", "2026-10-01 12:00"
    )
    assert result.returncode == 2
    assert "has no UTC offset" in result.stderr
