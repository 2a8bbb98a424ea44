"""`make demo` repeated on the same clone: the job loads the simulator's data, and each time
the real-time part (zoho_sim/realtime_demo.py: `loader serve`, a signed workflow webhook,
the worker's dlt load and dbt rebuild) shows a price change in analytics.product_prices.
The same commands as the Makefile, at the simulator's unit scale, in a test database."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.conftest import dbt_env
from tests.integration.webhooks_support import ROOT

pytestmark = pytest.mark.xdist_group("webhooks_demo")


def under_simulator(module: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    sim = [sys.executable, "-m", "zoho_sim", "run", "--scale", "unit", "--seed", "1"]
    return subprocess.run(
        [*sim, "--per-minute", "100000", "--", sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.start_first  # a job and two real-time runs
def test_make_demo_twice_shows_the_real_time_path_each_time(pg_env, tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    env = {  # as the Makefile's DEMO_ENV (the simulator adds its address and credentials)
        **{k: v for k, v in dbt_env(pg_env, profiles).items() if not k.startswith("SOURCES__")},
        "SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH": str(tmp_path / "zoho_token.json"),
        "SOURCES__ZOHO_BOOKS__MAX_CALLS_PER_MINUTE": "100000",
        "SOURCES__ZOHO_BOOKS__DETAILS_BUDGET": "100000",
        "SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET": "0",
        "DLT_PIPELINES_DIR": str(tmp_path / "dlt"),
        "JOB_OUTPUT_DIR": str(tmp_path / "job"),
        "DEMO_DIR": str(tmp_path / "demo"),
        "DEMO_WAIT_SECONDS": "500",  # the worker's dbt rebuild, on a machine busy with tests
        "ALERTS__URLS": "",
        "ALERTS__COMMAND": "",
        "PYTHONPATH": str(ROOT),
    }
    job = under_simulator("loader.job", env)
    assert job.returncode == 0, job.stdout[-2000:] + job.stderr[-2000:]
    # what failed the second `make demo` was its real-time part (the simulator repeated the
    # same edit, taken for a redelivery): run that part twice on one loaded warehouse
    for run in (1, 2):
        demo = under_simulator("zoho_sim.realtime_demo", env)
        assert demo.returncode == 0, f"run {run}: " + demo.stdout[-2000:] + demo.stderr[-2000:]
        assert "<- new" in demo.stdout and "s later (webhook -> receiver" in demo.stdout
