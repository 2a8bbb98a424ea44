"""The one health: what is true of the warehouse now, judged with one set of thresholds.

    python -m loader health [--json] [--org ID]     (also: python -m loader.ops.health)

`health_report(conn, thresholds)` is the one computation. `loader health` prints it (the
Nagios plugin convention: one line, exit 0 OK / 1 WARNING / 2 CRITICAL / 3 UNKNOWN, the
check itself could not run), the webhook service's `GET /health` serves it
(loader/webhooks/health.py), the alerts turn its checks into messages (loader/ops/alerts.py)
and the report can show it. Everything is read from the warehouse (never Zoho): the
loader runs (`sync_runs`), the jobs (`job_runs`) and the webhook events, each through its
owner module in loader/warehouse/. Each organization is judged on its own facts
(`compute(..., organization_id=...)`); `organizations_report` is every configured
organization's, one document (the CLI prints one line each, `GET /health` serves it).

Checks and their levels (thresholds: `Thresholds`, settings `HEALTH__*`, documented in
docs/configuration.md):
- `data_age`: no successful load ever, or the last one older than
  HEALTH__CRITICAL_AGE_HOURS (26 h), is CRITICAL; older than HEALTH__WARN_AGE_HOURS (2 h)
  is WARNING (dbt source freshness's warn_after / error_after);
- `last_job`: the last job failed, or stopped at Zoho's daily quota: WARNING;
- `dbt_tests`: tests failing in the last job's build: WARNING;
- `details_pending`: more invoice details waiting than HEALTH__DETAILS_PENDING (20):
  WARNING, with the planner's expected catch-up time;
- `webhook_dead_letters`, `webhook_rejected`: see `webhook_checks` (WARNING).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


@dataclass(frozen=True)
class Thresholds:
    """The one set of thresholds; each is a setting (dlt style: `HEALTH__<NAME>` or
    `[health]` in .dlt/config.toml)."""

    warn_age_hours: float = 2.0  # dbt source freshness's warn_after
    critical_age_hours: float = 26.0  # its error_after (a day's cron plus slack)
    details_pending: int = 20  # invoice details waiting, above which health warns
    webhook_min_success_rate: float = 0.95  # of the last day's events, from ...
    webhook_min_events: int = 20  # ... this many events on


# setting -> (what it is, the smallest value allowed)
SETTINGS: dict[str, tuple[str, float]] = {
    "warn_age_hours": ("a number of hours, e.g. 2", 0.0),
    "critical_age_hours": ("a number of hours, e.g. 26", 0.0),
    "details_pending": ("a whole number of invoice details, e.g. 20", 0),
    "webhook_min_success_rate": ("a share between 0 and 1, e.g. 0.95", 0.0),
    "webhook_min_events": ("a whole number of events, e.g. 20", 1),
}


def thresholds_from_config() -> Thresholds:
    """HEALTH__* through dlt's config providers (ALERTS__STALE_HOURS, the former name of
    HEALTH__CRITICAL_AGE_HOURS, is still read); a ConfigError names a bad one."""
    import dlt

    from loader.errors import ConfigError

    values: dict[str, Any] = {}
    for name, (what, least) in SETTINGS.items():
        raw: Any = dlt.config.get(f"health.{name}")
        setting = f"HEALTH__{name.upper()}"
        if raw in (None, "") and name == "critical_age_hours":
            raw, setting = dlt.config.get("alerts.stale_hours"), "ALERTS__STALE_HOURS"
        if raw in (None, ""):
            continue
        kind = int if isinstance(least, int) else float
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            value = None
        if value is None or not value >= least or (name.endswith("_rate") and value > 1):
            raise ConfigError(f"{setting} must be {what}")
        values[name] = value
    thresholds = Thresholds(**values)
    if thresholds.warn_age_hours > thresholds.critical_age_hours:
        raise ConfigError(
            "HEALTH__WARN_AGE_HOURS must not be over HEALTH__CRITICAL_AGE_HOURS "
            f"({thresholds.warn_age_hours:g} > {thresholds.critical_age_hours:g})"
        )
    return thresholds


@dataclass(frozen=True)
class Check:
    """One judged fact: `level` OK/WARNING/CRITICAL, `problem` the sentence when not OK,
    `value` what distinguishes two not-OK states worth a new alert (a count)."""

    name: str
    level: int
    problem: str | None = None
    value: str | None = None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# ----- the checks, pure -------------------------------------------------------------------
def data_age_check(last_success: datetime | None, now: datetime, limits: Thresholds) -> Check:
    if last_success is None:
        return Check("data_age", CRITICAL, "no successful load yet")
    age = (now - last_success).total_seconds()
    for level, hours in ((CRITICAL, limits.critical_age_hours), (WARNING, limits.warn_age_hours)):
        if age > hours * 3600:
            return Check("data_age", level, f"data {_age(age)} old (over {hours:g} h)")
    return Check("data_age", OK)


def job_checks(last_job: Mapping[str, Any] | None) -> list[Check]:
    if not last_job:
        return []
    status = last_job["status"]
    if status == "failed":
        job = Check(
            "last_job",
            WARNING,
            f"last job failed at {last_job['failed_step']}: {last_job['error']}",
        )
    elif status == "quota_exhausted":
        job = Check("last_job", WARNING, "last job stopped at Zoho's daily API quota")
    else:
        job = Check("last_job", OK)
    failing = last_job.get("tests_failed")
    tests = (
        Check("dbt_tests", WARNING, f"{failing} dbt test(s) failing", str(failing))
        if failing
        else Check("dbt_tests", OK)
    )
    return [job, tests]


def details_check(pending: int | None, caught_up_at: datetime | None, limits: Thresholds) -> Check:
    """Invoices whose details (line items) are not read yet: analysts querying sales would
    miss their lines (`invoices.has_current_details`, docs/data-model.md)."""
    if pending is None or pending <= limits.details_pending:
        return Check("details_pending", OK, value=None if pending is None else str(pending))
    when = (
        f"expected caught up by {caught_up_at:%Y-%m-%d %H:%M} UTC"
        if caught_up_at is not None
        else "no expected catch-up time (no budget left for details: see `loader status`)"
    )
    return Check(
        "details_pending",
        WARNING,
        f"{pending} invoice(s) still wait for their details (over {limits.details_pending}); "
        f"{when}",
        str(pending),
    )


def webhook_checks(counts: Mapping[str, Any] | None, limits: Thresholds) -> list[Check]:
    """The webhook channel's checks, from the counts of
    loader/warehouse/webhook_events.py `health_counts` (None: no events table, no checks).
    Dead letters were not applied (WARNING, a new alert when more arrive); under
    HEALTH__WEBHOOK_MIN_SUCCESS_RATE of the last day's events (from
    HEALTH__WEBHOOK_MIN_EVENTS on) got through: WARNING, naming how many were rejected.
    A new webhook fact is one more key in `counts` and one more Check here."""
    if counts is None:
        return []
    dead = counts.get("dead_letters") or 0
    checks = [
        Check(
            "webhook_dead_letters",
            WARNING,
            f"{dead} webhook event(s) dead-lettered (not applied: `python -m loader webhooks "
            "list --status dead`)",
            str(dead),
        )
        if dead
        else Check("webhook_dead_letters", OK, value="0")
    ]
    total, failed = counts.get("events_24h") or 0, counts.get("failed_24h") or 0
    rate = 1.0 if total == 0 else (total - failed) / total
    if total >= limits.webhook_min_events and rate < limits.webhook_min_success_rate:
        checks.append(
            Check(
                "webhook_rejected",
                WARNING,
                f"{failed} of {total} webhook events in the last 24 h did not get through "
                f"({counts.get('rejected_24h') or 0} rejected: signature or token; under "
                f"{limits.webhook_min_success_rate:.0%})",
                str(failed),
            )
        )
    else:
        checks.append(Check("webhook_rejected", OK))
    notes = counts.get("unverified") or []
    checks.append(
        Check("webhooks_unverified", WARNING, "; ".join(notes), ",".join(sorted(notes)))
        if notes
        else Check("webhooks_unverified", OK)
    )
    return checks


def verdict(checks: Sequence[Check]) -> int:
    """The worst level of the checks (OK when there is none)."""
    return max((c.level for c in checks), default=OK)


# ----- the one computation ----------------------------------------------------------------
@dataclass(frozen=True)
class Health:
    """The judged checks and the JSON-ready report (`as_dict`) they came with."""

    checks: tuple[Check, ...]
    report: dict[str, Any]

    @property
    def code(self) -> int:
        return verdict(self.checks)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.report)


def compute(
    conn: Any,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
    retention_days: int | None = None,
    organization_id: str | None = None,
) -> Health:
    """The one computation: the facts, each check's level, `status` and `exit_code`
    (Nagios), `problems` (why it is not OK, worst first) and the one-line `line`. With
    `organization_id`, of that organization alone (its runs, jobs, webhook events and
    refusals); None: the whole warehouse."""
    from loader.warehouse import job_runs, sync_runs, webhook_events

    limits = thresholds or Thresholds()
    now = now or datetime.now(timezone.utc)
    runs = sync_runs.health_facts(conn, organization_id=organization_id) or {}
    jobs = job_runs.health_facts(conn, organization_id) or {}
    events = webhook_events.health_counts(conn, now, organization_id)
    last_load = runs.get("last_success_at")
    last_job = jobs.get("last_job")
    checks = (
        data_age_check(last_load, now, limits),
        *job_checks(last_job),
        details_check(runs.get("details_pending"), runs.get("details_caught_up_at"), limits),
        *webhook_checks(events, limits),
    )
    code = verdict(checks)
    steps = jobs.get("last_success_by_step") or {}
    last_success = {step: _iso(at) for step, at in steps.items()}
    if last_load is not None:
        last_success["load"] = _iso(last_load)
    by_resource = runs.get("last_success_by_resource") or {}
    report: dict[str, Any] = {
        "checked_at": _iso(now),
        "organization_id": organization_id,
        "status": STATUS_NAMES[code],
        "exit_code": code,
        "problems": [c.problem for c in sorted(checks, key=lambda c: -c.level) if c.level],
        "checks": {c.name: STATUS_NAMES[c.level] for c in checks},
        "last_job": None
        if last_job is None
        else {**last_job, "finished_at": _iso(last_job["finished_at"])},
        "last_success": last_success,
        "data_age_seconds": None if last_load is None else round((now - last_load).total_seconds()),
        "data_age_seconds_by_resource": {
            name: round((now - at).total_seconds()) for name, at in sorted(by_resource.items())
        },
        "quota_remaining": runs.get("quota_remaining"),
        "tests_failed": (last_job or {}).get("tests_failed"),
        "details_pending": runs.get("details_pending"),
        "details_caught_up_at": _iso(runs.get("details_caught_up_at")),
        "dead_letters": None if events is None else events["dead_letters"],
        "webhooks": None
        if events is None
        else {k: _iso(v) if isinstance(v, datetime) else v for k, v in events.items()},
        "retention_days": retention_days,
        "thresholds": asdict(limits),
    }
    report["line"] = _line(report)
    return Health(checks, report)


def health_report(
    conn: Any,
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
    retention_days: int | None = None,
    organization_id: str | None = None,
) -> dict[str, Any]:
    """`compute(...)` as the JSON-ready dict that `--json`, `GET /health` and the report
    show."""
    return compute(conn, thresholds, now, retention_days, organization_id).as_dict()


def organizations_report(
    conn: Any,
    organizations: Sequence[Any],
    thresholds: Thresholds | None = None,
    now: datetime | None = None,
    retention_days: int | None = None,
) -> dict[str, Any]:
    """The one computation for each organization (loader/zoho/organizations.py), as one
    document: `organizations` maps each id to its own report (with its `name`). With one
    organization the document is its report (what `loader health` and `GET /health` gave
    before several organizations); with several, the top level is the worst `status` /
    `exit_code`, every organization's `problems` (each naming it), each check's worst
    level and one `line` per organization. No organization configured: the warehouse's."""
    now = now or datetime.now(timezone.utc)
    if not organizations:
        return {**health_report(conn, thresholds, now, retention_days), "organizations": {}}
    reports = {}
    for org in organizations:
        report = health_report(conn, thresholds, now, retention_days, org.key)
        report["name"] = org.name
        reports[org.key] = report
    if len(reports) == 1:
        (only,) = reports.values()
        return {**only, "organizations": reports}
    code = max(r["exit_code"] for r in reports.values())
    checks: dict[str, int] = {}
    for report in reports.values():
        for name, level in report["checks"].items():
            number = next(k for k, v in STATUS_NAMES.items() if v == level)
            checks[name] = max(checks.get(name, OK), number)
    return {
        "checked_at": _iso(now),
        "status": STATUS_NAMES[code],
        "exit_code": code,
        "problems": [
            f"organization {_label(key, r)}: {problem}"
            for key, r in reports.items()
            for problem in r["problems"]
        ],
        "checks": {name: STATUS_NAMES[level] for name, level in sorted(checks.items())},
        "organizations": reports,
        "line": "\n".join(_org_line(key, r) for key, r in reports.items()),
        "thresholds": next(iter(reports.values()))["thresholds"],
    }


def _label(key: str, report: dict[str, Any]) -> str:
    return f"{key} ({report['name']})" if report.get("name") else key


def _org_line(key: str, report: dict[str, Any]) -> str:
    """An organization's Nagios line, naming it after the status."""
    head = f"ZOHO_BOOKS {report['status']} - "
    return head + f"organization {_label(key, report)}: " + report["line"][len(head) :]


def _line(report: dict[str, Any]) -> str:
    """`ZOHO_BOOKS <STATUS> - <problems and facts> | <perfdata>` (Nagios plugin output)."""
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
        ("retention_days", "retention days"),
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
    parser.add_argument(
        "--org",
        metavar="ID",
        help="this organization only (its id or configured name); default: each "
        "organization, one line each, the exit code the worst",
    )
    args = parser.parse_args(argv)
    from loader import warehouse

    # the project's .dlt/ whatever directory a monitoring agent starts us in
    os.environ.setdefault("DLT_PROJECT_DIR", str(warehouse.ROOT))
    from loader.errors import ConfigError, WarehouseUnreachable
    from loader.ops.retention import retention_days_from_config
    from loader.zoho.organizations import configured_organizations, organization

    try:
        thresholds = thresholds_from_config()
        retention_days = retention_days_from_config()
        orgs = [organization(args.org)] if args.org else configured_organizations()
        conn = warehouse.connect(warehouse.connection_env(), "zoho_books health")
    except (warehouse.WarehouseError, ConfigError) as exc:
        return _fail(args.json, UNKNOWN, str(exc))
    except WarehouseUnreachable as exc:
        return _fail(args.json, CRITICAL, str(exc))
    try:
        report = organizations_report(conn, orgs, thresholds, retention_days=retention_days)
    finally:
        conn.close()
    print(json.dumps(report) if args.json else report["line"])
    return int(report["exit_code"])


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
