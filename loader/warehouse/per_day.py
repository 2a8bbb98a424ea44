"""Bookkeeping rows per day of the organization (an IANA time zone): every day from a
table's first row to today, so that a day without rows shows as a gap. The owners of
`sync_runs`, `job_runs` and `webhook_events` count their rows with it for the report."""

from __future__ import annotations

from typing import Any


def days_sql(table: str, column: str) -> str:
    """A select of `day` (text, YYYY-MM-DD): every day of the organization (`%(tz)s`) from
    the table's first `column` to today."""
    return f"""
        select to_char(day, 'YYYY-MM-DD') as day
        from generate_series(
            (select min({column} at time zone %(tz)s)::date from {table}),
            (now() at time zone %(tz)s)::date,
            interval '1 day'
        ) as day
    """


def runs_per_day(conn: Any, table: str, run_key: str, tz: str) -> list[tuple[str, int, int, int]]:
    """(day, failed, running, all) runs of `table` (a run log: `run_key`, `started_at`,
    `status`) per day of the organization; a run failed when any of its rows did."""
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            with days as ({days_sql(table, "started_at")}),
            runs as (
                select {run_key},
                       to_char(min(started_at at time zone %(tz)s), 'YYYY-MM-DD') as day,
                       case
                           when bool_or(status = 'failed') then 'failed'
                           when bool_or(status = 'running') then 'running'
                           else 'ok'
                       end as outcome
                from {table}
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
        return cursor.fetchall()
