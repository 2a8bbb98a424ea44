"""The production job (`python -m loader.job`) as cron runs it, when things go wrong: the
lock held by someone else, a dbt build killed mid-way. (A good job's record and its short
log are asserted in test_end_to_end.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loader.run.pipeline import lock_key
from tests.integration.conftest import connect, job_environment
from zoho_sim import ZohoSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    with ZohoSimulator(scale="unit", seed=5, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def job_env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    return job_environment(sim, pg_env, tmp_path_factory.mktemp("job"), DETAILS_BUDGET="1000")


def start_job(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loader.job"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_job(env: dict[str, str]) -> tuple[int, str]:
    job = start_job(env)
    output, _ = job.communicate(timeout=600)
    return job.returncode, output


def last_job(pg_query) -> dict:
    rows = pg_query(
        "select status, exit_code, failed_step, error, steps from zoho_staging.job_runs"
        " order by started_at desc limit 1"
    )
    status, code, step, error, steps = rows[0]
    return {"status": status, "exit_code": code, "failed_step": step, "error": error, **steps}


@pytest.mark.parametrize("value", ["0", "-5", "ninety"])
def test_an_invalid_retention_setting_stops_the_job_with_exit_2_naming_it(job_env, value):
    code, output = run_job({**job_env, "RETENTION_DAYS": value})

    assert code == 2
    (line,) = output.splitlines()
    assert f"error: RETENTION_DAYS='{value}' is not a whole number of days, at least 1" in line


def test_a_second_job_while_one_holds_the_lock_exits_75_in_one_line(sim, job_env, pg_env):
    holder = connect(pg_env)
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (lock_key(sim.organization_id),))
    try:
        code, output = run_job(job_env)
    finally:
        holder.close()

    assert code == 75
    assert len(output.splitlines()) == 1 and "skipped" in output, output


def test_a_dbt_build_killed_midway_ends_the_job_with_10_and_one_error_line(job_env, pg_query):
    job = start_job(job_env)
    dbt = None
    deadline = time.monotonic() + 120
    while dbt is None and time.monotonic() < deadline and job.poll() is None:
        dbt = next(iter(_children(job.pid, "build")), None)
        time.sleep(0.05)
    assert dbt is not None, "dbt build never started"
    time.sleep(1.0)  # let it start building
    os.kill(dbt, signal.SIGKILL)
    output, _ = job.communicate(timeout=300)

    assert job.returncode == 10, output
    record = last_job(pg_query)
    assert (record["status"], record["failed_step"]) == ("failed", "dbt_build")
    assert "killed (SIGKILL)" in record["error"]
    assert [line for line in output.splitlines() if "error:" in line] == [
        f"             error: {record['error']}"
    ]


def _children(parent: int, word: str) -> list[int]:
    """Pids of `parent`'s child processes whose command line contains `word`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and word.encode() in cmdline:
            found.append(int(proc.name))
    return found
