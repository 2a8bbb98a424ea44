"""The embedded PostgreSQL that every make target uses when PGHOST is unset."""

import os
import subprocess
import sys

import pytest

from loader import warehouse

pytestmark = pytest.mark.skipif(
    not warehouse.is_embedded(), reason="PGHOST is set: an external warehouse is in use"
)


def _warehouse_cli(data_dir, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(EMBEDDED_PG_DIR=str(data_dir), PGDATABASE="books")
    return subprocess.run(
        [sys.executable, "-m", "loader.warehouse", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_exec_starts_the_embedded_server_creates_the_database_and_stop_stops_it(tmp_path):
    data_dir = tmp_path / "pgdata"
    query = _warehouse_cli(data_dir, "psql", "-tAc", "select current_database()")
    try:
        assert query.returncode == 0, query.stderr
        assert query.stdout.strip() == "books"
        assert (data_dir / "postmaster.pid").exists()
        # a second call reuses the running server and the existing database
        again = _warehouse_cli(data_dir, "env")
        assert "export PGDATABASE=books" in again.stdout
    finally:
        stopped = _warehouse_cli(data_dir, "stop")
    assert stopped.stdout.strip() == "embedded PostgreSQL stopped"
    assert not (data_dir / "postmaster.pid").exists()
