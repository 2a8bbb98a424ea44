"""Alert state per organization: the real job (`python -m loader.job`, every organization)
against the simulator and a real PostgreSQL, with a second organization Zoho does not
know. Its failure alerts once, naming it, however many jobs fail the same way; the first
organization's state is its own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import ROOT, job_environment

from zoho_sim import ZohoSimulator

GHOST = "999000111"


@pytest.fixture
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator("unit", seed=2, per_minute=100_000) as simulator:
        yield simulator


def test_one_organization_failing_alerts_once_and_names_it(
    sim, clean_warehouse, pg_query, tmp_path
):
    first = sim.organization_id
    sent = tmp_path / "alerts.txt"
    env = {
        **job_environment(sim, clean_warehouse, tmp_path),
        "SOURCES__ZOHO_BOOKS__ORGANIZATIONS__GHOST__ORGANIZATION_ID": GHOST,
        "ALERTS__COMMAND": f"cat >> {sent}; echo >> {sent}",
    }
    for _ in range(2):  # two jobs of both organizations: the ghost fails both times
        done = subprocess.run(
            [sys.executable, "-m", "loader.job"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode not in (0, 3, 75), done.stdout + done.stderr

    messages = [m.strip() for m in sent.read_text().split("\n\n") if m.strip()]
    failures = [m for m in messages if "job failed" in m]
    assert len(failures) == 1, messages
    assert failures[0].startswith(f"organization {GHOST} (ghost): job failed at step load")
    states = dict(
        pg_query(
            "select organization_id, alerting from zoho_staging.alert_state"
            " where condition = 'job_failed'"
        )
    )
    assert states == {first: False, GHOST: True}
    jobs = dict(pg_query("select organization_id, status from zoho_staging.job_runs"))
    assert jobs == {first: "success", GHOST: "failed"}
