"""A real PostgreSQL for integration tests: the embedded one (pgserver), started once per
session in a temporary directory, or the external one named by PGHOST. Each test module
gets a fresh database of its own, dropped afterwards."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from loader import warehouse
from loader.run.pipeline import RunOptions, RunResult, run_sync


@pytest.fixture(scope="session")
def pg_server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """PG* variables of the server the tests use, database `postgres`."""
    if not warehouse.is_embedded():
        yield {**warehouse.connection_env(), "PGDATABASE": os.environ.get("PGDATABASE", "")}
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield {
        "PGHOST": warehouse._socket_dir(server),
        "PGPORT": "5432",
        "PGUSER": "postgres",
        "PGPASSWORD": warehouse.EMBEDDED_PASSWORD,
        "PGDATABASE": "postgres",
    }
    server.cleanup()


def connect(pg: dict[str, str], database: str | None = None):
    """A psycopg2 connection (autocommit) to `database`, default the env's own."""
    conn = psycopg2.connect(
        host=pg["PGHOST"],
        port=pg["PGPORT"],
        user=pg["PGUSER"],
        password=pg["PGPASSWORD"],
        dbname=database or pg["PGDATABASE"],
    )
    conn.autocommit = True
    return conn


ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")


def dbt_env(pg: dict[str, str], profiles_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a dbt run on pg's database, with profiles.example.yml as its
    profile (copied into `profiles_dir`) and `extra` variables."""
    shutil.copy(ROOT / "profiles.example.yml", profiles_dir / "profiles.yml")
    return {**os.environ, **pg, "DBT_PROFILES_DIR": str(profiles_dir), **extra}


def load(**options: Any) -> RunResult:
    """One loader run in the test process (`run_sync`) with these `RunOptions`, as the
    `sim` fixture's environment points it."""
    return run_sync(RunOptions(**options))


def run_job(env: dict[str, str], timeout: float | None = 600) -> subprocess.CompletedProcess:
    """`python -m loader.job` as cron runs it, in the checkout, with `env`; its output kept."""
    return subprocess.run(
        [sys.executable, "-m", "loader.job"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def job_environment(sim, pg: dict[str, str], work: Path, **settings: str) -> dict[str, str]:
    """The environment of the job (`python -m loader.job`) on `sim` and pg's database,
    with its dbt profile, dlt state, token cache and output under `work`."""
    from tests.loader_checks import loader_env

    profiles = work / "profiles"
    profiles.mkdir(exist_ok=True)
    return {
        **dbt_env(pg, profiles),
        **loader_env(sim, pg, work, **settings),
        "JOB_OUTPUT_DIR": str(work / "out"),
        "PYTHONPATH": str(ROOT),
    }


def run_dbt_build(env: dict[str, str], target: Path, *args: str) -> subprocess.CompletedProcess:
    """The real `dbt build` of this project with `env`, output and logs under `target`."""
    paths = ["--project-dir", str(ROOT), "--target-path", str(target)]
    return subprocess.run(
        [str(DBT), "build", "--no-use-colors", *args, *paths, "--log-path", str(target / "logs")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def execute(pg: dict[str, str], sql: str) -> list[tuple]:
    """Run `sql` (one or more statements) on pg's database; the last statement's rows."""
    conn = connect(pg)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg_env(
    pg_server_env: dict[str, str], request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """PG* variables of a fresh database for this test module."""
    name = "t_" + re.sub(r"\W", "_", request.module.__name__.rsplit(".", 1)[-1]).lower()[:50]
    admin = connect(pg_server_env, "postgres")
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    yield {**pg_server_env, "PGDATABASE": name}
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()


@pytest.fixture
def pg_query(pg_env: dict[str, str]):
    """Run a query on the module's database and return all rows as tuples."""
    conn = connect(pg_env)

    def query(sql: str, params: tuple | dict | None = None) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    yield query
    conn.close()


@pytest.fixture
def clean_warehouse(pg_env, pg_query):
    """The module's database without the loader's schemas: every test starts at zero."""
    pg_query("drop schema if exists zoho_staging cascade")
    pg_query("drop schema if exists zoho_staging_staging cascade")
    return pg_env


@pytest.fixture
def sim(zoho_sim, clean_warehouse, tmp_path, monkeypatch):
    """The simulator, with Zoho's minute window lifted (the loader's own limiter is lifted
    in tests by loader_env), and this process's loader settings pointing at it and at a
    clean warehouse: a test calls `run_sync` itself. A module with other needs defines its
    own `sim`."""
    from tests.loader_checks import loader_env

    zoho_sim.configure(per_minute=100_000)
    for name, value in loader_env(zoho_sim, clean_warehouse, tmp_path).items():
        monkeypatch.setenv(name, value)
    return zoho_sim


@pytest.fixture(scope="session")
def demo_warehouse(pg_server_env, tmp_path_factory) -> Iterator[dict[str, str]]:
    """PG* variables of a database holding what `make demo` builds: the simulator's demo
    data (seed 1) loaded by the real loader, then `dbt build`. Built once per session for
    the tests that read the marts as an analyst does (docs examples, report, browser)."""
    from loader.ops import dbt
    from tests.loader_checks import loader_env
    from zoho_sim import ZohoSimulator

    name = "t_demo_warehouse"
    admin = connect(pg_server_env, "postgres")
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
        cur.execute(f'create database "{name}"')
    pg = {**pg_server_env, "PGDATABASE": name}
    work = tmp_path_factory.mktemp("demo_warehouse")
    with ZohoSimulator(scale="demo", seed=1, per_minute=100_000) as sim:
        env = {
            **os.environ,
            **loader_env(sim, pg, work, DETAILS_BUDGET="100000"),
            "PYTHONPATH": str(ROOT),
        }
        load = subprocess.run(
            [sys.executable, "-m", "loader", "run"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert load.returncode == 0, load.stdout[-3000:] + load.stderr[-3000:]
    profiles = work / "profiles"
    profiles.mkdir()
    # the job's build (no dbt unit tests: they check SQL against fixed inputs, whatever
    # the data; test_dbt_build runs them)
    build = run_dbt_build(dbt_env(pg, profiles), work / "target", *dbt.BUILD[1:])
    assert build.returncode == 0, build.stdout[-5000:]
    yield {**pg, "DBT_PROFILES_DIR": str(profiles)}
    with admin.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    admin.close()
