"""The health report (`make report`, and /report of the webhook service): one HTML page
that opens from disk, built from whatever the warehouse holds, never failing on a table
that does not exist yet."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

from loader.ops.report import NO_DATA, render_report
from tests.integration.conftest import connect, execute

ROOT = Path(__file__).resolve().parents[2]
CHART = 'class="plotly-graph-div"'


def test_an_empty_warehouse_gives_a_page_saying_no_data_yet_in_every_section(pg_env):
    conn = connect(pg_env)
    try:
        page = render_report(conn)
    finally:
        conn.close()
    for title in (
        "Price coverage over time",
        "Products without a price, and why",
        "Runs per day",
        "API calls per day and the quota",
        "Data age per resource",
    ):
        section = page.split(f"<h2>{title}</h2>", 1)[1].split("</section>", 1)[0]
        assert NO_DATA in section, title
    assert "Webhook events" not in page  # no receiver yet: no section
    assert CHART not in page


def test_job_runs_and_webhook_events_get_their_charts_once_the_tables_exist(pg_env):
    execute(
        pg_env,
        """
        create schema if not exists zoho_staging;
        create table zoho_staging.job_runs (
            job_id text, step text, status text, started_at timestamptz, finished_at timestamptz
        );
        insert into zoho_staging.job_runs values
            ('j1', 'load', 'success', now() - interval '1 day', now() - interval '1 day'),
            ('j1', 'dbt build', 'failed', now() - interval '1 day', now() - interval '1 day'),
            ('j2', 'load', 'success', now(), now());
        create table zoho_staging.webhook_events (
            event_id text, received_at timestamptz, status text
        );
        insert into zoho_staging.webhook_events values
            ('e1', now(), 'applied'), ('e2', now(), 'failed'), ('e3', now(), 'pending');
        """,
    )
    conn = connect(pg_env)
    try:
        page = render_report(conn)
    finally:
        conn.close()
    runs = page.split("<h2>Runs per day</h2>", 1)[1].split("</section>", 1)[0]
    assert "jobs: load, dbt build, freshness" in runs
    events = page.split("<h2>Webhook events per day</h2>", 1)[1].split("</section>", 1)[0]
    assert NO_DATA not in events and CHART in events
    assert '"success %"' in events and "50.0" in events  # 1 applied of 2 finished


def test_report_of_the_demo_shows_coverage_unpriced_products_runs_and_data_age(
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
    unpriced = execute(
        demo_warehouse,
        "select product_name, sku from analytics.products where is_active and price <= 0",
    )
    assert unpriced
    for name, sku in unpriced:  # the table of products without a price names each one
        assert f"<td>{html.escape(name)}</td><td>{html.escape(sku or '')}</td>" in page
    assert page.count(CHART) == 4  # coverage over time, runs, API calls, data age
    assert NO_DATA not in page
    assert "<script src=" not in page  # plotly.js is inside the page: it opens offline
