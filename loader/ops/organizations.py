"""`python -m loader orgs`: every configured organization (loader/zoho/organizations.py)
with its own health line, read from its rows in `zoho_staging.sync_runs`:

    10234695  (single)  pipeline zoho_books  OK - last load 12 min ago (success)
    20081234  eu  pipeline zoho_books_20081234  CRITICAL - never loaded

Exit code: 0 when every organization loaded successfully within the stale limit
(HEALTH__CRITICAL_AGE_HOURS, loader/ops/health.py), 2 otherwise."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from loader import warehouse
from loader.names import RAW_SCHEMA
from loader.ops.health import thresholds_from_config
from loader.zoho.organizations import Organization, configured_organizations

OK, CRITICAL = 0, 2


def organization_health(
    conn: Any, org: Organization, now: datetime, critical_hours: float = 26.0
) -> tuple[int, str]:
    """(exit code, one line) of one organization, from its own sync_runs rows."""
    with conn.cursor() as cursor:
        cursor.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}.sync_runs",))
        if cursor.fetchone()[0] is None:
            return CRITICAL, "CRITICAL - never loaded"
        cursor.execute(
            f"select max(finished_at) from {RAW_SCHEMA}.sync_runs "
            "where organization_id = %s and status = 'success'",
            (org.key,),
        )
        (last_success,) = cursor.fetchone()
        cursor.execute(
            f"select status, quota_remaining, details_pending, error from {RAW_SCHEMA}.sync_runs "
            "where organization_id = %s order by started_at desc limit 1",
            (org.key,),
        )
        latest = cursor.fetchone()
    if last_success is None:
        return CRITICAL, "CRITICAL - never loaded" + (f" (last run {latest[0]})" if latest else "")
    minutes = (now - last_success).total_seconds() / 60
    facts = [f"last load {minutes:.0f} min ago ({latest[0]})"]
    if latest[1] is not None:
        facts.append(f"quota left {latest[1]}")
    if latest[2]:
        facts.append(f"details pending {latest[2]}")
    if latest[0] == "failed" and latest[3]:
        facts.append(f"error: {latest[3]}")
    code = CRITICAL if minutes > critical_hours * 60 else OK
    return code, f"{'OK' if code == OK else 'CRITICAL'} - " + "; ".join(facts)


def main() -> int:
    orgs = configured_organizations()
    if not orgs:
        print("no organization configured: set SOURCES__ZOHO_BOOKS__ORGANIZATION_ID")
        return CRITICAL
    conn = warehouse.connect(warehouse.connection_env(), "zoho_books orgs")
    worst = OK
    now = datetime.now(timezone.utc)
    critical_hours = thresholds_from_config().critical_age_hours
    try:
        for org in orgs:
            code, line = organization_health(conn, org, now, critical_hours)
            worst = max(worst, code)
            label = org.name or "(single)"
            print(f"{org.key}  {label}  pipeline {org.pipeline_name}  {line}")
    finally:
        conn.close()
    return worst
