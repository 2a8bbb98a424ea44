"""`python -m loader orgs`: every configured organization (loader/zoho/organizations.py)
with its own health line, the one health's computation (loader/ops/health.py) of that
organization alone: data age, last job, quota left, details pending, dead letters and
refused webhook requests.

    10234695  (single)  pipeline zoho_books  OK - data 12 min old; last job success; ...
    20081234  eu  pipeline zoho_books_20081234  CRITICAL - no successful load yet

Exit code: 0 when no organization is CRITICAL (never loaded, or its last success older
than HEALTH__CRITICAL_AGE_HOURS), 2 otherwise (a WARNING is shown, not a failure)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from loader import warehouse
from loader.ops.health import CRITICAL, OK, Thresholds, compute, thresholds_from_config
from loader.zoho.organizations import Organization, configured_organizations


def organization_health(
    conn: Any, org: Organization, now: datetime, thresholds: Thresholds | None = None
) -> tuple[int, str]:
    """(exit code: 0, or 2 when CRITICAL; the health line without its `ZOHO_BOOKS`
    prefix and perfdata) of one organization."""
    health = compute(conn, thresholds, now, organization_id=org.key)
    report = health.as_dict()
    facts = report["line"].removeprefix("ZOHO_BOOKS ").split(" | ")[0]
    webhooks = report.get("webhooks") or {}
    if webhooks.get("rejected_24h"):
        facts += f"; webhook requests refused in 24 h {webhooks['rejected_24h']}"
    return (CRITICAL if health.code >= CRITICAL else OK), facts


def main() -> int:
    orgs = configured_organizations()
    if not orgs:
        print("no organization configured: set SOURCES__ZOHO_BOOKS__ORGANIZATION_ID")
        return CRITICAL
    thresholds = thresholds_from_config()
    conn = warehouse.connect(warehouse.connection_env(), "zoho_books orgs")
    worst = OK
    now = datetime.now(timezone.utc)
    try:
        for org in orgs:
            code, line = organization_health(conn, org, now, thresholds)
            worst = max(worst, code)
            label = org.name or "(single)"
            print(f"{org.key}  {label}  pipeline {org.pipeline_name}  {line}")
    finally:
        conn.close()
    return worst
