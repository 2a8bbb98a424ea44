"""loader/clock.py: real time unless a test or benchmark injects a clock through the seam."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from loader import clock
from loader.errors import ConfigError
from zoho_sim import loader_clock as sim_clock


def test_the_clock_is_real_time_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv(clock.CLOCK_VARIABLE, raising=False)
    assert abs(clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_an_injected_clock_follows_the_simulators_advance(zoho_sim, monkeypatch):
    monkeypatch.setenv(clock.CLOCK_VARIABLE, "zoho_sim.loader_clock:now")
    monkeypatch.setenv(sim_clock.SIMULATOR_URL_VARIABLE, zoho_sim.base_url)
    before = clock.now()
    assert before == zoho_sim.now.astimezone(timezone.utc)
    zoho_sim.advance(900)
    assert clock.now() - before == timedelta(seconds=900)


@pytest.mark.parametrize(
    "value",
    ["fake", "simulator", "zoho_sim.loader_clock:missing", "no_such_module:now"],
    ids=["unknown", "old simulator value", "missing function", "missing module"],
)
def test_a_wrong_clock_setting_is_a_configuration_error(monkeypatch, value):
    monkeypatch.setenv(clock.CLOCK_VARIABLE, value)
    with pytest.raises(ConfigError, match=clock.CLOCK_VARIABLE):
        clock.now()


def test_the_loader_never_imports_the_simulator():
    """The simulator and what drives it stay outside the product (README, Layout)."""
    from loader.names import ROOT

    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "loader").rglob("*.py")
        if "zoho_sim" in path.read_text()
        and any(
            line.lstrip().startswith(("import zoho_sim", "from zoho_sim"))
            for line in path.read_text().splitlines()
        )
    ]
    assert offenders == []
