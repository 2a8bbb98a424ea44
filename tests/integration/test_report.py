"""The report (`make report`, and /report of the webhook service): one HTML page that opens
from disk, built from whatever the warehouse holds, with a verdict on top that follows
the data, and never failing on a table that is not built yet."""

from __future__ import annotations

import html
import math
import os
import subprocess
import sys
from pathlib import Path

from loader.ops.report import NO_DATA, render_report
from loader.warehouse.job_runs import JOB_RUNS_DDL
from loader.warehouse.webhook_events import DDL as WEBHOOK_EVENTS_DDL
from tests.integration.conftest import connect, execute

ROOT = Path(__file__).resolve().parents[2]
CHART = 'class="plotly-graph-div"'


def _section(page: str, title: str) -> str:
    return page.split(f"<h2>{html.escape(title)}</h2>", 1)[1].split("</section>", 1)[0]


def _render(pg: dict[str, str], schema: str | None = None) -> str:
    conn = connect(pg)
    try:
        return render_report(conn, schema)
    finally:
        conn.close()


def test_an_empty_warehouse_gives_a_page_saying_no_data_yet_in_every_section(pg_env):
    page = _render(pg_env)
    for title in (
        "Is everything loaded?",
        "Price coverage over time",
        "Products without a price, and why",
        "How fresh is the data?",
        "Updates per day",
        "Zoho API calls per day",
    ):
        assert NO_DATA in _section(page, title), title
    assert "Needs attention: nothing has been loaded from Zoho Books yet." in page
    assert f"<strong>{pg_env['PGDATABASE']}</strong>" in page  # the database it reads
    assert "Changes received from Zoho" not in page  # no receiver yet: no section
    assert CHART not in page


def test_job_runs_and_webhook_events_get_their_charts_once_the_tables_exist(pg_env):
    execute(
        pg_env,
        "create schema if not exists zoho_staging;"
        + JOB_RUNS_DDL
        + ";"
        + WEBHOOK_EVENTS_DDL
        + """
        insert into zoho_staging.job_runs (job_id, started_at, finished_at, status, exit_code,
                                           failed_step, error)
        values ('j1', now() - interval '1 day', now() - interval '1 day', 'failed', 10,
                'dbt_build', 'dbt build: 1 test failed (assert_prices_positive)'),
               ('j2', now(), now(), 'success', 0, null, null);
        insert into zoho_staging.webhook_events (module, body_sha256, body_bytes, result, status)
        values ('items', 'a', 1, 'accepted', 'applied'), ('items', 'b', 1, 'accepted', 'dead'),
               ('items', 'c', 1, 'accepted', 'pending');
        """,
    )
    page = _render(pg_env)
    events = _section(page, "Changes received from Zoho per day")
    assert NO_DATA not in events and CHART in events
    assert '"applied"' in events and "50.0" in events  # 1 applied of 2 finished
    technician = page.split('id="technician"', 1)[1]
    # the exit code and the error as recorded are the technician's, not the owner's
    assert "<td>10</td><td>dbt_build</td>" in technician
    assert "assert_prices_positive" in technician
    assert "assert_prices_positive" not in page.split('id="technician"', 1)[0]


def test_a_warehouse_of_an_earlier_version_is_told_to_upgrade_not_read_in_its_old_shape(pg_env):
    """sync_runs as its first version created it (no `error`, `api_calls`, ...)."""
    execute(
        pg_env,
        """
        drop schema if exists zoho_staging cascade;
        create schema zoho_staging;
        create table zoho_staging.sync_runs (
            run_id text, started_at timestamptz, finished_at timestamptz, status text,
            resources text
        );
        insert into zoho_staging.sync_runs values ('r1', now(), now(), 'success', 'items');
        """,
    )
    try:
        page = _render(pg_env)
    finally:
        execute(pg_env, "drop schema zoho_staging cascade")
    api_calls = _section(page, "Zoho API calls per day")
    assert "column runs.api_calls does not exist" in api_calls
    assert "upgrade it as CHANGELOG.md says" in api_calls
    assert "Updates per day" in page and "How fresh is the data?" in page  # the rest renders


def test_report_of_the_demo_names_the_organization_and_the_unpriced_products(
    demo_warehouse, tmp_path
):
    out = tmp_path / "report.html"
    env = {**os.environ, **demo_warehouse, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "loader.ops.report", "--out", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    ((org, zone),) = execute(
        demo_warehouse, "select name, time_zone from zoho_staging.organizations"
    )
    assert f'<h1 id="organization">{html.escape(org)}</h1>' in page
    assert f"times are in {zone}" in page
    unpriced = execute(
        demo_warehouse,
        "select product_name, sku from analytics.products where is_active and price <= 0",
    )
    assert unpriced
    for name, sku in unpriced:  # the table of products without a price names each one
        assert f"<td>{html.escape(name)}</td><td>{html.escape(sku or '')}</td>" in page
    ((without_price,),) = execute(
        demo_warehouse, "select without_price from analytics.price_coverage"
    )
    verdict = page.split('id="verdict">', 1)[1].split("</div>", 1)[0]
    assert verdict == f"Needs attention: {without_price} products have no price."
    assert page.count(CHART) == 4  # coverage over time, data age, updates, API calls
    assert NO_DATA not in page
    assert "<script src=" not in page  # plotly.js is inside the page: it opens offline


def test_incomplete_invoice_line_items_show_in_the_verdict_and_the_completeness(demo_warehouse):
    """The demo's marts with three invoices in eight waiting for their lines (a copy in a
    schema of its own, so the shared demo warehouse stays as built)."""
    execute(
        demo_warehouse,
        """
        drop schema if exists incomplete cascade;
        create schema incomplete;
        create table incomplete.invoices as select * from analytics.invoices;
        update incomplete.invoices set has_current_details = false
        where not is_deleted and abs(hashtext(invoice_id)) % 8 < 3;
        create view incomplete.products as select * from analytics.products;
        create view incomplete.pricelists as select * from analytics.pricelists;
        create view incomplete.product_prices as select * from analytics.product_prices;
        create view incomplete.customers as select * from analytics.customers;
        create view incomplete.invoice_line_items as select * from analytics.invoice_line_items;
        create view incomplete.price_coverage as select * from analytics.price_coverage;
        create view incomplete.product_price_coverage
            as select * from analytics.product_price_coverage;
        """,
    )
    try:
        page = _render(demo_warehouse, "incomplete")
        ((loaded, total),) = execute(
            demo_warehouse,
            "select count(*) filter (where has_current_details), count(*)"
            " from incomplete.invoices where not is_deleted",
        )
    finally:
        execute(demo_warehouse, "drop schema incomplete cascade")
    assert 0 < loaded < total
    percent = math.floor(100 * loaded / total)
    completeness = _section(page, "Is everything loaded?")
    assert f"{percent} %: {loaded:,} of {total:,} invoices have their lines loaded" in completeness
    verdict = page.split('id="verdict">', 1)[1].split("</div>", 1)[0]
    assert verdict.startswith("Needs attention:")
    assert f"line items are {percent} % loaded" in verdict


def test_report_of_the_demo_counts_and_lists_products_below_their_last_purchase_cost(
    demo_warehouse,
):
    page = _render(demo_warehouse)
    section = _section(page, "Products below their last purchase cost")
    ((bought, priced, sold),) = execute(
        demo_warehouse,
        "select with_purchase_cost, priced_below_cost, sold_below_cost "
        "from analytics.cost_coverage",
    )
    assert bought > 0  # the demo data has bills
    for value, label in (
        (bought, "products with a purchase cost"),
        (priced, "priced below their last cost"),
        (sold, "sold below their last cost"),
    ):
        assert f'<div class="value">{value:,}</div><div class="label">{label}</div>' in section
    below = execute(
        demo_warehouse,
        "select product_name from analytics.product_costs "
        "where is_priced_below_cost or is_sold_below_cost order by margin, product_name limit 20",
    )
    for (name,) in below:
        assert f"<td>{html.escape(name)}</td>" in section
    assert section.count("<tr>") == len(below) + (1 if below else 0)  # the header row


def test_a_warehouse_without_bills_shows_no_purchase_cost_section(pg_env):
    conn = connect(pg_env)
    with conn.cursor() as cur:
        cur.execute("create schema if not exists analytics")
        cur.execute(
            "create table analytics.cost_coverage (organization_id text, active_products bigint,"
            " with_purchase_cost bigint, priced_below_cost bigint, sold_below_cost bigint)"
        )
        cur.execute("insert into analytics.cost_coverage values ('1', 10, 0, 0, 0)")
    conn.close()
    try:
        page = _render(pg_env)
        assert "Products below their last purchase cost" not in page
    finally:
        execute(pg_env, "drop table analytics.cost_coverage")
