"""The health report: one static HTML page a shop owner opens from disk (no server).

    python -m loader.report [--out PATH]     write it (default .local/report.html)

`make report` writes it for the warehouse in use; the webhook service serves the same page
at /report (`render_report(conn)`). Sections: price coverage over time (from the
snapshots), the products without a price and why, runs per day with their failures, API
calls per day against the quota, data age per resource and, once the webhook receiver has
stored events, events per day and their success rate.

Every section reads its tables defensively: a table that does not exist yet (no build, no
webhook service, an older loader) or holds no rows shows "no data yet", never an error.
Charts are drawn by plotly, whose JavaScript is embedded in the page, so it works offline.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".local" / "report.html"
# The loader's dataset: raw tables and its bookkeeping (sync_runs, job_runs, webhook_events).
RAW_SCHEMA = "zoho_staging"
NO_DATA = "no data yet"
# docs/configuration.md: the warehouse is unreachable or refuses the login.
EXIT_WAREHOUSE_UNREACHABLE = 6
# Statuses the report counts as a failure (sync_runs: success, quota_exhausted, failed,
# running; job_runs and webhook_events are read with the same words).
FAILED = ("failed", "error", "dead", "dead_letter", "killed", "timeout")
SUCCEEDED = ("success", "ok", "applied", "processed", "done", "succeeded")
RESOURCES = (
    "organizations",
    "items",
    "contacts",
    "invoices",
    "invoice_details",
    "invoice_line_items",
    "pricebooks",
    "pricebook_items",
)


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # HTML


class Warehouse:
    """The queries of the report on one DB-API connection (psycopg2): each statement on its
    own, so a missing table never aborts the ones after it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            result = cur.fetchall()
        if not getattr(self.conn, "autocommit", False):
            self.conn.rollback()  # end the read's transaction: no idle-in-transaction
        return result

    def columns(self, schema: str, table: str) -> set[str]:
        """The table's columns; empty when it does not exist."""
        found = self.rows(
            "select column_name from information_schema.columns"
            " where table_schema = %s and table_name = %s",
            (schema, table),
        )
        return {name for (name,) in found}


def _days(table: str, column: str) -> str:
    """A select of `day` (text, YYYY-MM-DD): every day from the table's first `column` to
    today, so a day without rows shows as a gap, not as a missing bar."""
    return f"""
        select to_char(day, 'YYYY-MM-DD') as day
        from generate_series(
            (select date_trunc('day', min({column})) from {table}),
            date_trunc('day', now()),
            interval '1 day'
        ) as day
    """


def _daily(figure: go.Figure) -> go.Figure:
    """One category per day on the x axis: readable with a single day of data too."""
    figure.update_xaxes(type="category", title_text="day")
    return figure


def _figure_html(figure: go.Figure) -> str:
    figure.update_layout(
        template="plotly_white",
        height=340,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _table_html(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _no_data(why: str = "") -> str:
    return f'<p class="no-data">{NO_DATA}{html.escape(": " + why) if why else ""}</p>'


def price_coverage_section(wh: Warehouse, schema: str) -> Section:
    title = "Price coverage over time"
    snapshots = f"{schema}_snapshots"
    if not wh.columns(snapshots, "product_prices_snapshot") or not wh.columns(
        snapshots, "items_snapshot"
    ):
        return Section(title, _no_data("the price snapshots are built by the first dbt build"))
    # At the end of each day since the first snapshot (now for today): active products
    # (items_snapshot) and those with a price in force (product_prices_snapshot).
    points = wh.rows(
        f"""
        with days as (
            select least(day + interval '1 day' - interval '1 microsecond', now()) as at
            from generate_series(
                (select date_trunc('day', min(dbt_valid_from))
                 from {snapshots}.product_prices_snapshot),
                date_trunc('day', now()),
                interval '1 day'
            ) as day
        ),
        priced as (
            select days.at, count(distinct h.product_id) as products
            from days
            inner join {snapshots}.product_prices_snapshot as h
                on h.dbt_valid_from <= days.at
                and (h.dbt_valid_to > days.at or h.dbt_valid_to is null)
                and not coalesce(h.is_deleted, false)
            group by days.at
        ),
        active as (
            select days.at, count(distinct i.product_id) as products
            from days
            inner join {snapshots}.items_snapshot as i
                on i.dbt_valid_from <= days.at
                and (i.dbt_valid_to > days.at or i.dbt_valid_to is null)
                and not coalesce(i.is_deleted, false)
                and i.status = 'active'
            group by days.at
        )
        select to_char(days.at, 'YYYY-MM-DD'), coalesce(active.products, 0),
               coalesce(priced.products, 0)
        from days
        left join active on days.at = active.at
        left join priced on days.at = priced.at
        order by days.at
        """
    )
    if not points:
        return Section(title, _no_data())
    days = [at for at, _, _ in points]
    active = [a for _, a, _ in points]
    priced = [p for _, _, p in points]
    percent = [round(100.0 * p / a, 1) if a else None for _, a, p in points]
    figure = go.Figure()
    figure.add_bar(x=days, y=active, name="active products", marker_color="#c7d3e3")
    figure.add_bar(x=days, y=priced, name="with a price", marker_color="#3a6ea5")
    figure.add_scatter(
        x=days, y=percent, name="coverage %", yaxis="y2", mode="lines+markers", line_color="#d9822b"
    )
    figure.update_layout(
        barmode="overlay",
        yaxis={"title": "products"},
        yaxis2={"title": "coverage %", "overlaying": "y", "side": "right", "range": [0, 105]},
    )
    return Section(title, _figure_html(_daily(figure)))


def current_coverage_section(wh: Warehouse, schema: str) -> Section:
    title = "Price and image coverage now"
    columns = wh.columns(schema, "price_coverage")
    if not columns:
        return Section(title, _no_data("analytics.price_coverage is built by dbt"))
    names = [c for c in PRICE_COVERAGE_FIGURES if c in columns]
    row = wh.rows(f"select {', '.join(names)} from {schema}.price_coverage")
    if not row:
        return Section(title, _no_data())
    cards = "".join(
        f'<div class="card"><div class="value">{html.escape(_text(value))}</div>'
        f'<div class="label">{html.escape(PRICE_COVERAGE_FIGURES[name])}</div></div>'
        for name, value in zip(names, row[0], strict=True)
    )
    return Section(title, f'<div class="cards">{cards}</div>')


PRICE_COVERAGE_FIGURES = {
    "active_products": "active products",
    "with_pricelist_price": "priced by a price list",
    "filled_by_default": "priced by the default list",
    "without_price": "without a price",
    "coverage_percent": "price coverage %",
    "coverage_target_percent": "target %",
    "with_image": "with an image",
    "image_coverage_percent": "image coverage %",
}

WHY_UNPRICED = {
    "zero_price": "price is zero in Zoho (on purpose: fees, services, discontinued)",
    "no_price": "no price in Zoho",
    "unexplained": "has a price but no list prices it (a dbt test fails on this)",
}


def unpriced_section(wh: Warehouse, schema: str) -> Section:
    title = "Products without a price, and why"
    columns = wh.columns(schema, "product_price_coverage")
    if not columns:
        return Section(title, _no_data("analytics.product_price_coverage is built by dbt"))
    if {"product_name", "sku"} <= columns:
        source, name, sku = f"{schema}.product_price_coverage as c", "c.product_name", "c.sku"
    else:  # a warehouse built before the mart carried names
        source = (
            f"{schema}.product_price_coverage as c"
            f" left join {schema}.products as p on c.product_id = p.product_id"
        )
        name, sku = "p.product_name", "p.sku"
    rows = wh.rows(
        f"select {name}, {sku}, c.coverage_class from {source}"
        " where c.coverage_class not in ('pricelist', 'default')"
        f" order by c.coverage_class, {name}"
    )
    if not rows:
        return Section(title, "<p>Every active product has a price.</p>")
    table = _table_html(
        ["product", "SKU", "why"],
        [(n, s, WHY_UNPRICED.get(cls, cls)) for n, s, cls in rows],
    )
    return Section(title, f"<p>{len(rows)} active products have no price.</p>{table}")


def _runs_per_day(wh: Warehouse, table: str, run_key: str, figure_title: str) -> str | None:
    """A stacked bar chart of runs per day by outcome; None without rows."""
    failed = ", ".join(f"'{s}'" for s in FAILED)
    rows = wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.{table}", "started_at")}),
        runs as (
            select {run_key},
                   to_char(date_trunc('day', min(started_at)), 'YYYY-MM-DD') as day,
                   case
                       when bool_or(status in ({failed})) then 'failed'
                       when bool_or(status = 'running') then 'running'
                       else 'ok'
                   end as outcome
            from {RAW_SCHEMA}.{table}
            group by {run_key}
        )
        select days.day,
               count(runs.day) filter (where outcome = 'failed'),
               count(runs.day) filter (where outcome = 'running'),
               count(runs.day)
        from days
        left join runs on days.day = runs.day
        group by days.day
        order by days.day
        """
    )
    if not rows:
        return None
    days = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[3] - r[1] - r[2] for r in rows], name="ok", marker_color="#4c9a5b")
    figure.add_bar(x=days, y=[r[1] for r in rows], name="failed", marker_color="#c0392b")
    figure.add_bar(x=days, y=[r[2] for r in rows], name="running", marker_color="#aaaaaa")
    figure.update_layout(barmode="stack", title=figure_title, yaxis={"title": "runs"})
    return _figure_html(_daily(figure))


def runs_section(wh: Warehouse) -> Section:
    title = "Runs per day"
    parts = []
    sync_columns = wh.columns(RAW_SCHEMA, "sync_runs")
    if {"run_id", "started_at", "status"} <= sync_columns:
        chart = _runs_per_day(wh, "sync_runs", "run_id", "loader runs (sync_runs)")
        parts.append(chart or _no_data("no loader run yet"))
        if "error" in sync_columns:
            errors = wh.rows(
                f"select started_at, status, error from {RAW_SCHEMA}.sync_runs"
                " where error is not null order by started_at desc limit 10"
            )
            if errors:
                parts.append("<h3>Latest failures</h3>")
                parts.append(_table_html(["started", "status", "error"], errors))
    else:
        parts.append(_no_data("no loader run yet (zoho_staging.sync_runs)"))
    job_columns = wh.columns(RAW_SCHEMA, "job_runs")
    if {"job_id", "started_at", "status"} <= job_columns:
        chart = _runs_per_day(wh, "job_runs", "job_id", "jobs: load, dbt build, freshness")
        parts.append(chart or _no_data("no job run yet"))
    return Section(title, "".join(parts))


def api_calls_section(wh: Warehouse) -> Section:
    title = "API calls per day and the quota"
    if not {"started_at", "api_calls", "quota_remaining"} <= wh.columns(RAW_SCHEMA, "sync_runs"):
        return Section(title, _no_data("no loader run yet (zoho_staging.sync_runs)"))
    # The quota a day: calls made plus what Zoho said was left after the day's last run.
    rows = wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.sync_runs", "started_at")}),
        runs as (
            select to_char(date_trunc('day', started_at), 'YYYY-MM-DD') as day, *
            from {RAW_SCHEMA}.sync_runs
        )
        select days.day,
               coalesce(sum(runs.api_calls), 0),
               (array_agg(runs.quota_remaining order by runs.started_at desc)
                    filter (where runs.quota_remaining is not null))[1]
        from days
        left join runs on days.day = runs.day
        group by days.day
        order by days.day
        """
    )
    if not rows:
        return Section(title, _no_data("no loader run yet"))
    days = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[1] for r in rows], name="API calls", marker_color="#3a6ea5")
    figure.add_scatter(
        x=days,
        y=[r[2] for r in rows],
        name="quota left after the day's last run",
        mode="lines+markers",
        line_color="#d9822b",
    )
    figure.update_layout(yaxis={"title": "calls"})
    return Section(title, _figure_html(_daily(figure)))


def data_age_section(wh: Warehouse) -> Section:
    title = "Data age per resource"
    columns = wh.columns(RAW_SCHEMA, "sync_runs")
    if not {"finished_at", "status", "resources"} <= columns:
        return Section(title, _no_data("no loader run yet (zoho_staging.sync_runs)"))
    # The last successful run that read each resource, and how long ago that was.
    rows = wh.rows(
        f"""
        select resource, max(finished_at),
               round(extract(epoch from now() - max(finished_at)) / 3600.0, 1)
        from {RAW_SCHEMA}.sync_runs,
             unnest(string_to_array(resources, ',')) as resource
        where status in ('success', 'quota_exhausted') and finished_at is not null
        group by resource
        """
    )
    synced = {resource.strip(): (at, hours) for resource, at, hours in rows}
    if not synced:
        return Section(title, _no_data("no successful loader run yet"))
    names = [r for r in RESOURCES if r in synced] + sorted(set(synced) - set(RESOURCES))
    figure = go.Figure()
    figure.add_bar(
        x=[synced[n][1] for n in names],
        y=names,
        orientation="h",
        marker_color="#3a6ea5",
        name="hours since the last successful load",
    )
    figure.update_layout(xaxis={"title": "hours since the last successful load"})
    table = _table_html(
        ["resource", "last successful load", "hours ago"],
        [(n, synced[n][0], synced[n][1]) for n in names],
    )
    return Section(title, _figure_html(figure) + table)


def _first(columns: set[str], *candidates: str) -> str | None:
    return next((c for c in candidates if c in columns), None)


def webhooks_section(wh: Warehouse) -> Section | None:
    """None while the webhook receiver has never run (no table)."""
    columns = wh.columns(RAW_SCHEMA, "webhook_events")
    if not columns:
        return None
    title = "Webhook events per day"
    at = _first(columns, "received_at", "created_at", "stored_at", "inserted_at")
    status = _first(columns, "status", "state", "outcome")
    if at is None or status is None:
        return Section(title, _no_data("webhook_events has no time or status column"))
    succeeded = ", ".join(f"'{s}'" for s in SUCCEEDED)
    failed = ", ".join(f"'{s}'" for s in FAILED)
    rows = wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.webhook_events", at)}),
        events as (
            select to_char(date_trunc('day', {at}), 'YYYY-MM-DD') as day, {status} as status
            from {RAW_SCHEMA}.webhook_events
        )
        select days.day, count(events.day),
               count(events.day) filter (where events.status in ({succeeded})),
               count(events.day) filter (where events.status in ({failed}))
        from days
        left join events on days.day = events.day
        group by days.day
        order by days.day
        """
    )
    if not rows:
        return Section(title, _no_data())
    days = [r[0] for r in rows]
    rate = [round(100.0 * ok / (ok + bad), 1) if ok + bad else None for _, _, ok, bad in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[1] for r in rows], name="events", marker_color="#3a6ea5")
    figure.add_scatter(
        x=days, y=rate, name="success %", yaxis="y2", mode="lines+markers", line_color="#4c9a5b"
    )
    figure.update_layout(
        yaxis={"title": "events"},
        yaxis2={"title": "success %", "overlaying": "y", "side": "right", "range": [0, 105]},
    )
    return Section(title, _figure_html(_daily(figure)))


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0; } .generated { color: #666; margin-top: 0.2em; }
section { border-top: 1px solid #ddd; padding: 0.5em 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
th { background: #f4f6f8; }
.no-data { color: #777; font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card .value { font-size: 1.6em; font-weight: 600; } .card .label { color: #555; }
"""


def _sections(wh: Warehouse, schema: str) -> list[Section]:
    builders: list[Callable[[], Section | None]] = [
        lambda: current_coverage_section(wh, schema),
        lambda: price_coverage_section(wh, schema),
        lambda: unpriced_section(wh, schema),
        lambda: runs_section(wh),
        lambda: api_calls_section(wh),
        lambda: data_age_section(wh),
        lambda: webhooks_section(wh),
    ]
    return [section for build in builders if (section := build()) is not None]


def render_report(conn: Any, schema: str | None = None) -> str:
    """The whole report page for the warehouse on `conn` (a psycopg2 connection); `schema`
    is the marts' schema (default ANALYTICS_SCHEMA or analytics)."""
    schema = schema or os.environ.get("ANALYTICS_SCHEMA") or "analytics"
    sections = _sections(Warehouse(conn), schema)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f"<section><h2>{html.escape(s.title)}</h2>{s.body}</section>" for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Zoho Books: health report</title>"
        f"<style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        "</head><body><h1>Zoho Books: health report</h1>"
        f'<p class="generated">Generated {generated}. Prices, runs, API calls and data age '
        "of the warehouse.</p>"
        f"{body}</body></html>\n"
    )


def _connect():
    import psycopg2

    return psycopg2.connect("")  # libpq reads the PG* variables (loader.warehouse exec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loader.report", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the HTML file to write")
    args = parser.parse_args(argv)
    try:
        conn = _connect()
    except Exception as exc:  # psycopg2.OperationalError: refused, no such database ...
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: cannot connect to the warehouse: {first_line}", file=sys.stderr)
        return EXIT_WAREHOUSE_UNREACHABLE
    try:
        page = render_report(conn)
    finally:
        conn.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    print(f"report written to {args.out.resolve()} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
