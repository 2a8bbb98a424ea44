"""Health check in the Nagios plugin convention: one line, exit 0 OK / 1 WARNING /
2 CRITICAL / 3 UNKNOWN (the check itself could not run: a configuration problem).

    python -m loader health [--json]     (also: python -m loader.ops.health)

It only reads the warehouse (zoho_staging.job_runs, sync_runs, webhook_events): last
successful job per step, data age, Zoho quota left, failing dbt tests, pending invoice
details and dead-lettered webhook events. `health_report(conn)` is the same computation
for the webhook service's GET /health.

CRITICAL: no successful load ever, data older than ALERTS__STALE_HOURS (default 26 h,
dbt freshness's error_after), or the warehouse is unreachable. WARNING: data older than
2 h (freshness's warn_after), the last job failed or stopped at the quota, dbt tests
failed, webhook events dead-lettered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from loader.names import RAW_SCHEMA

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
WARN_AGE_HOURS = 2.0
CRITICAL_AGE_HOURS = 26.0
SCHEMA = RAW_SCHEMA


def _rows(conn: Any, sql: str, params: Any = None) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _exists(conn: Any, table: str) -> bool:
    return _rows(conn, "select to_regclass(%s)", (f"{SCHEMA}.{table}",))[0][0] is not None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def health_report(
    conn: Any,
    warn_age_hours: float = WARN_AGE_HOURS,
    critical_age_hours: float = CRITICAL_AGE_HOURS,
) -> dict[str, Any]:
    """What the health check reports, as a JSON-ready dict; `status` and `exit_code` follow
    the Nagios convention, `problems` says why it is not OK, `line` is the one-line text."""
    now = datetime.now(timezone.utc)
    report: dict[str, Any] = {
        "checked_at": _iso(now),
        "last_job": None,
        "last_success": {},
        "data_age_seconds": None,
        "quota_remaining": None,
        "tests_failed": None,
        "details_pending": None,
        "dead_letters": None,
    }
    critical: list[str] = []
    warnings: list[str] = []
    if _exists(conn, "sync_runs"):
        (last_load,) = _rows(
            conn, f"select max(finished_at) from {SCHEMA}.sync_runs where status = 'success'"
        )[0]
        latest = _rows(
            conn,
            f"select quota_remaining, details_pending from {SCHEMA}.sync_runs"
            " where finished_at is not null order by started_at desc limit 1",
        )
        if latest:
            report["quota_remaining"], report["details_pending"] = latest[0]
        if last_load is not None:
            report["last_success"]["load"] = _iso(last_load)
            age = (now - last_load).total_seconds()
            report["data_age_seconds"] = round(age)
            if age > critical_age_hours * 3600:
                critical.append(f"data {_age(age)} old (over {critical_age_hours:g} h)")
            elif age > warn_age_hours * 3600:
                warnings.append(f"data {_age(age)} old (over {warn_age_hours:g} h)")
    if report["data_age_seconds"] is None:
        critical.append("no successful load yet")
    if _exists(conn, "job_runs"):
        for step, finished in _rows(
            conn,
            f"select key, max(j.finished_at) from {SCHEMA}.job_runs as j, jsonb_each(j.steps)"
            " where value ->> 'status' in ('ok', 'warn') group by key",
        ):
            if step != "load" or "load" not in report["last_success"]:
                report["last_success"][step] = _iso(finished)
        jobs = _rows(
            conn,
            f"select job_id, status, exit_code, finished_at, failed_step, error, steps"
            f" from {SCHEMA}.job_runs where status <> 'running'"
            " order by started_at desc limit 1",
        )
        if jobs:
            job_id, status, code, finished, step, error, steps = jobs[0]
            report["last_job"] = {
                "job_id": job_id,
                "status": status,
                "exit_code": code,
                "finished_at": _iso(finished),
                "failed_step": step,
                "error": error,
            }
            if status == "failed":
                warnings.append(f"last job failed at {step}: {error}")
            elif status == "quota_exhausted":
                warnings.append("last job stopped at Zoho's daily API quota")
            build = (steps or {}).get("dbt_build") or {}
            if build.get("status") not in (None, "skipped"):
                report["tests_failed"] = (build.get("counts") or {}).get("tests_failed")
    if report["tests_failed"]:
        warnings.append(f"{report['tests_failed']} dbt test(s) failing")
    if _exists(conn, "webhook_events"):
        report["dead_letters"] = _rows(
            conn, f"select count(*) from {SCHEMA}.webhook_events where status = 'dead'"
        )[0][0]
        if report["dead_letters"]:
            warnings.append(f"{report['dead_letters']} webhook event(s) dead-lettered")
    # verified webhooks that stopped (their listing is back to its cadence): a warning
    from loader.warehouse.webhook_events import webhook_notes

    warnings.extend(webhook_notes(conn))
    code = CRITICAL if critical else WARNING if warnings else OK
    report["status"], report["exit_code"] = STATUS_NAMES[code], code
    report["problems"] = critical + warnings
    report["line"] = _line(report)
    return report


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _line(report: dict[str, Any]) -> str:
    """`ZOHO_BOOKS <STATUS> - <problems or facts> | <perfdata>` (Nagios plugin output)."""
    facts = []
    if report["data_age_seconds"] is not None:
        facts.append(f"data {_age(report['data_age_seconds'])} old")
    job = report["last_job"]
    if job:
        facts.append(f"last job {job['status']}")
    for key, label in (
        ("quota_remaining", "quota left"),
        ("tests_failed", "failing tests"),
        ("details_pending", "details pending"),
        ("dead_letters", "dead letters"),
    ):
        if report[key] is not None:
            facts.append(f"{label} {report[key]}")
    text = "; ".join(report["problems"] + facts)
    perf = " ".join(
        f"{key}={report[key]}"
        for key in (
            "data_age_seconds",
            "quota_remaining",
            "tests_failed",
            "details_pending",
            "dead_letters",
        )
        if report[key] is not None
    )
    return f"ZOHO_BOOKS {report['status']} - {text}" + (f" | {perf}" if perf else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader health", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    from loader import warehouse

    # the project's .dlt/ whatever directory a monitoring agent starts us in
    os.environ.setdefault("DLT_PROJECT_DIR", str(warehouse.ROOT))
    from loader.errors import ConfigError, WarehouseUnreachable
    from loader.ops.alerts import settings_from_config

    try:
        critical_hours = settings_from_config().stale_hours
        conn = warehouse.connect(warehouse.connection_env(), "zoho_books health")
    except (warehouse.WarehouseError, ConfigError) as exc:
        return _fail(args.json, UNKNOWN, str(exc))
    except WarehouseUnreachable as exc:
        return _fail(args.json, CRITICAL, str(exc))
    try:
        report = health_report(conn, critical_age_hours=critical_hours)
    finally:
        conn.close()
    print(json.dumps(report) if args.json else report["line"])
    return report["exit_code"]


def _fail(as_json: bool, code: int, problem: str) -> int:
    line = f"ZOHO_BOOKS {STATUS_NAMES[code]} - {problem}"
    status = STATUS_NAMES[code]
    print(
        json.dumps({"status": status, "exit_code": code, "problems": [problem], "line": line})
        if as_json
        else line
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
