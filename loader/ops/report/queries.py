"""The SQL of the report: what each section reads from the warehouse.

The tables are read as the current loader and dbt project build them (an earlier
warehouse is upgraded by the CHANGELOG's steps, not read in its old shape). A table that
is not there yet (no load, no dbt build, no webhook service) raises `Absent` with the
reason the page shows; a table without rows gives an empty result. Days are the
organization's days: every query takes its time zone (`tz`, an IANA name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loader.names import RAW_SCHEMA

# Statuses the report counts as a failure (sync_runs: failed; job_runs: failed;
# webhook_events: dead) and as a success (webhook_events: applied, ignored).
FAILED = ("failed", "dead")
SUCCEEDED = ("success", "ok", "applied", "ignored")
UPGRADE = (
    "the warehouse was built by an earlier version; upgrade it as CHANGELOG.md says "
    "(run the job once, then dbt build --full-refresh)"
)
_RUNS_OF = {"sync_runs": "the loader has not run", "job_runs": "no job has run"}


class Absent(Exception):
    """What a section reads is not in the warehouse yet; the message says what builds it."""


class Warehouse:
    """The queries of the report on one DB-API connection (psycopg2): each statement on its
    own, so one section's error never aborts the ones after it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple]:
        """The statement's rows; a column this version reads and the table lacks (a
        warehouse not upgraded) is `Absent` naming the upgrade."""
        import psycopg2.errors

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        except psycopg2.errors.UndefinedColumn as exc:
            raise Absent(f"{str(exc).splitlines()[0]}: {UPGRADE}") from exc
        finally:
            if not getattr(self.conn, "autocommit", False):
                self.conn.rollback()  # end the read's transaction: no idle-in-transaction

    def exists(self, schema: str, table: str) -> bool:
        return self.rows("select to_regclass(%s)", (f'"{schema}"."{table}"',))[0][0] is not None

    def require(self, schema: str, table: str, why: str) -> None:
        if not self.exists(schema, table):
            raise Absent(why)


@dataclass(frozen=True)
class Organization:
    name: str
    time_zone: str | None


@dataclass(frozen=True)
class Completeness:
    """One mart: its rows, and for the ones filled in a second pass (invoice line items)
    how many of the expected are loaded."""

    table: str
    rows: int
    loaded: int | None = None  # of `expected`; None: complete once loaded
    expected: int | None = None

    @property
    def percent(self) -> float | None:
        if self.expected is None or self.loaded is None:
            return None
        return 100.0 * self.loaded / self.expected if self.expected else 100.0


def database(wh: Warehouse) -> tuple[str, str]:
    """(database, server) the connection reads: `zoho_books`, `db.example.com:5432` (the
    host as configured; a Unix socket is "this machine")."""
    ((name,),) = wh.rows("select current_database()")
    info = getattr(wh.conn, "info", None)  # psycopg2's ConnectionInfo
    host, port = (getattr(info, "host", None), getattr(info, "port", None))
    if not host or host.startswith("/"):
        return name, "this machine"
    return name, f"{host}:{port}" if port else host


def organization(wh: Warehouse) -> Organization | None:
    """The organization the loader reads (the one of its latest run), from Zoho's
    organization record; None before the first load."""
    if not wh.exists(RAW_SCHEMA, "organizations"):
        return None
    latest = (
        f"(select organization_id from {RAW_SCHEMA}.sync_runs order by started_at desc limit 1)"
        if wh.exists(RAW_SCHEMA, "sync_runs")
        else "null"
    )
    found = wh.rows(
        f"select name, time_zone from {RAW_SCHEMA}.organizations"
        f" order by organization_id = {latest} desc nulls last, name limit 1"
    )
    return Organization(*found[0]) if found else None


def _days(table: str, column: str) -> str:
    """A select of `day` (text, YYYY-MM-DD): every day of the organization from the
    table's first `column` to today, so a day without rows shows as a gap."""
    return f"""
        select to_char(day, 'YYYY-MM-DD') as day
        from generate_series(
            (select min({column} at time zone %(tz)s)::date from {table}),
            (now() at time zone %(tz)s)::date,
            interval '1 day'
        ) as day
    """


def _quoted(words: Sequence[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def coverage_history(wh: Warehouse, schema: str, tz: str) -> list[tuple[str, int, int]]:
    """(day, active products, products with a price in force) at the end of each of the
    organization's days since the first snapshot (now for today), from the dbt snapshots."""
    snapshots = f"{schema}_snapshots"
    for table in ("product_prices_snapshot", "items_snapshot"):
        wh.require(snapshots, table, "the price history starts with the first dbt build")
    return wh.rows(
        f"""
        with days as (
            select day,
                   least((day + interval '1 day') at time zone %(tz)s
                         - interval '1 microsecond', now()) as at
            from generate_series(
                (select (min(dbt_valid_from) at time zone %(tz)s)::date
                 from {snapshots}.product_prices_snapshot),
                (now() at time zone %(tz)s)::date,
                interval '1 day'
            ) as day
        ),
        priced as (
            select days.at, count(distinct (h.organization_id, h.product_id)) as products
            from days
            inner join {snapshots}.product_prices_snapshot as h
                on h.dbt_valid_from <= days.at
                and (h.dbt_valid_to > days.at or h.dbt_valid_to is null)
                and not coalesce(h.is_deleted, false)
            group by days.at
        ),
        active as (
            select days.at, count(distinct (i.organization_id, i.product_id)) as products
            from days
            inner join {snapshots}.items_snapshot as i
                on i.dbt_valid_from <= days.at
                and (i.dbt_valid_to > days.at or i.dbt_valid_to is null)
                and not coalesce(i.is_deleted, false)
                and i.status = 'active'
            group by days.at
        )
        select to_char(days.day, 'YYYY-MM-DD'), coalesce(active.products, 0),
               coalesce(priced.products, 0)
        from days
        left join active on days.at = active.at
        left join priced on days.at = priced.at
        order by days.day
        """,
        {"tz": tz},
    )


COVERAGE_FIGURES = (
    "active_products",
    "with_pricelist_price",
    "filled_by_default",
    "without_price",
    "coverage_percent",
    "coverage_target_percent",
    "with_image",
    "image_coverage_percent",
)


# The price_coverage mart has a row per organization: the report's figures are over the
# whole warehouse (like its other counts), the percents computed again from the sums.
COVERAGE_TOTALS = """
    select
        sum(active_products)::bigint,
        sum(with_pricelist_price)::bigint,
        sum(filled_by_default)::bigint,
        sum(without_price)::bigint,
        round(100.0 * sum(with_pricelist_price + filled_by_default)
              / nullif(sum(active_products), 0), 1),
        max(coverage_target_percent),
        sum(with_image)::bigint,
        round(100.0 * sum(with_image) / nullif(sum(active_products), 0), 1)
    from {schema}.price_coverage
    having count(*) > 0
"""


def current_coverage(wh: Warehouse, schema: str) -> dict[str, Any]:
    """The figures of the price_coverage mart, over every organization; empty when it has
    no row."""
    wh.require(schema, "price_coverage", "the price coverage is computed by the first dbt build")
    row = wh.rows(COVERAGE_TOTALS.format(schema=schema))
    return dict(zip(COVERAGE_FIGURES, row[0], strict=True)) if row else {}


def unpriced_products(wh: Warehouse, schema: str) -> list[tuple[str, str, str]]:
    """(product name, SKU, coverage class) of the active products without a price."""
    wh.require(schema, "product_price_coverage", "the products are built by the first dbt build")
    return wh.rows(
        f"select product_name, sku, coverage_class from {schema}.product_price_coverage"
        " where coverage_class not in ('pricelist', 'default')"
        " order by coverage_class, product_name"
    )


def completeness(wh: Warehouse, schema: str) -> list[Completeness]:
    """Rows of each mart an analyst queries; invoice line items as invoices whose current
    details (the lines) are loaded, of the invoices not deleted."""
    wh.require(schema, "invoices", "the tables are built by the first dbt build")
    counts = wh.rows(
        f"""
        select
            (select count(*) from {schema}.products where is_active),
            (select count(*) from {schema}.pricelists where is_active),
            (select count(*) from {schema}.product_prices),
            (select count(*) from {schema}.customers where not is_deleted),
            (select count(*) from {schema}.invoices where not is_deleted),
            (select count(*) from {schema}.invoices where not is_deleted and has_current_details),
            (select count(*) from {schema}.invoice_line_items where not is_deleted)
        """
    )[0]
    products, pricelists, prices, customers, invoices, detailed, lines = counts
    return [
        Completeness("products", products),
        Completeness("price lists", pricelists),
        Completeness("product prices", prices),
        Completeness("customers", customers),
        Completeness("invoices", invoices),
        Completeness("invoice line items", lines, loaded=detailed, expected=invoices),
    ]


def runs_per_day(
    wh: Warehouse, table: str, run_key: str, tz: str
) -> list[tuple[str, int, int, int]]:
    """(day, failed, running, all) runs of `table` (sync_runs or job_runs) per day of the
    organization; a run failed when any of its rows did."""
    wh.require(RAW_SCHEMA, table, _RUNS_OF[table])
    return wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.{table}", "started_at")}),
        runs as (
            select {run_key},
                   to_char(min(started_at at time zone %(tz)s), 'YYYY-MM-DD') as day,
                   case
                       when bool_or(status in ({_quoted(FAILED)})) then 'failed'
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
        """,
        {"tz": tz},
    )


def latest_failures(wh: Warehouse) -> list[tuple[datetime, str, str]]:
    """(started, status, error) of the ten latest loader runs with an error."""
    if not wh.exists(RAW_SCHEMA, "sync_runs"):
        return []
    return wh.rows(
        f"select started_at, status, error from {RAW_SCHEMA}.sync_runs"
        " where error is not null order by started_at desc limit 10"
    )


def latest_jobs(wh: Warehouse) -> list[tuple[datetime, str, int | None, str | None, str | None]]:
    """(started, status, exit code, failed step, error) of the ten latest jobs."""
    if not wh.exists(RAW_SCHEMA, "job_runs"):
        return []
    return wh.rows(
        f"select started_at, status, exit_code, failed_step, error from {RAW_SCHEMA}.job_runs"
        " order by started_at desc limit 10"
    )


def last_update(wh: Warehouse) -> tuple[datetime, str] | None:
    """(started, status) of the latest finished loader run; None before the first."""
    if not wh.exists(RAW_SCHEMA, "sync_runs"):
        return None
    found = wh.rows(
        f"select started_at, status from {RAW_SCHEMA}.sync_runs"
        " where status <> 'running' order by started_at desc limit 1"
    )
    return found[0] if found else None


def api_calls_per_day(wh: Warehouse, tz: str) -> list[tuple[str, int, int | None]]:
    """(day, API calls, quota left after the day's last run) per day of the organization."""
    wh.require(RAW_SCHEMA, "sync_runs", _RUNS_OF["sync_runs"])
    return wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.sync_runs", "started_at")}),
        runs as (
            select to_char(started_at at time zone %(tz)s, 'YYYY-MM-DD') as day, *
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
        """,
        {"tz": tz},
    )


def data_age(wh: Warehouse) -> dict[str, tuple[datetime, float]]:
    """Per resource: the end of the last successful run that read it, and how many hours
    ago that was."""
    wh.require(RAW_SCHEMA, "sync_runs", _RUNS_OF["sync_runs"])
    rows = wh.rows(
        f"""
        select resource, max(finished_at),
               extract(epoch from now() - max(finished_at)) / 3600.0
        from {RAW_SCHEMA}.sync_runs,
             unnest(string_to_array(resources, ',')) as resource
        where status in ('success', 'quota_exhausted') and finished_at is not null
        group by resource
        """
    )
    return {resource.strip(): (at, float(hours)) for resource, at, hours in rows}


def webhook_events_per_day(wh: Warehouse, tz: str) -> list[tuple[str, int, int, int]] | None:
    """(day, events, succeeded, failed) of the webhook receiver; None while it has never
    run (no table)."""
    if not wh.exists(RAW_SCHEMA, "webhook_events"):
        return None
    return wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.webhook_events", "received_at")}),
        events as (
            select to_char(received_at at time zone %(tz)s, 'YYYY-MM-DD') as day, status
            from {RAW_SCHEMA}.webhook_events
        )
        select days.day, count(events.day),
               count(events.day) filter (where events.status in ({_quoted(SUCCEEDED)})),
               count(events.day) filter (where events.status in ({_quoted(FAILED)}))
        from days
        left join events on days.day = events.day
        group by days.day
        order by days.day
        """,
        {"tz": tz},
    )
