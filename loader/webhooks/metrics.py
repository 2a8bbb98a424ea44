"""Prometheus metrics of the receiver (`GET /metrics`), in a registry of their own so that
two applications in one process (tests) do not share counters.

Labels are bounded: `module` is one of the applied modules or `other` (the module comes
from the URL, which anyone can invent), `reason` one of a fixed set.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from loader.webhooks.config import APPLIED_MODULES

PREFIX = "zoho_webhook"


def module_label(module: str) -> str:
    return module if module in APPLIED_MODULES else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            f"{PREFIX}_events_received",
            "Webhook requests received, by module.",
            ["module"],
            registry=r,
        )
        self.stored = Counter(
            f"{PREFIX}_events_stored",
            "Events committed to webhook_events (outcome: new or duplicate), by module.",
            ["module", "outcome"],
            registry=r,
        )
        self.rejected = Counter(
            f"{PREFIX}_events_rejected",
            "Requests refused, by module and reason (missing_signature, bad_signature, "
            "missing_token, bad_token, too_large, unsupported_media_type, malformed_json, "
            "no_record_id, bad_event).",
            ["module", "reason"],
            registry=r,
        )
        self.applied = Counter(
            f"{PREFIX}_events_applied",
            "Events applied to the raw tables (outcome: applied, ignored, failed), by module.",
            ["module", "outcome"],
            registry=r,
        )
        self.api_calls_made = Counter(
            f"{PREFIX}_api_calls",
            "Zoho API calls the worker made to complete events (GET /{module}/{id}).",
            registry=r,
        )
        self.apply_seconds = Histogram(
            f"{PREFIX}_apply_seconds",
            "Seconds from an event's arrival to its rows being in the raw tables.",
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900),
            registry=r,
        )
        self.dead_letters = Gauge(
            f"{PREFIX}_dead_letters", "Events dead-lettered and not yet replayed.", registry=r
        )
        self.pending = Gauge(f"{PREFIX}_pending", "Events waiting to be applied.", registry=r)
        self.api_calls = Gauge(
            "zoho_api_calls_last_run", "Zoho API calls of the last scheduled sync.", registry=r
        )
        self.quota = Gauge(
            "zoho_api_quota_remaining",
            "Zoho's daily call quota left, as of the last scheduled sync.",
            registry=r,
        )

    def set_gauges(self, gauges: dict[str, float | None]) -> None:
        self.dead_letters.set(gauges["dead"] or 0)
        self.pending.set(gauges["pending"] or 0)
        for gauge, key in ((self.api_calls, "api_calls"), (self.quota, "quota")):
            value = gauges[key]
            gauge.set(float("nan") if value is None else value)

    def observe_round(self, result: Any, events: list[dict[str, Any]]) -> None:
        """Count a worker round's outcomes; time from arrival to applied."""
        now = datetime.now(timezone.utc)
        self.api_calls_made.inc(getattr(result, "api_calls", 0))
        for event in events:
            outcome = result.outcomes.get(event["id"])
            if outcome is None:
                continue
            self.applied.labels(module_label(event["module"]), outcome.status).inc()
            if outcome.status == "applied":
                self.apply_seconds.observe((now - event["received_at"]).total_seconds())

    def render(self) -> bytes:
        return generate_latest(self.registry)
