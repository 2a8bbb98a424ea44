"""The HTML page of the health report: its sections, in order, each from one query
(queries.py) drawn as a chart (charts.py), a table or figures; "no data yet" where the
warehouse does not hold the section's table or rows."""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from loader.ops.report import charts, queries
from loader.ops.report.queries import Absent, Warehouse
from loader.zoho.contract import TABLES

NO_DATA = "no data yet"
# the raw tables, in load order
RESOURCES = tuple(TABLES)
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


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # HTML


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


def price_coverage_section(wh: Warehouse, schema: str) -> str:
    points = queries.coverage_history(wh, schema)
    return charts.coverage_history(points) if points else _no_data()


def current_coverage_section(wh: Warehouse, schema: str) -> str:
    figures = queries.current_coverage(wh, schema, list(PRICE_COVERAGE_FIGURES))
    if not figures:
        return _no_data()
    cards = "".join(
        f'<div class="card"><div class="value">{html.escape(_text(value))}</div>'
        f'<div class="label">{html.escape(PRICE_COVERAGE_FIGURES[name])}</div></div>'
        for name, value in figures.items()
    )
    return f'<div class="cards">{cards}</div>'


def unpriced_section(wh: Warehouse, schema: str) -> str:
    rows = queries.unpriced_products(wh, schema)
    if not rows:
        return "<p>Every active product has a price.</p>"
    table = _table_html(
        ["product", "SKU", "why"],
        [(n, s, WHY_UNPRICED.get(cls, cls)) for n, s, cls in rows],
    )
    return f"<p>{len(rows)} active products have no price.</p>{table}"


def runs_section(wh: Warehouse) -> str:
    parts = []
    try:
        loads = queries.runs_per_day(wh, "sync_runs", "run_id")
    except Absent as absent:
        parts.append(_no_data(str(absent)))
    else:
        parts.append(
            charts.runs_per_day(loads, "loader runs (sync_runs)")
            if loads
            else _no_data("no loader run yet")
        )
        errors = queries.latest_failures(wh)
        if errors:
            parts.append("<h3>Latest failures</h3>")
            parts.append(_table_html(["started", "status", "error"], errors))
    try:
        jobs = queries.runs_per_day(wh, "job_runs", "job_id")
    except Absent:
        pass  # no job records (an older loader): the section shows the loader runs only
    else:
        parts.append(
            charts.runs_per_day(jobs, "jobs: load, dbt build, freshness")
            if jobs
            else _no_data("no job run yet")
        )
    return "".join(parts)


def api_calls_section(wh: Warehouse) -> str:
    rows = queries.api_calls_per_day(wh)
    return charts.api_calls_per_day(rows) if rows else _no_data("no loader run yet")


def data_age_section(wh: Warehouse) -> str:
    synced = queries.data_age(wh)
    if not synced:
        return _no_data("no successful loader run yet")
    names = [r for r in RESOURCES if r in synced] + sorted(set(synced) - set(RESOURCES))
    table = _table_html(
        ["resource", "last successful load", "hours ago"],
        [(n, synced[n][0], synced[n][1]) for n in names],
    )
    return charts.data_age(names, synced) + table


def webhooks_section(wh: Warehouse) -> str | None:
    """None while the webhook receiver has never run (no table): no section."""
    rows = queries.webhook_events_per_day(wh)
    if rows is None:
        return None
    return charts.webhook_events_per_day(rows) if rows else _no_data()


def health_section(wh: Warehouse) -> str | None:
    """The one health's verdict and problems (loader/ops/health.py, what `loader health`
    says); None (no section) when the bookkeeping tables cannot be read."""
    import psycopg2

    from loader.errors import ConfigError
    from loader.ops.health import health_report, thresholds_from_config

    try:
        report = health_report(wh.conn, thresholds_from_config())
    except ConfigError as exc:
        return f"<p>{html.escape(str(exc))}</p>"
    except psycopg2.Error:
        wh.conn.rollback()
        return None
    finally:
        if not getattr(wh.conn, "autocommit", False):
            wh.conn.rollback()  # end the read's transaction, as the report's queries do
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in report["problems"])
    return f"<p>{html.escape(report['status'])}</p>" + (f"<ul>{problems}</ul>" if problems else "")


def _sections(wh: Warehouse, schema: str) -> list[Section]:
    builders: list[tuple[str, Callable[[], str | None]]] = [
        ("Health now", lambda: health_section(wh)),
        ("Price and image coverage now", lambda: current_coverage_section(wh, schema)),
        ("Price coverage over time", lambda: price_coverage_section(wh, schema)),
        ("Products without a price, and why", lambda: unpriced_section(wh, schema)),
        ("Runs per day", lambda: runs_section(wh)),
        ("API calls per day and the quota", lambda: api_calls_section(wh)),
        ("Data age per resource", lambda: data_age_section(wh)),
        ("Webhook events per day", lambda: webhooks_section(wh)),
    ]
    sections = []
    for title, build in builders:
        try:
            body = build()
        except Absent as absent:
            body = _no_data(str(absent))
        if body is not None:
            sections.append(Section(title, body))
    return sections


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
        f'<script type="text/javascript">{charts.plotly_js()}</script>'
        "</head><body><h1>Zoho Books: health report</h1>"
        f'<p class="generated">Generated {generated}. Prices, runs, API calls and data age '
        "of the warehouse.</p>"
        f"{body}</body></html>\n"
    )
