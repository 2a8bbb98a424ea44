"""What `GET /health` and `/metrics` report: the one health (loader/ops/health.py), never a
computation of its own.

`GET /health` is the one health's report (`status`, `problems`, the facts) with the
webhook service's view of it: `healthy` is false, and the answer 503, only when the
status is CRITICAL (no successful load ever, data older than HEALTH__CRITICAL_AGE_HOURS,
or the warehouse unreachable), the same verdict as `python -m loader health` exiting 2.
A WARNING (data older than HEALTH__WARN_AGE_HOURS, dead letters, rejected events, ...)
answers 200 with `status: "WARNING"` and its `problems`: a load balancer keeps the
receiver in service while a monitor reading the body still sees it. Each configured
organization has its report under `organizations` (loader.ops.health.organizations_report);
the verdict is the worst of them.

Every figure is read through the tables' owner modules in loader/warehouse/: nothing here
runs a query of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loader.errors import ConfigError
from loader.ops.health import CRITICAL, UNKNOWN, organizations_report, thresholds_from_config
from loader.warehouse import sync_runs
from loader.warehouse.webhook_events import Store, health_counts
from loader.zoho.organizations import Organization


def read_health(
    store: Store, organizations: Sequence[Organization] = (), now: datetime | None = None
) -> dict[str, Any]:
    """The `/health` document: the one health's report of each organization, `healthy`
    False when the worst is CRITICAL (or UNKNOWN: a HEALTH__* setting is invalid, named
    in `problems`)."""
    try:
        thresholds = thresholds_from_config()
    except ConfigError as exc:
        return {"healthy": False, "status": "UNKNOWN", "exit_code": UNKNOWN, "problems": [str(exc)]}
    with store.cursor() as cur:
        document = organizations_report(cur.connection, organizations, thresholds, now)
    for report in [document, *document["organizations"].values()]:
        events = report.get("webhooks")
        if events:
            total, failed = events["events_24h"], events["failed_24h"]
            events["success_rate_24h"] = None if total == 0 else round((total - failed) / total, 4)
    document["healthy"] = document["exit_code"] < CRITICAL
    return document


def read_gauges(store: Store) -> dict[str, float | None]:
    """The figures `/metrics` exports as gauges, read at each scrape."""
    with store.cursor() as cur:
        events = health_counts(cur.connection) or {}
        runs = sync_runs.health_facts(cur.connection) or {}
    return {
        "dead": events.get("dead_letters"),
        "pending": events.get("pending"),
        "api_calls": runs.get("api_calls"),
        "quota": runs.get("quota_remaining"),
    }


def webhook_counts(pg: dict[str, str], organization_id: str | None = None) -> dict[str, Any] | None:
    """Pending and dead-lettered events (of one organization, or all when None), None
    when the events table does not exist."""
    store = Store(pg, size=1)
    try:
        with store.cursor() as cur:
            counts = health_counts(cur.connection, organization_id=organization_id)
    finally:
        store.close()
    if counts is None:
        return None
    return {
        "pending": counts["pending"],
        "dead": counts["dead_letters"],
        "oldest_pending": counts["oldest_pending_at"],
    }
