"""RETENTION_DAYS: what a purge says it did, and which values are refused (exit 2)."""

from __future__ import annotations

import pytest

from loader.errors import ConfigError
from loader.ops.retention import describe, retention_days_from_config


def test_describe_says_what_a_purge_pruned():
    assert describe(90, {"job_runs": 0, "sync_runs": 0}) == "retention 90 days: nothing to prune"
    assert describe(30, {"job_runs": 2, "sync_runs": 1_200, "alert_log": 0}) == (
        "retention 30 days: pruned 1,202 row(s) (job_runs 2, sync_runs 1,200)"
    )


@pytest.mark.parametrize("value", ["0", "-1", "soon", "1.5"])
def test_an_invalid_retention_is_a_configuration_error_naming_the_setting(monkeypatch, value):
    monkeypatch.setenv("RETENTION_DAYS", value)
    with pytest.raises(ConfigError, match="RETENTION_DAYS=") as raised:
        retention_days_from_config()
    assert raised.value.exit_code == 2


def test_retention_defaults_to_90_days_and_reads_the_setting(monkeypatch):
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert retention_days_from_config() == 90
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert retention_days_from_config() == 30
