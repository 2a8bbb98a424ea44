"""`python -m loader` as cron runs it: exit codes, one-line errors, the advisory lock, the
run log and `status`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from loader.run.pipeline import connect, lock_key
from tests.loader_checks import loader_env
from zoho_sim import ZohoSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim(zoho_sim) -> ZohoSimulator:
    zoho_sim.configure(per_minute=100_000)
    return zoho_sim


@pytest.fixture
def cli(clean_warehouse, tmp_path):
    """Run `python -m loader ...` in a fresh process; `env` overrides, `drop` removes."""

    def run(sim, *args: str, env: dict | None = None, drop: tuple = ()):
        base = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
        full = {**base, **loader_env(sim, clean_warehouse, tmp_path), **(env or {})}
        for name in drop:
            full.pop(name, None)
        return subprocess.run(
            [sys.executable, "-m", "loader", *args],
            cwd=ROOT,
            env=full,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_run_exits_0_and_prints_what_it_did(sim, cli):
    done = cli(sim, "run")
    assert done.returncode == 0, done.stderr
    assert "success" in done.stdout
    assert "GET /invoices/{id}: 30" in done.stdout
    assert "invoices and bills still waiting for details: 0" in done.stdout


def test_second_concurrent_run_exits_75_touching_nothing(sim, cli, clean_warehouse, pg_query):
    holder = connect(clean_warehouse)
    try:
        with holder.cursor() as cursor:  # what a running loader holds
            cursor.execute("select pg_advisory_lock(%s)", (lock_key(sim.organization_id),))
        done = cli(sim, "run")
    finally:
        holder.close()

    assert done.returncode == 75
    assert error_lines(done.stderr) == [error_lines(done.stderr)[0]]
    assert "another loader run" in done.stderr
    assert sim.counters["api_calls"] == 0 and sim.counters["tokens_minted"] == 0
    assert pg_query("select to_regclass('zoho_staging.sync_runs')") == [(None,)]


def test_missing_setting_exits_2_with_one_line_naming_it(sim, cli):
    done = cli(sim, "run", drop=("SOURCES__ZOHO_BOOKS__CLIENT_SECRET",))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == error_lines(done.stderr)
    assert len(error_lines(done.stderr)) == 1
    assert "SOURCES__ZOHO_BOOKS__CLIENT_SECRET" in done.stderr
    assert sim.counters["api_calls"] == 0


def test_wrong_client_secret_exits_2_naming_client_settings(sim, cli):
    done = cli(sim, "run", env={"SOURCES__ZOHO_BOOKS__CLIENT_SECRET": "not-the-secret"})
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "invalid_client" in line and "SOURCES__ZOHO_BOOKS__CLIENT_SECRET" in line
    assert "not-the-secret" not in done.stderr + done.stdout


def test_revoked_refresh_token_exits_2_naming_the_refresh_token(sim, cli):
    done = cli(sim, "run", env={"SOURCES__ZOHO_BOOKS__REFRESH_TOKEN": "1000.revoked"})
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "SOURCES__ZOHO_BOOKS__REFRESH_TOKEN" in line
    assert "1000.revoked" not in done.stderr


def test_unknown_data_center_exits_2(sim, cli):
    done = cli(sim, "run", env={"SOURCES__ZOHO_BOOKS__DATA_CENTER": "us"})
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "SOURCES__ZOHO_BOOKS__DATA_CENTER" in line


def test_wrong_organization_exits_2_naming_the_organization_setting(sim, cli):
    done = cli(sim, "run", env={"SOURCES__ZOHO_BOOKS__ORGANIZATION_ID": "999"})
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "SOURCES__ZOHO_BOOKS__ORGANIZATION_ID" in line


def test_api_host_of_another_data_center_exits_2_after_one_refresh(sim, cli):
    with ZohoSimulator(scale="unit", seed=1) as other_region:
        done = cli(sim, "run", env={"SOURCES__ZOHO_BOOKS__API_BASE_URL": other_region.api_base_url})
    assert done.returncode == 2
    (line,) = error_lines(done.stderr)
    assert "DATA_CENTER" in line and "scopes" in line
    assert sim.counters["tokens_minted"] == 2  # the first token, then one refresh: no loop


def test_quota_exhaustion_exits_3_and_keeps_what_was_loaded(sim, cli, pg_query):
    sim.configure(daily_quota=25)
    done = cli(sim, "run")
    assert done.returncode == 3
    (line,) = error_lines(done.stderr)
    assert "quota" in line
    assert "quota_exhausted" in done.stdout
    assert pg_query("select count(*) from zoho_staging.items") == [(len(sim.items),)]


def test_status_shows_runs_cursors_and_pending_details(sim, cli):
    cli(sim, "run", "--details-budget", "10")
    done = cli(sim, "status")
    assert done.returncode == 0, done.stderr
    assert "success" in done.stdout
    assert "invoices.last_modified_time:" in done.stdout
    assert "contacts.last_modified_time:" in done.stdout
    # of the 10 detail calls, stock readings keep a tenth (1) while items wait: 9 invoices
    waiting = len(sim.invoices) + len(sim.bills) - 9
    assert f"invoices and bills still waiting for details: {waiting}" in done.stdout
    assert "retention: RETENTION_DAYS=90 " in done.stdout


def test_status_shows_the_retention_in_force_and_refuses_an_invalid_one(sim, cli):
    assert (
        "retention: RETENTION_DAYS=30 " in cli(sim, "status", env={"RETENTION_DAYS": "30"}).stdout
    )
    refused = cli(sim, "status", env={"RETENTION_DAYS": "0"})
    assert refused.returncode == 2
    assert "RETENTION_DAYS='0' is not a whole number of days" in refused.stderr


def test_runs_left_running_are_marked_failed_at_the_next_start(sim, cli, pg_query):
    assert cli(sim, "run", "--resources", "organizations").returncode == 0
    pg_query(
        "insert into zoho_staging.sync_runs (run_id, organization_id, started_at, status) "
        "values ('killed-same-org', %s, now() - interval '5 minutes', 'running'), "
        "('old-other-org', 'another', now() - interval '2 hours', 'running'), "
        "('young-other-org', 'another', now() - interval '5 minutes', 'running')",
        (sim.organization_id,),
    )

    assert cli(sim, "run", "--resources", "organizations").returncode == 0

    status = dict(pg_query("select run_id, status from zoho_staging.sync_runs"))
    assert status["killed-same-org"] == "failed"
    assert status["old-other-org"] == "failed"
    assert status["young-other-org"] == "running"  # may be alive: another org's lock


def test_help_lists_commands_and_exit_codes(sim, cli):
    done = cli(sim, "--help")
    assert done.returncode == 0
    assert "run" in done.stdout and "status" in done.stdout and "75" in done.stdout
    run_help = cli(sim, "run", "--help")
    assert "--resources" in run_help.stdout and "--details-budget" in run_help.stdout


def test_unknown_resource_exits_2(sim, cli):
    done = cli(sim, "run", "--resources", "itemz")
    assert done.returncode == 2
    assert "choose from" in done.stderr
