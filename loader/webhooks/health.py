"""What `GET /health` reports: is the data fresh, are webhooks landing, is anything stuck.

Read from the warehouse only (never Zoho): `zoho_staging.sync_runs` (the scheduled
loader), `zoho_staging.job_runs` when the job records its steps there, and
`zoho_staging.webhook_events`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from loader.names import RAW_SCHEMA
from loader.warehouse.webhook_events import TABLE, Store
from loader.webhooks.config import (
    HEALTH_MIN_EVENTS,
    MAX_DATA_AGE_SECONDS,
    MIN_SUCCESS_RATE,
)

SYNC_RUNS = f"{RAW_SCHEMA}.sync_runs"
JOB_RUNS = f"{RAW_SCHEMA}.job_runs"


def _exists(cur: Any, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null as found", (table,))
    return bool(cur.fetchone()["found"])


def _columns(cur: Any, table: str) -> set[str]:
    schema, name = table.split(".")
    cur.execute(
        "select column_name from information_schema.columns"
        " where table_schema = %s and table_name = %s",
        (schema, name),
    )
    return {row["column_name"] for row in cur.fetchall()}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def read_health(store: Store, now: datetime | None = None) -> dict[str, Any]:
    """The `/health` document; `healthy` is False when any check fails."""
    now = now or datetime.now(timezone.utc)
    steps: dict[str, str | None] = {}
    quota: dict[str, Any] = {"remaining": None, "as_of": None}
    with store.cursor() as cur:
        if _exists(cur, SYNC_RUNS):
            cur.execute(f"select max(finished_at) as at from {SYNC_RUNS} where status = 'success'")
            steps["load"] = _iso(cur.fetchone()["at"])
            cur.execute(
                f"select quota_remaining, finished_at from {SYNC_RUNS}"
                " where quota_remaining is not null order by finished_at desc nulls last limit 1"
            )
            row = cur.fetchone()
            if row:
                quota = {"remaining": row["quota_remaining"], "as_of": _iso(row["finished_at"])}
        if _exists(cur, JOB_RUNS) and {"steps", "finished_at"} <= _columns(cur, JOB_RUNS):
            # the job's record (loader/warehouse/job_runs.py): steps = {name: {"status": ...}, ...}
            cur.execute(
                f"select step.key as step, max(job.finished_at) as at"
                f" from {JOB_RUNS} as job, jsonb_each(job.steps) as step"
                " where job.finished_at is not null"
                " and step.value ->> 'status' in ('ok', 'warn')"
                " group by step.key"
            )
            steps.update({f"job.{row['step']}": _iso(row["at"]) for row in cur.fetchall()})
        cur.execute(
            f"""
            select max(received_at) as last_received,
                   count(*) filter (where received_at > now() - interval '1 day') as day_total,
                   count(*) filter (where received_at > now() - interval '1 day'
                                    and status in ('rejected', 'malformed', 'dead'))
                       as day_failed,
                   count(*) filter (where status = 'dead') as dead,
                   count(*) filter (where status = 'pending') as pending,
                   min(received_at) filter (where status = 'pending') as oldest_pending
            from {TABLE}
            """
        )
        events = cur.fetchone()
    load_at = steps.get("load")
    data_age = None if load_at is None else (now - datetime.fromisoformat(load_at)).total_seconds()
    total, failed = events["day_total"], events["day_failed"]
    rate = None if total == 0 else round((total - failed) / total, 4)
    checks = {
        "data_fresh": data_age is not None and data_age <= MAX_DATA_AGE_SECONDS,
        "no_dead_letters": events["dead"] == 0,
        "events_succeeding": total < HEALTH_MIN_EVENTS or (rate or 0) >= MIN_SUCCESS_RATE,
    }
    return {
        "healthy": all(checks.values()),
        "checks": checks,
        "last_success": steps,
        "data_age_seconds": None if data_age is None else round(data_age),
        "webhooks": {
            "last_received_at": _iso(events["last_received"]),
            "events_24h": total,
            "success_rate_24h": rate,
            "pending": events["pending"],
            "oldest_pending_at": _iso(events["oldest_pending"]),
            "dead_letters": events["dead"],
        },
        "quota": quota,
    }


def read_gauges(store: Store) -> dict[str, float | None]:
    """The figures `/metrics` exports as gauges, read at each scrape."""
    with store.cursor() as cur:
        row = _pending_and_dead(cur)
        gauges: dict[str, float | None] = {
            "dead": row["dead"],
            "pending": row["pending"],
            "api_calls": None,
            "quota": None,
        }
        if _exists(cur, SYNC_RUNS):
            cur.execute(
                f"select api_calls, quota_remaining from {SYNC_RUNS}"
                " where finished_at is not null order by finished_at desc limit 1"
            )
            last = cur.fetchone()
            if last:
                gauges["api_calls"] = last["api_calls"]
                gauges["quota"] = last["quota_remaining"]
    return gauges


def webhook_counts(pg: dict[str, str]) -> dict[str, Any] | None:
    """Pending and dead-lettered events, None when the events table does not exist."""
    store = Store(pg, size=1)
    try:
        with store.cursor() as cur:
            return _pending_and_dead(cur) if _exists(cur, TABLE) else None
    finally:
        store.close()


def _pending_and_dead(cur: Any) -> dict[str, Any]:
    cur.execute(
        f"select count(*) filter (where status = 'pending') as pending,"
        f" count(*) filter (where status = 'dead') as dead,"
        f" min(received_at) filter (where status = 'pending') as oldest_pending"
        f" from {TABLE}"
    )
    return dict(cur.fetchone())
