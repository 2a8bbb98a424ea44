"""The HTML page of the report: a verdict on top, then one section per question an owner
asks (is everything loaded, are prices complete, is the data fresh, do the updates run),
and at the end a section for the technician (settings, exit codes, errors as recorded).

Each section is a function of the `Context` (SECTIONS, in page order) returning HTML, or
None to leave it out. A section whose table is not built yet says so in a sentence.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg2

from loader.errors import ConfigError
from loader.names import ANALYTICS_SCHEMA_VARIABLE, RAW_SCHEMA, analytics_schema
from loader.ops.health import Thresholds, health_report, thresholds_from_config
from loader.ops.report import charts, costs, queries
from loader.ops.report.queries import Absent, Organization, Warehouse
from loader.ops.report.verdict import Facts, age_in_words, percent_in_words, verdict
from loader.zoho.contract import TABLES

NO_DATA = "No data yet"
# the raw tables, in load order, and the words an owner knows them by
RESOURCES = tuple(TABLES)
OWNER_NAMES = {
    "organizations": "organization",
    "items": "products",
    "pricebooks": "price lists",
    "pricebook_items": "price list prices",
    "contacts": "customers",
    "invoices": "invoices",
    "invoice_details": "invoice details",
    "invoice_line_items": "invoice line items",
}
PRICE_CARDS = (  # (price_coverage column, label, unit)
    ("active_products", "active products", ""),
    ("with_pricelist_price", "priced by a price list", ""),
    ("filled_by_default", "priced by the default list", ""),
    ("without_price", "without a price", ""),
    ("coverage_percent", "price coverage", " %"),
    ("coverage_target_percent", "coverage target", " %"),
    ("with_image", "with an image", ""),
    ("image_coverage_percent", "image coverage", " %"),
)
WHY_UNPRICED = {
    "zero_price": "price is zero in Zoho (on purpose: fees, services, discontinued)",
    "no_price": "no price in Zoho",
    "unexplained": "has a price but no list prices it (a dbt test fails on this)",
}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222;
       padding: 0 1em; line-height: 1.4; }
h1 { margin-bottom: 0.1em; } h2 { margin: 0.4em 0; } h3 { margin: 1em 0 0.3em; }
.meta { color: #555; margin: 0.2em 0 1em; }
.verdict { border-radius: 8px; padding: 0.8em 1.2em; font-size: 1.25em; font-weight: 600;
           margin: 1em 0 1.5em; border-left: 8px solid; }
.verdict.good { background: #eaf6ec; border-color: #4c9a5b; color: #1f5a2b; }
.verdict.attention { background: #fdf3e4; border-color: #d9822b; color: #7a4310; }
.verdict.problem { background: #fbe9e7; border-color: #c0392b; color: #7b1d13; }
section { border-top: 1px solid #ddd; padding: 0.6em 0 1.2em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f4f6f8; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
.incomplete { color: #7a4310; font-weight: 600; }
.no-data { color: #666; font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card .value { font-size: 1.6em; font-weight: 600; } .card .label { color: #555; }
section.technician { background: #f7f7f9; border: 1px solid #ddd; border-radius: 8px;
                     padding: 0.6em 1.2em 1em; margin-top: 2em; }
section.technician td { font-family: ui-monospace, monospace; font-size: 0.85em; }
code { background: #eef0f3; padding: 0 0.25em; border-radius: 3px; }
"""


@dataclass(frozen=True)
class Context:
    """What every section reads: the warehouse, the marts' schema and the organization's
    time zone (UTC until the organization record is loaded)."""

    wh: Warehouse
    schema: str
    zone: ZoneInfo
    zone_name: str
    limits: Thresholds = field(default_factory=Thresholds)
    health: dict[str, Any] = field(default_factory=dict)  # the one health's report

    @property
    def tz(self) -> str:
        """The time zone's IANA name, for PostgreSQL's `at time zone`."""
        return self.zone.key

    def when(self, value: datetime | None) -> str:
        """An instant in the organization's time: `6 Dec 2026, 04:20`."""
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        return f"{local.day} {local:%b %Y, %H:%M}"


def _zone(org: Organization | None) -> tuple[ZoneInfo, str]:
    name = org.time_zone if org and org.time_zone else "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), f"UTC (Zoho's time zone {name!r} is unknown here)"


def _table_html(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="number">{html.escape(_text(v))}</td>'
            if i in numeric
            else f"<td>{html.escape(_text(v))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _no_data(why: str = "") -> str:
    return f'<p class="no-data">{NO_DATA}{html.escape(": " + why) if why else ""}.</p>'


def _owner_name(resource: str) -> str:
    return OWNER_NAMES.get(resource, resource.replace("_", " "))


# ----- the facts of the verdict -------------------------------------------------------------


def read_facts(ctx: Context) -> Facts:
    """The verdict's facts: the data's age and the last job from the one health
    (loader/ops/health.py, what `loader health`, `/health` and the alerts read), the
    prices and the line items from the marts."""
    health = ctx.health
    age = health.get("data_age_seconds")
    try:
        coverage = queries.current_coverage(ctx.wh, ctx.schema)
    except Absent:
        coverage = {}
    try:
        lines = next(c for c in queries.completeness(ctx.wh, ctx.schema) if c.expected is not None)
    except Absent:
        lines = None
    return Facts(
        hours_since_update=None if age is None else age / 3600,
        last_update_failed=(health.get("last_job") or {}).get("status") == "failed",
        products_without_price=coverage.get("without_price"),
        line_items_percent=lines.percent if lines else None,
    )


# ----- the owner's sections -----------------------------------------------------------------


def completeness_section(ctx: Context) -> str:
    rows = queries.completeness(ctx.wh, ctx.schema)
    cells = []
    for table in rows:
        if table.percent is None:
            state = "loaded" if table.rows else "none yet"
            cells.append(f"<td>{html.escape(state)}</td>")
        else:
            words = (
                f"{percent_in_words(table.percent)}: {table.loaded:,} of {table.expected:,}"
                " invoices have their lines loaded"
            )
            css = "" if table.percent >= 100 else ' class="incomplete"'
            cells.append(f"<td{css}>{html.escape(words)}</td>")
    body = "".join(
        f'<tr><td>{html.escape(t.table)}</td><td class="number">{t.rows:,}</td>{cell}</tr>'
        for t, cell in zip(rows, cells, strict=True)
    )
    lines = next(t for t in rows if t.percent is not None)
    note = (
        "<p>Every table is complete.</p>"
        if lines.percent is None or lines.percent >= 100
        else "<p>Invoice line items are read one invoice at a time within Zoho's daily API "
        "allowance, so they arrive over the next updates; until then sales by product are "
        "incomplete (analysts filter on <code>invoices.has_current_details</code>).</p>"
    )
    return (
        f"{note}<table><thead><tr><th>table</th><th>rows</th><th>complete</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def current_coverage_section(ctx: Context) -> str:
    figures = queries.current_coverage(ctx.wh, ctx.schema)
    if not figures:
        return _no_data("the price coverage has no row")
    cards = "".join(
        f'<div class="card"><div class="value">{html.escape(_figure(figures[name], unit))}</div>'
        f'<div class="label">{html.escape(label)}</div></div>'
        for name, label, unit in PRICE_CARDS
    )
    return f'<div class="cards">{cards}</div>'


def _figure(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit:
        return f"{float(value):g}{unit}"
    return f"{int(value):,}"


def price_coverage_section(ctx: Context) -> str:
    points = queries.coverage_history(ctx.wh, ctx.schema, ctx.tz)
    return charts.coverage_history(points) if points else _no_data("no price history yet")


def unpriced_section(ctx: Context) -> str:
    rows = queries.unpriced_products(ctx.wh, ctx.schema)
    if not rows:
        return "<p>Every active product has a price.</p>"
    table = _table_html(
        ["product", "SKU", "why"],
        [(n, s, WHY_UNPRICED.get(cls, cls)) for n, s, cls in rows],
    )
    count = len(rows)
    return f"<p>{count:,} active product{'s have' if count != 1 else ' has'} no price.</p>{table}"


def data_age_section(ctx: Context) -> str:
    synced = queries.data_age(ctx.wh)
    if not synced:
        return _no_data("no update has finished yet, so nothing has an age")
    names = [r for r in RESOURCES if r in synced] + sorted(set(synced) - set(RESOURCES))
    table = _table_html(
        ["table", "last updated", "age"],
        [(_owner_name(n), ctx.when(synced[n][0]), age_in_words(synced[n][1])) for n in names],
    )
    chart = charts.data_age([(_owner_name(n), synced[n][1]) for n in names])
    return table + chart


def runs_section(ctx: Context) -> str:
    loads = queries.runs_per_day(ctx.wh, ctx.tz)
    if not loads:
        return _no_data("the loader has not run")
    total = sum(r[3] for r in loads)
    failed = sum(r[1] for r in loads)
    failures = queries.latest_failures(ctx.wh)
    first = date.fromisoformat(loads[0][0])
    summary = f"{total:,} update{'s' if total != 1 else ''} since {first.day} {first:%b %Y}"
    if not failed:
        summary += ", none failed."
    else:
        newest = f", the newest started {ctx.when(failures[0][0])}" if failures else ""
        summary += f", {failed:,} failed{newest}. The technician's section below says why."
    parts = [f"<p>{html.escape(summary)}</p>", charts.runs_per_day(loads, "updates")]
    try:
        jobs = queries.jobs_per_day(ctx.wh, ctx.tz)
    except Absent:
        jobs = []  # the loader was run by hand, not by the scheduled job
    if jobs:
        parts.append("<h3>Scheduled jobs (update, then rebuild of the tables)</h3>")
        parts.append(charts.runs_per_day(jobs, "jobs"))
    return "".join(parts)


def api_calls_section(ctx: Context) -> str:
    rows = queries.api_calls_per_day(ctx.wh, ctx.tz)
    if not rows:
        return _no_data("the loader has not run")
    return (
        "<p>Zoho allows a number of API calls a day; each update spends some. "
        "The line is what was left after the day's last update.</p>"
        + charts.api_calls_per_day(rows)
    )


def webhooks_section(ctx: Context) -> str | None:
    """None while the webhook receiver has never run (no table): no section."""
    rows = queries.webhook_events_per_day(ctx.wh, ctx.tz)
    if rows is None:
        return None
    if not rows:
        return _no_data("no change received")
    return (
        "<p>Changes Zoho sends as they happen (webhooks), and the share applied.</p>"
        + charts.webhook_events_per_day(rows)
    )


# ----- the technician's section -------------------------------------------------------------


def health_block(report: dict[str, Any]) -> str:
    """What `loader health` says (the one health: loader/ops/health.py): its status and
    problems, word for word."""
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in report.get("problems") or [])
    status = html.escape(str(report.get("status", "UNKNOWN")))
    return f'<p id="health-status">{status} (<code>python -m loader health</code>)</p>' + (
        f"<ul>{problems}</ul>" if problems else ""
    )


def technician_section(ctx: Context, database: tuple[str, str]) -> str:
    jobs = queries.latest_jobs(ctx.wh)
    failures = queries.latest_failures(ctx.wh)
    settings = _table_html(
        ["what", "value", "set by"],
        [
            ("database", database[0], "PGDATABASE"),
            ("server", database[1], "PGHOST, PGPORT"),
            ("loaded tables (raw)", RAW_SCHEMA, "fixed"),
            ("analysts' tables", ctx.schema, ANALYTICS_SCHEMA_VARIABLE),
            ("times shown in", ctx.zone_name, "Zoho's organization record (time_zone)"),
            (
                "data age: warning / problem after",
                f"{ctx.limits.warn_age_hours:g} h / {ctx.limits.critical_age_hours:g} h",
                "HEALTH__WARN_AGE_HOURS, HEALTH__CRITICAL_AGE_HOURS",
            ),
        ],
    )
    parts = [
        "<p>This part is for whoever runs the loader. It names the settings this page "
        "used, the latest scheduled jobs with their exit codes (docs/operations.md says "
        "what each code means and what to do), and each failed update's error exactly as "
        "the loader recorded it.</p>",
        "<h3>Health check</h3>",
        health_block(ctx.health),
        "<h3>Settings</h3>",
        settings,
        "<h3>Latest jobs</h3>",
        _table_html(
            ["started", "status", "exit code", "failed step", "error"],
            [(ctx.when(at), status, code, step, error) for at, status, code, step, error in jobs],
        )
        if jobs
        else "<p>No scheduled job has run on this warehouse (python -m loader.job).</p>",
        "<h3>Latest failures</h3>",
        _table_html(
            ["started", "status", "error"],
            [(ctx.when(at), status, error) for at, status, error in failures],
        )
        if failures
        else "<p>No loader run recorded an error.</p>",
    ]
    return "".join(parts)


Builder = Callable[[Context], "str | None"]
# The owner's sections in page order: (title, builder). A new question is one entry here
# (costs.py: the products below their last purchase cost, None while no bill is loaded).
SECTIONS: tuple[tuple[str, Builder], ...] = (
    ("Is everything loaded?", completeness_section),
    ("Prices now", current_coverage_section),
    ("Price coverage over time", price_coverage_section),
    ("Products without a price, and why", unpriced_section),
    ("Products below their last purchase cost", costs.below_cost_section),
    ("How fresh is the data?", data_age_section),
    ("Updates per day", runs_section),
    ("Zoho API calls per day", api_calls_section),
    ("Changes received from Zoho per day", webhooks_section),
)


def _sections(ctx: Context) -> list[tuple[str, str]]:
    sections = []
    for title, build in SECTIONS:
        try:
            body = build(ctx)
        except Absent as absent:
            body = _no_data(str(absent))
        if body is not None:
            sections.append((title, body))
    return sections


def render_report(conn: Any, schema: str | None = None) -> str:
    """The whole report page for the warehouse on `conn` (a psycopg2 connection); `schema`
    is the marts' schema (default ANALYTICS_SCHEMA or analytics)."""
    wh = Warehouse(conn)
    org = queries.organization(wh)
    zone, zone_name = _zone(org)
    try:
        limits = thresholds_from_config()
    except ConfigError:
        limits = Thresholds()  # `loader health` names the bad setting; the page still renders
    try:
        health = health_report(conn, limits)
    except psycopg2.Error:  # a warehouse not upgraded: each section says so in one sentence
        health = {"status": "UNKNOWN", "problems": ["the bookkeeping tables cannot be read"]}
    finally:
        if not getattr(conn, "autocommit", False):
            conn.rollback()  # end the read's transaction, as the report's queries do
    ctx = Context(wh, schema or analytics_schema(), zone, zone_name, limits, health)
    database = queries.database(wh)
    level, sentence = verdict(read_facts(ctx), limits.warn_age_hours, limits.critical_age_hours)
    body = "".join(
        f"<section><h2>{html.escape(title)}</h2>{content}</section>"
        for title, content in _sections(ctx)
    )
    try:
        technician = technician_section(ctx, database)
    except Absent as absent:
        technician = _no_data(str(absent))
    name = org.name if org else "Zoho Books"
    generated = ctx.when(datetime.now(timezone.utc))
    zone_words = (
        f"{zone_name}, the organization's time zone"
        if org and org.time_zone
        else f"{zone_name} until the organization's record is loaded"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Zoho Books report: {html.escape(name)}</title>"
        f"<style>{STYLE}</style>"
        f'<script type="text/javascript">{charts.plotly_js()}</script>'
        f'</head><body><h1 id="organization">{html.escape(name)}</h1>'
        f'<p class="meta" id="warehouse">Zoho Books, as loaded into the database '
        f"<strong>{html.escape(database[0])}</strong> on {html.escape(database[1])}. "
        f"Generated {html.escape(generated)}; times are in {html.escape(zone_words)}.</p>"
        f'<div class="verdict {level}" id="verdict">{html.escape(sentence)}</div>'
        f"{body}"
        '<section class="technician" id="technician"><h2>For the technician</h2>'
        f"{technician}</section></body></html>\n"
    )
