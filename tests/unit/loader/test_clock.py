"""loader/clock.py: real time unless a test or benchmark says to follow the simulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from loader import clock
from loader.errors import ConfigError


def test_the_clock_is_real_time_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv(clock.CLOCK_VARIABLE, raising=False)
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_the_simulator_clock_follows_the_simulators_advance(zoho_sim, monkeypatch):
    monkeypatch.setenv(clock.CLOCK_VARIABLE, "simulator")
    monkeypatch.setenv(clock.SIMULATOR_URL_VARIABLE, zoho_sim.base_url)
    before = clock.now()
    assert before == zoho_sim.now.astimezone(timezone.utc)
    zoho_sim.advance(900)
    assert clock.now() - before == timedelta(seconds=900)


@pytest.mark.parametrize("value", ["fake", ""], ids=["unknown clock", "simulator without URL"])
def test_a_wrong_clock_setting_is_a_configuration_error(monkeypatch, value):
    monkeypatch.setenv(clock.CLOCK_VARIABLE, value or "simulator")
    monkeypatch.delenv(clock.SIMULATOR_URL_VARIABLE, raising=False)
    with pytest.raises(ConfigError, match=clock.CLOCK_VARIABLE):
        clock.now()
