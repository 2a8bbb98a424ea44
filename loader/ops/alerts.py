"""Alerts: tell a person when the job fails, recovers, stops at the quota, when data is
stale, price coverage drops under target, or webhook events are dead-lettered.

Each condition has a state in `zoho_staging.alert_state` (alerting or not, since when, the
message): a message goes out only when a condition changes state, not every 15 minutes.
Every message sent (or that failed to send) is kept in `zoho_staging.alert_log`.

Channels, both optional (settings, dlt style: environment or .dlt/config.toml [alerts]):
- ALERTS__URLS: comma-separated Apprise URLs (Slack, Teams, Google Chat, Telegram, mailto,
  json:// / jsons:// for a plain HTTP JSON POST ...), see https://github.com/caronc/apprise;
- ALERTS__COMMAND: a shell command that gets the message on stdin (e.g. `mail -s zoho ops@x`).
A message that no channel accepted leaves the state unchanged, so the next job tries again.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from loader.names import RAW_SCHEMA

log = logging.getLogger(__name__)

SCHEMA = RAW_SCHEMA
ALERTS_DDL = f"""
create table if not exists {SCHEMA}.alert_state (
    condition text primary key,
    alerting boolean not null,
    since timestamptz not null,
    message text,
    value text
);
create table if not exists {SCHEMA}.alert_log (
    sent_at timestamptz not null default now(),
    condition text not null,
    alerting boolean not null,
    message text not null,
    delivered boolean not null,
    error text
);
create index if not exists alert_log__sent_at on {SCHEMA}.alert_log (sent_at)
"""
DEFAULT_STALE_HOURS = 26.0  # dbt source freshness's error_after
COMMAND_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class AlertSettings:
    urls: tuple[str, ...] = ()
    command: str | None = None
    stale_hours: float = DEFAULT_STALE_HOURS
    title: str = "Zoho Books ELT"

    @property
    def has_channel(self) -> bool:
        return bool(self.urls or self.command)


def settings_from_config() -> AlertSettings:
    """ALERTS__URLS, ALERTS__COMMAND, ALERTS__STALE_HOURS through dlt's config providers."""
    import dlt

    from loader.errors import ConfigError

    urls: Any = dlt.config.get("alerts.urls") or ""
    if isinstance(urls, str):
        urls = urls.split(",")
    stale: Any = dlt.config.get("alerts.stale_hours")
    try:
        stale_hours = DEFAULT_STALE_HOURS if stale in (None, "") else float(stale)
    except (TypeError, ValueError):
        raise ConfigError("ALERTS__STALE_HOURS must be a number of hours, e.g. 26") from None
    return AlertSettings(
        urls=tuple(u.strip() for u in urls if u and u.strip()),
        command=(dlt.config.get("alerts.command") or None),
        stale_hours=stale_hours,
    )


@dataclass(frozen=True)
class Condition:
    """One watched condition as of now. `value` distinguishes alerting states worth a new
    message (e.g. more dead letters than last time); None means "same as before"."""

    name: str
    alerting: bool
    message: str
    value: str | None = None


# ----- what is true now --------------------------------------------------------------------
def _one(conn: Any, sql: str, params: Any = None) -> Any:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _exists(conn: Any, table: str) -> bool:
    return _one(conn, "select to_regclass(%s)", (table,))[0] is not None


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


def warehouse_conditions(conn: Any, settings: AlertSettings) -> list[Condition]:
    """Stale data, price coverage under target, dead-lettered webhook events."""
    found: list[Condition] = []
    if _exists(conn, f"{SCHEMA}.sync_runs"):
        (last,) = _one(
            conn,
            f"select max(finished_at) from {SCHEMA}.sync_runs where status = 'success'",
        )
        age_hours = (
            None if last is None else (datetime.now(timezone.utc) - last).total_seconds() / 3600
        )
        stale = age_hours is None or age_hours > settings.stale_hours
        when = "never" if last is None else f"{age_hours:.1f} h ago ({last:%Y-%m-%d %H:%M} UTC)"
        found.append(
            Condition(
                "data_stale",
                stale,
                f"data is stale: the last successful load finished {when}, over "
                f"{settings.stale_hours:g} h"
                if stale
                else f"data is fresh again: the last successful load finished {when}",
            )
        )
    if _exists(conn, "analytics.price_coverage"):
        row = _one(
            conn,
            "select coverage_percent, coverage_target_percent, active_products"
            " from analytics.price_coverage",
        )
        if row is not None and row[0] is not None and row[1] is not None:
            below = row[0] < row[1]
            found.append(
                Condition(
                    "coverage_below_target",
                    below,
                    f"price coverage is {row[0]}% of {row[2]} active products, under the "
                    f"target of {row[1]}% (analytics.product_price_coverage lists them)"
                    if below
                    else f"price coverage is back at {row[0]}% (target {row[1]}%)",
                )
            )
    if _exists(conn, f"{SCHEMA}.webhook_events"):
        (dead,) = _one(conn, f"select count(*) from {SCHEMA}.webhook_events where status = 'dead'")
        found.append(
            Condition(
                "webhook_dead_letters",
                dead > 0,
                f"{dead} webhook event(s) dead-lettered (zoho_staging.webhook_events, "
                "status 'dead'): they were not applied"
                if dead
                else "no dead-lettered webhook events any more",
                value=str(dead),
            )
        )
    from loader.warehouse.webhook_events import webhook_notes

    notes = webhook_notes(conn)
    found.append(
        Condition(
            "webhooks_unverified",
            bool(notes),
            "; ".join(notes) if notes else "verified webhook events arrive again",
            value=";".join(sorted(n.split(";")[0].split(" for ")[0] for n in notes)) or None,
        )
    )
    return found


# ----- delivery ----------------------------------------------------------------------------
def deliver(settings: AlertSettings, message: str, alerting: bool) -> str | None:
    """Send `message` on every channel; None when at least one accepted it, else why not."""
    errors: list[str] = []
    delivered = False
    if settings.urls:
        import apprise

        notifier = apprise.Apprise()
        for url in settings.urls:
            if not notifier.add(url):
                errors.append(f"ALERTS__URLS has an URL Apprise does not understand: {url[:20]}…")
        if len(notifier) and notifier.notify(
            title=settings.title,
            body=message,
            notify_type=apprise.NotifyType.FAILURE if alerting else apprise.NotifyType.SUCCESS,
        ):
            delivered = True
        elif len(notifier):
            errors.append("Apprise could not deliver to ALERTS__URLS")
    if settings.command:
        try:
            done = subprocess.run(
                settings.command,
                shell=True,
                input=message + "\n",
                text=True,
                capture_output=True,
                timeout=COMMAND_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            errors.append(f"ALERTS__COMMAND took over {COMMAND_TIMEOUT_SECONDS} s")
        else:
            if done.returncode == 0:
                delivered = True
            else:
                tail = (done.stderr or "").strip().splitlines()[-1:] or [""]
                errors.append(f"ALERTS__COMMAND exited {done.returncode} {tail[0][:200]}")
    return None if delivered else ("; ".join(errors) or "no channel")


def notify_changes(
    conn: Any, conditions: Sequence[Condition], settings: AlertSettings
) -> list[Condition]:
    """Send one message per condition whose state changed; returns those sent.

    A condition seen for the first time alerts only if it is alerting (no "all is well"
    message on the first job)."""
    with conn.cursor() as cursor:
        cursor.execute(ALERTS_DDL)
        cursor.execute(f"select condition, alerting, value, since from {SCHEMA}.alert_state")
        stored = {row[0]: row[1:] for row in cursor.fetchall()}
    sent: list[Condition] = []
    for condition in conditions:
        before = stored.get(condition.name)
        if before is None:
            changed = condition.alerting
        else:
            changed = before[0] != condition.alerting or (
                condition.alerting and _grew(before[1], condition.value)
            )
        if changed and before is not None and before[0] and not condition.alerting:
            condition = replace(
                condition,
                message=f"{condition.message} (alerting since {before[2]:%Y-%m-%d %H:%M} UTC)",
            )
        if changed and settings.has_channel:
            error = deliver(settings, condition.message, condition.alerting)
            _log(conn, condition, error)
            if error:
                log.warning("alert not sent (%s): %s", error, condition.message)
                continue  # state unchanged: the next job tries again
            sent.append(condition)
        if changed or before is None or before[1] != condition.value:
            _store(conn, condition, changed)
    return sent


def _grew(before: str | None, now: str | None) -> bool:
    return bool(before and now and before.isdigit() and now.isdigit() and int(now) > int(before))


def _store(conn: Any, condition: Condition, changed: bool) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"""
            insert into {SCHEMA}.alert_state (condition, alerting, since, message, value)
            values (%s, %s, now(), %s, %s)
            on conflict (condition) do update set
                alerting = excluded.alerting, message = excluded.message,
                value = excluded.value,
                since = case when %s then excluded.since else alert_state.since end
            """,
            (condition.name, condition.alerting, condition.message, condition.value, changed),
        )


def _log(conn: Any, condition: Condition, error: str | None) -> None:
    with conn.cursor() as cursor:
        cursor.execute(
            f"insert into {SCHEMA}.alert_log (condition, alerting, message, delivered, error)"
            " values (%s, %s, %s, %s, %s)",
            (condition.name, condition.alerting, condition.message, error is None, error),
        )
