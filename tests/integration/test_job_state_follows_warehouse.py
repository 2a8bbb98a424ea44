"""What a run fetches is decided by the warehouse it loads, never by another warehouse's
leftovers (issue 15): two databases on one server, one simulator, one pipelines folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loader.run.dlt_state import pipelines_dir
from loader.run.pipeline import RunOptions, run_sync
from tests.integration.conftest import connect, job_environment, run_job
from tests.loader_checks import differences, loader_env
from zoho_sim import ZohoSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    with ZohoSimulator(scale="unit", seed=11, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def warehouses(pg_env):
    """Two warehouses: the module's database (a) and a second one (b)."""
    second = f"{pg_env['PGDATABASE']}_b"
    admin = connect(pg_env, "postgres")
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{second}" with (force)')
        cur.execute(f'create database "{second}"')
    yield {"a": pg_env, "b": {**pg_env, "PGDATABASE": second}}
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{second}" with (force)')
    admin.close()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def use(sim, warehouses, work, monkeypatch):
    """Point the loader (in this process) at warehouse `name`; returns its query function."""

    def point(name: str):
        for key, value in loader_env(sim, warehouses[name], work, DETAILS_BUDGET="1000").items():
            monkeypatch.setenv(key, value)
        return lambda sql, params=None: execute_params(warehouses[name], sql, params)

    return point


def execute_params(pg, sql, params):
    conn = connect(pg)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def edit_zoho(sim: ZohoSimulator) -> None:
    sim.advance(120)
    sim.update_contact(next(iter(sim.contacts)), contact_name="Renamed customer")
    sim.update_invoice(next(iter(sim.invoices)), status="sent")
    sim.update_item(next(iter(sim.items)), rate=777)
    sim.advance(120)


def test_a_first_job_on_an_empty_warehouse_after_another_one_loads_everything(
    sim, warehouses, work, use
):
    use("a")
    assert run_sync(RunOptions()).status == "success"
    status = subprocess.run(
        [sys.executable, "-m", "loader", "status"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    before = sorted(p.name for p in (work / "dlt").iterdir())
    assert status.returncode == 0 and f"warehouse: {warehouses['a']['PGDATABASE']} on" in (
        status.stdout
    )

    query_b = use("b")
    job = run_job(job_environment(sim, warehouses["b"], work, DETAILS_BUDGET="1000"), timeout=None)

    assert before == [pipelines_dir(warehouses["a"], str(work / "dlt")).name]  # status wrote none
    assert job.returncode == 0, job.stdout + job.stderr
    assert differences(query_b, sim) == {}
    summary = sim.summary()
    assert query_b("select active_products from analytics.price_coverage") == [
        (summary["active_items"],)
    ]


def test_switching_between_two_warehouses_keeps_both_correct(sim, use):
    for name in ("a", "b", "a", "b"):
        edit_zoho(sim)
        query = use(name)
        assert run_sync(RunOptions()).status == "success"
        assert differences(query, sim) == {}, name


def test_deleting_the_local_state_costs_no_more_api_calls_than_a_normal_run(sim, work, use):
    query = use("a")
    run_sync(RunOptions())
    edit_zoho(sim)
    sim.reset_counters()
    normal = run_sync(RunOptions())
    edit_zoho(sim)
    shutil.rmtree(work / "dlt")
    (work / "zoho_token.json").unlink()
    sim.reset_counters()

    restored = run_sync(RunOptions())

    assert restored.status == "success"
    assert restored.api_calls == sim.counters["api_calls"] <= normal.api_calls
    assert differences(query, sim) == {}


def test_a_raw_table_gone_from_the_warehouse_is_reloaded_not_skipped(sim, use):
    query = use("b")
    run_sync(RunOptions())
    query(
        "drop table zoho_staging.contacts, zoho_staging.organizations,"
        " zoho_staging.invoice_line_items cascade"
    )

    result = run_sync(RunOptions())

    assert result.status == "success"
    assert result.rows_loaded["contacts"] == len(sim.contacts)
    assert result.rows_loaded["invoice_line_items"] > 0
    assert differences(query, sim) == {}


def test_full_refresh_works_when_the_schema_claims_a_table_the_warehouse_lacks(sim, use):
    query = use("a")
    run_sync(RunOptions())
    query("drop table zoho_staging.invoices cascade")

    result = run_sync(RunOptions(full_refresh=True))

    assert result.status == "success"
    assert differences(query, sim) == {}


def test_a_warehouse_emptied_since_the_last_run_is_loaded_in_full(sim, use):
    # the database re-created under the same name (here: its raw schemas dropped), while
    # this checkout's working state still describes the warehouse as it was
    query = use("b")
    run_sync(RunOptions())
    query("drop schema zoho_staging cascade; drop schema if exists zoho_staging_staging cascade")

    result = run_sync(RunOptions())

    assert result.status == "success", result
    assert result.rows_loaded["contacts"] == len(sim.contacts)
    assert differences(query, sim) == {}
