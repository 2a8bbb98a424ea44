"""The SQL of the health report: what each section reads from the warehouse.

Every function reads defensively: a table (or column) that does not exist yet raises
`Absent` with the reason the page shows; a table without rows gives an empty result.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loader.names import RAW_SCHEMA

# The loader's dataset: raw tables and its bookkeeping (sync_runs, job_runs, webhook_events).
RAW_SCHEMA = RAW_SCHEMA
# Statuses the report counts as a failure (sync_runs: success, quota_exhausted, failed,
# running; job_runs and webhook_events are read with the same words).
FAILED = ("failed", "error", "dead", "dead_letter", "killed", "timeout")
SUCCEEDED = ("success", "ok", "applied", "processed", "done", "succeeded")
_SYNC_RUNS_ABSENT = f"no loader run yet ({RAW_SCHEMA}.sync_runs)"
_RUNS_OF = {"sync_runs": "loader", "job_runs": "job"}


class Absent(Exception):
    """What a section reads is not in the warehouse yet; the message says what builds it."""


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


def _quoted(words: Sequence[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def coverage_history(wh: Warehouse, schema: str) -> list[tuple[str, int, int]]:
    """(day, active products, products with a price in force) at the end of each day since
    the first snapshot (now for today), from the dbt snapshots."""
    snapshots = f"{schema}_snapshots"
    if not wh.columns(snapshots, "product_prices_snapshot") or not wh.columns(
        snapshots, "items_snapshot"
    ):
        raise Absent("the price snapshots are built by the first dbt build")
    return wh.rows(
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


def current_coverage(wh: Warehouse, schema: str, wanted: Sequence[str]) -> dict[str, Any]:
    """The `wanted` figures of the price_coverage mart that it has (its one row), in the
    order asked; empty when the mart has no row."""
    columns = wh.columns(schema, "price_coverage")
    if not columns:
        raise Absent("analytics.price_coverage is built by dbt")
    names = [c for c in wanted if c in columns]
    row = wh.rows(f"select {', '.join(names)} from {schema}.price_coverage")
    return dict(zip(names, row[0], strict=True)) if row else {}


def unpriced_products(wh: Warehouse, schema: str) -> list[tuple[str, str, str]]:
    """(product name, SKU, coverage class) of the active products without a price."""
    columns = wh.columns(schema, "product_price_coverage")
    if not columns:
        raise Absent("analytics.product_price_coverage is built by dbt")
    if {"product_name", "sku"} <= columns:
        source, name, sku = f"{schema}.product_price_coverage as c", "c.product_name", "c.sku"
    else:  # a warehouse built before the mart carried names
        source = (
            f"{schema}.product_price_coverage as c"
            f" left join {schema}.products as p on c.product_id = p.product_id"
        )
        name, sku = "p.product_name", "p.sku"
    return wh.rows(
        f"select {name}, {sku}, c.coverage_class from {source}"
        " where c.coverage_class not in ('pricelist', 'default')"
        f" order by c.coverage_class, {name}"
    )


def runs_per_day(wh: Warehouse, table: str, run_key: str) -> list[tuple[str, int, int, int]]:
    """(day, failed, running, all) runs of `table` (sync_runs or job_runs, several rows a
    run grouped by `run_key`) per day; a run failed when any of its rows did."""
    if not {run_key, "started_at", "status"} <= wh.columns(RAW_SCHEMA, table):
        raise Absent(f"no {_RUNS_OF[table]} run yet ({RAW_SCHEMA}.{table})")
    return wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.{table}", "started_at")}),
        runs as (
            select {run_key},
                   to_char(date_trunc('day', min(started_at)), 'YYYY-MM-DD') as day,
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
        """
    )


def latest_failures(wh: Warehouse) -> list[tuple[datetime, str, str]]:
    """(started, status, error) of the ten latest loader runs with an error."""
    if "error" not in wh.columns(RAW_SCHEMA, "sync_runs"):
        return []
    return wh.rows(
        f"select started_at, status, error from {RAW_SCHEMA}.sync_runs"
        " where error is not null order by started_at desc limit 10"
    )


def api_calls_per_day(wh: Warehouse) -> list[tuple[str, int, int | None]]:
    """(day, API calls, quota left after the day's last run): the quota a day is the calls
    made plus what Zoho said was left."""
    if not {"started_at", "api_calls", "quota_remaining"} <= wh.columns(RAW_SCHEMA, "sync_runs"):
        raise Absent(_SYNC_RUNS_ABSENT)
    return wh.rows(
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


def data_age(wh: Warehouse) -> dict[str, tuple[datetime, float]]:
    """Per resource: the end of the last successful run that read it, and how many hours
    ago that was."""
    if not {"finished_at", "status", "resources"} <= wh.columns(RAW_SCHEMA, "sync_runs"):
        raise Absent(_SYNC_RUNS_ABSENT)
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
    return {resource.strip(): (at, hours) for resource, at, hours in rows}


def _first(columns: set[str], *candidates: str) -> str | None:
    return next((c for c in candidates if c in columns), None)


def webhook_events_per_day(wh: Warehouse) -> list[tuple[str, int, int, int]] | None:
    """(day, events, succeeded, failed) of the webhook receiver; None while it has never
    run (no table)."""
    columns = wh.columns(RAW_SCHEMA, "webhook_events")
    if not columns:
        return None
    at = _first(columns, "received_at", "created_at", "stored_at", "inserted_at")
    status = _first(columns, "status", "state", "outcome")
    if at is None or status is None:
        raise Absent("webhook_events has no time or status column")
    return wh.rows(
        f"""
        with days as ({_days(f"{RAW_SCHEMA}.webhook_events", at)}),
        events as (
            select to_char(date_trunc('day', {at}), 'YYYY-MM-DD') as day, {status} as status
            from {RAW_SCHEMA}.webhook_events
        )
        select days.day, count(events.day),
               count(events.day) filter (where events.status in ({_quoted(SUCCEEDED)})),
               count(events.day) filter (where events.status in ({_quoted(FAILED)}))
        from days
        left join events on days.day = events.day
        group by days.day
        order by days.day
        """
    )
