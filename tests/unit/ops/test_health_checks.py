"""The one health's checks (loader/ops/health.py), each judged from its facts alone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from loader.errors import ConfigError
from loader.ops.health import (
    CRITICAL,
    OK,
    WARNING,
    Thresholds,
    data_age_check,
    details_check,
    thresholds_from_config,
    verdict,
    webhook_checks,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def test_data_age_is_ok_then_warning_then_critical_at_the_two_thresholds():
    limits = Thresholds(warn_age_hours=2, critical_age_hours=26)
    levels = [data_age_check(NOW - h * HOUR, NOW, limits).level for h in (1, 3, 27)]
    assert levels == [OK, WARNING, CRITICAL]
    assert data_age_check(None, NOW, limits).problem == "no successful load yet"


def test_pending_details_warn_over_the_threshold_with_the_expected_catch_up():
    limits = Thresholds(details_pending=20)
    assert details_check(20, None, limits).level == OK
    check = details_check(628, NOW + 3 * HOUR, limits)
    assert check.level == WARNING
    assert check.problem == (
        "628 invoice(s) still wait for their details (over 20); expected caught up by "
        "2026-12-06 15:00 UTC"
    )
    assert "no expected catch-up time" in (details_check(628, None, limits).problem or "")


def test_webhook_checks_count_dead_letters_and_rejections_from_enough_events():
    limits = Thresholds(webhook_min_success_rate=0.95, webhook_min_events=20)
    counts = {"dead_letters": 2, "events_24h": 100, "failed_24h": 10, "rejected_24h": 8}
    dead, rejected, unverified = webhook_checks(counts, limits)
    assert (dead.level, dead.value) == (WARNING, "2")
    assert rejected.level == WARNING and "8 rejected" in (rejected.problem or "")
    assert unverified.level == OK
    few = webhook_checks({"dead_letters": 0, "events_24h": 10, "failed_24h": 10}, limits)
    assert [c.level for c in few] == [OK, OK, OK]  # ten events are too few to judge a rate
    assert webhook_checks(None, limits) == []


def test_verified_webhooks_that_stopped_warn_in_plain_words():
    note = "no verified item webhooks for 4 h; 37 rejected: check the secret (docs/webhooks.md)"
    counts = {"dead_letters": 0, "events_24h": 0, "failed_24h": 0, "unverified": [note]}
    unverified = webhook_checks(counts, Thresholds())[-1]
    assert (unverified.name, unverified.level, unverified.problem) == (
        "webhooks_unverified",
        WARNING,
        note,
    )


def test_the_verdict_is_the_worst_check():
    limits = Thresholds()
    checks = [data_age_check(NOW - 3 * HOUR, NOW, limits), details_check(0, None, limits)]
    assert verdict(checks) == WARNING
    assert verdict([]) == OK


def test_thresholds_come_from_the_settings_and_a_bad_one_is_named(monkeypatch):
    monkeypatch.setenv("HEALTH__WARN_AGE_HOURS", "4")
    monkeypatch.setenv("ALERTS__STALE_HOURS", "30")  # the former name still counts
    assert thresholds_from_config() == Thresholds(warn_age_hours=4, critical_age_hours=30)
    monkeypatch.setenv("HEALTH__CRITICAL_AGE_HOURS", "3")
    with pytest.raises(ConfigError, match="HEALTH__WARN_AGE_HOURS must not be over"):
        thresholds_from_config()
    monkeypatch.setenv("HEALTH__WEBHOOK_MIN_SUCCESS_RATE", "1.5")
    with pytest.raises(ConfigError, match="HEALTH__WEBHOOK_MIN_SUCCESS_RATE must be a share"):
        thresholds_from_config()
