"""The SQL of the report: what each section reads from the warehouse.

The tables are read as the current loader and dbt project build them (an earlier
warehouse is upgraded by the CHANGELOG's steps, not read in its old shape). A table that
is not there yet (no load, no dbt build, no webhook service) raises `Absent` with the
reason the page shows; a table without rows gives an empty result. Days are the
organization's days: every query takes its time zone (`tz`, an IANA name).

The queries on the marts are here; what the report reads of the bookkeeping tables
(`sync_runs`, `job_runs`, `webhook_events`) is asked of each table's owner in
loader/warehouse/, as the health check and the planner ask it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from loader.names import RAW_SCHEMA
from loader.warehouse import job_runs, sync_runs, webhook_events
from loader.warehouse.catalog import table_exists

T = TypeVar("T")

UPGRADE = (
    "the warehouse was built by an earlier version; upgrade it as CHANGELOG.md says "
    "(run the job once, then dbt build --full-refresh)"
)
NO_RUN = "the loader has not run"
NO_JOB = "no job has run"


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

        def execute(conn: Any) -> list[tuple]:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()

        return self.ask(execute)

    def ask(self, query: Callable[..., T], *args: Any) -> T:
        """`query(conn, *args)`: a bookkeeping table's owner's answer, read as one
        statement of the report (its own transaction, `Absent` on a missing column)."""
        import psycopg2.errors

        try:
            return query(self.conn, *args)
        except psycopg2.errors.UndefinedColumn as exc:
            raise Absent(f"{str(exc).splitlines()[0]}: {UPGRADE}") from exc
        finally:
            if not getattr(self.conn, "autocommit", False):
                self.conn.rollback()  # end the read's transaction: no idle-in-transaction

    def exists(self, schema: str, table: str) -> bool:
        return self.ask(table_exists, table, schema)

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
    latest = wh.ask(sync_runs.latest_organization)
    found = wh.rows(
        f"select name, time_zone from {RAW_SCHEMA}.organizations"
        " order by organization_id = %s desc nulls last, name limit 1",
        (latest,),
    )
    return Organization(*found[0]) if found else None


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


def _required(found: T | None, why: str) -> T:
    if found is None:
        raise Absent(why)
    return found


def runs_per_day(wh: Warehouse, tz: str) -> list[tuple[str, int, int, int]]:
    """(day, failed, running, all) loader runs per day of the organization."""
    return _required(wh.ask(sync_runs.runs_per_day, tz), NO_RUN)


def jobs_per_day(wh: Warehouse, tz: str) -> list[tuple[str, int, int, int]]:
    """(day, failed, running, all) jobs per day of the organization."""
    return _required(wh.ask(job_runs.runs_per_day, tz), NO_JOB)


def latest_failures(wh: Warehouse) -> list[tuple[datetime, str, str]]:
    """(started, status, error) of the ten latest loader runs with an error."""
    return wh.ask(sync_runs.latest_errors, 10)


def latest_jobs(wh: Warehouse) -> list[tuple[datetime, str, int | None, str | None, str | None]]:
    """(started, status, exit code, failed step, error) of the ten latest jobs."""
    return wh.ask(job_runs.latest, 10)


def last_update(wh: Warehouse) -> tuple[datetime, str] | None:
    """(started, status) of the latest finished loader run; None before the first."""
    return wh.ask(sync_runs.last_finished)


def api_calls_per_day(wh: Warehouse, tz: str) -> list[tuple[str, int, int | None]]:
    """(day, API calls, quota left after the day's last run) per day of the organization."""
    return _required(wh.ask(sync_runs.api_calls_per_day, tz), NO_RUN)


def data_age(wh: Warehouse) -> dict[str, tuple[datetime, float]]:
    """Per resource: the end of the last successful run that read it, and how many hours
    ago that was."""
    return _required(wh.ask(sync_runs.data_age), NO_RUN)


def webhook_events_per_day(wh: Warehouse, tz: str) -> list[tuple[str, int, int, int]] | None:
    """(day, events, succeeded, failed) of the webhook receiver; None while it has never
    run (no table)."""
    return wh.ask(webhook_events.events_per_day, tz)
