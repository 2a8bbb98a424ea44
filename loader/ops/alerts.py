"""Alerts: tell a person when the job fails, recovers, stops at the quota, and when a check
of the one health (loader/ops/health.py: data age, invoice details pending, dead-lettered
or rejected webhook events) leaves or returns to OK, or price coverage drops under target.

The thresholds are the health's (HEALTH__*): the alerts and `loader health` judge the same
state the same way. Each organization's job judges its own organization (its health, its
job's outcome): each condition has a state per organization in `zoho_staging.alert_state`
(alerting or not, since when, the message), and each destination its own delivery state
in `zoho_staging.alert_delivery` (loader/warehouse/alert_state.py owns both): a message
goes to a destination only when the condition changed since the last message that
destination accepted. One organization failing alerts once, naming it when several are
configured; another organization's state is its own. A destination that is down is
tried again at the next job, alone; the others do not get the same alert again. Every
attempt (delivered or not) is kept in `zoho_staging.alert_log`.

Destinations, both optional (settings, dlt style: environment or .dlt/config.toml [alerts]):
- ALERTS__URLS: comma-separated Apprise URLs (Slack, Teams, Google Chat, Telegram, mailto,
  json:// / jsons:// for a plain HTTP JSON POST ...), see https://github.com/caronc/apprise;
  each URL is a destination of its own;
- ALERTS__COMMAND: a shell command that gets the message on stdin (e.g. `mail -s zoho ops@x`).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from loader.names import analytics_schema
from loader.ops.health import OK, Check, Thresholds, compute, thresholds_from_config
from loader.warehouse import alert_state
from loader.warehouse.catalog import table_columns

log = logging.getLogger(__name__)

COMMAND_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class AlertSettings:
    urls: tuple[str, ...] = ()
    command: str | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    title: str = "Zoho Books ELT"

    @property
    def has_channel(self) -> bool:
        return bool(self.urls or self.command)


def settings_from_config() -> AlertSettings:
    """ALERTS__URLS, ALERTS__COMMAND through dlt's config providers; the thresholds are
    the health's (HEALTH__*, loader/ops/health.py)."""
    import dlt

    urls: Any = dlt.config.get("alerts.urls") or ""
    if isinstance(urls, str):
        urls = urls.split(",")
    return AlertSettings(
        urls=tuple(u.strip() for u in urls if u and u.strip()),
        command=(dlt.config.get("alerts.command") or None),
        thresholds=thresholds_from_config(),
    )


@dataclass(frozen=True)
class Condition:
    """One watched condition as of now. `value` distinguishes alerting states worth a new
    message (e.g. more dead letters than last time); None means "same as before"."""

    name: str
    alerting: bool
    message: str
    value: str | None = None
    # whose condition it is: None, the organization being judged; "" the warehouse's
    # (a mart not kept per organization: judged once whichever job sees it)
    organization_id: str | None = None


# ----- what is true now --------------------------------------------------------------------
def job_conditions(status: str, failed_step: str | None, error: str | None) -> list[Condition]:
    """The job's own outcome: failure (step + cause), and the quota stop."""
    failed = status == "failed"
    quota = status == "quota_exhausted"
    return [
        Condition(
            "job_failed",
            failed,
            f"job failed at step {failed_step}: {error}" if failed else "job succeeded again",
        ),
        Condition(
            "quota_exhausted",
            quota,
            f"Zoho's daily API quota is used up: {error or 'the load stopped'}; the next job "
            "after the quota resets continues"
            if quota
            else "the load is no longer stopped by Zoho's daily API quota",
        ),
    ]


# health check -> (alert condition, prefix of its message, message on return to OK);
# the job's own checks (last_job, dbt_tests) are job_conditions, sent with their cause.
HEALTH_ALERTS = {
    "data_age": ("data_stale", "data is stale: ", "data is fresh again"),
    "details_pending": (
        "details_pending",
        "",
        "invoice details caught up: no backlog of invoices without details any more",
    ),
    "webhook_dead_letters": (
        "webhook_dead_letters",
        "",
        "no dead-lettered webhook events any more",
    ),
    "webhook_rejected": (
        "webhook_rejected",
        "",
        "webhook events get through again",
    ),
    "webhooks_unverified": (
        "webhooks_unverified",
        "",
        "verified webhook events arrive again",
    ),
}


def health_conditions(checks: Sequence[Check]) -> list[Condition]:
    """The one health's checks as alert conditions: alerting when not OK."""
    found = []
    for check in checks:
        if check.name not in HEALTH_ALERTS:
            continue
        name, prefix, recovered = HEALTH_ALERTS[check.name]
        alerting = check.level > OK
        # a count worth a new message when it grows; data age: its level (WARNING, then
        # CRITICAL, is a second message)
        value = str(check.level) if check.name == "data_age" else check.value
        if check.name == "details_pending":
            value = None  # the backlog shrinking or growing is not news; its start is
        found.append(
            Condition(name, alerting, f"{prefix}{check.problem}" if alerting else recovered, value)
        )
    return found


def coverage_condition(conn: Any, organization_id: str | None = None) -> list[Condition]:
    """Price coverage under its target, from the marts (ANALYTICS_SCHEMA): the
    organization's row when the mart has one per organization, else the warehouse's."""
    schema = analytics_schema()
    table = f"{schema}.price_coverage"
    columns = table_columns(conn, "price_coverage", schema)
    if not columns:
        return []
    per_organization = organization_id is not None and "organization_id" in columns
    with conn.cursor() as cursor:
        cursor.execute(
            f"select coverage_percent, coverage_target_percent, active_products from {table}"
            + (
                " where organization_id = %s"
                if per_organization
                # several rows and no organization asked: the one furthest under its target
                else " order by coverage_percent - coverage_target_percent asc nulls last limit 1"
            ),
            (organization_id,) if per_organization else None,
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[1] is None:
        return []
    below = row[0] < row[1]
    return [
        Condition(
            "coverage_below_target",
            below,
            f"price coverage is {row[0]}% of {row[2]} active products, under the target of "
            f"{row[1]}% ({analytics_schema()}.product_price_coverage lists them)"
            if below
            else f"price coverage is back at {row[0]}% (target {row[1]}%)",
            organization_id=None if per_organization or organization_id is None else "",
        )
    ]


def warehouse_conditions(
    conn: Any, settings: AlertSettings, organization_id: str | None = None
) -> list[Condition]:
    """The one health's checks of the organization (with the settings' thresholds; the
    whole warehouse when None) and price coverage."""
    checks = compute(conn, settings.thresholds, organization_id=organization_id).checks
    return health_conditions(checks) + coverage_condition(conn, organization_id)


# ----- delivery ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Destination:
    """One URL of ALERTS__URLS, or ALERTS__COMMAND. `key` names it in the warehouse
    without its secret (Apprise URLs carry tokens): its scheme and a hash."""

    kind: str  # "url" or "command"
    target: str

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.target.encode()).hexdigest()[:16]
        scheme = (urlsplit(self.target).scheme or "url") if self.kind == "url" else "command"
        return f"{scheme}:{digest}"


def destinations(settings: AlertSettings) -> list[Destination]:
    found = [Destination("url", url) for url in settings.urls]
    if settings.command:
        found.append(Destination("command", settings.command))
    return found


def deliver_to(
    destination: Destination, settings: AlertSettings, message: str, alerting: bool
) -> str | None:
    """Send `message` to one destination; None when it accepted it, else why not."""
    if destination.kind == "url":
        import apprise

        notifier = apprise.Apprise()
        if not notifier.add(destination.target):
            scheme = urlsplit(destination.target).scheme
            return f"ALERTS__URLS has an URL Apprise does not understand ({scheme}://…)"
        sent = notifier.notify(
            title=settings.title,
            body=message,
            notify_type=apprise.NotifyType.FAILURE if alerting else apprise.NotifyType.SUCCESS,
        )
        return None if sent else f"Apprise could not deliver to {destination.key}"
    try:
        done = subprocess.run(
            destination.target,
            shell=True,
            input=message + "\n",
            text=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"ALERTS__COMMAND took over {COMMAND_TIMEOUT_SECONDS} s"
    if done.returncode == 0:
        return None
    tail = (done.stderr or "").strip().splitlines()[-1:] or [""]
    return f"ALERTS__COMMAND exited {done.returncode} {tail[0][:200]}"


def _due(before: tuple[bool, str | None] | None, condition: Condition) -> bool:
    """Whether a destination whose last accepted message was `before` (alerting, value)
    needs one now. A destination that never got one hears of an alerting condition only
    (no "all is well" message on the first job)."""
    if before is None:
        return condition.alerting
    return before[0] != condition.alerting or (
        condition.alerting and _grew(before[1], condition.value)
    )


def notify_changes(
    conn: Any,
    conditions: Sequence[Condition],
    settings: AlertSettings,
    organization_id: str | None = None,
    label: str | None = None,
    legacy: bool = False,
) -> list[Condition]:
    """Send each condition to each destination that has not accepted its current state;
    returns the conditions sent to at least one. The conditions are `organization_id`'s
    (None: the warehouse's, as before several organizations); `label` (e.g.
    "organization 20081234 (eu)") starts each message when several are configured;
    `legacy`: it is the organization of the single-organization settings, which adopts
    the state kept before organizations."""
    own = organization_id or ""
    alert_state.ensure(conn, own if legacy else None)
    keys = sorted({own, ""})
    stored = alert_state.states(conn, keys)
    delivered = alert_state.deliveries(conn, keys)
    sent: list[Condition] = []
    for condition in conditions:
        whose = own if condition.organization_id is None else condition.organization_id
        if label and whose:
            condition = replace(condition, message=f"{label}: {condition.message}")
        before = stored.get((whose, condition.name))
        flipped = before is not None and before[0] != condition.alerting
        if flipped and before is not None and before[0] and not condition.alerting:
            condition = replace(
                condition,
                message=f"{condition.message} (alerting since {before[2]:%Y-%m-%d %H:%M} UTC)",
            )
        accepted = False
        for destination in destinations(settings):
            last = delivered.get((whose, condition.name, destination.key))
            if not _due(last, condition):
                if last is not None and last[1] != condition.value:
                    _delivered(conn, whose, condition, destination)  # e.g. fewer dead letters
                continue
            error = deliver_to(destination, settings, condition.message, condition.alerting)
            alert_state.log_attempt(
                conn, whose, condition.name, condition.alerting, condition.message,
                destination.key, error,
            )  # fmt: skip
            if error:
                log.warning("alert not sent (%s): %s", error, condition.message)
                continue  # this destination is tried again at the next job
            _delivered(conn, whose, condition, destination)
            accepted = True
        if accepted:
            sent.append(condition)
        if before is None or flipped or before[1] != condition.value:
            alert_state.store(
                conn, whose, condition.name, condition.alerting, condition.message,
                condition.value, before is None or flipped,
            )  # fmt: skip
    return sent


def _delivered(conn: Any, whose: str, condition: Condition, destination: Destination) -> None:
    alert_state.delivered(
        conn, whose, condition.name, destination.key, condition.alerting, condition.value
    )


def _grew(before: str | None, now: str | None) -> bool:
    return bool(before and now and before.isdigit() and now.isdigit() and int(now) > int(before))
