"""The embedded PostgreSQL that every make target uses when PGHOST is unset."""

import os
import stat
import subprocess
import sys

import pytest

from loader import warehouse
from loader.errors import WarehouseUnreachable

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
        # an analyst's command (make psql, docs, report, price-on-date) says what it reads
        analyst = _warehouse_cli(data_dir, "exec", "--analyst", "--", "true")
        assert analyst.returncode == 0, analyst.stderr
        assert analyst.stderr.splitlines()[-1].startswith("reading books on ")
    finally:
        stopped = _warehouse_cli(data_dir, "stop")
    assert stopped.stdout.strip() == "embedded PostgreSQL stopped"
    assert not (data_dir / "postmaster.pid").exists()


def test_the_local_dir_of_the_embedded_server_stays_closed_to_other_users(tmp_path):
    data_dir = tmp_path / ".local" / "pgdata"
    try:
        assert _warehouse_cli(data_dir, "env").returncode == 0

        mode = stat.S_IMODE(data_dir.parent.stat().st_mode)
        assert not mode & 0o066, oct(mode)  # no one else lists or writes it
    finally:
        _warehouse_cli(data_dir, "stop")


def test_embedded_server_runs_with_the_projects_settings_from_its_first_start(tmp_path):
    data_dir = tmp_path / "pgdata"
    wanted = warehouse.embedded_settings(warehouse._total_memory())
    show = (
        "select pg_size_bytes(current_setting('shared_buffers')), current_setting('max_wal_size')"
    )
    try:
        first = _warehouse_cli(data_dir, "psql", "-tAc", show)
        assert first.returncode == 0, first.stderr
        assert first.stdout.split() == [f"{int(wanted['shared_buffers'][:-2]) * 2**20}|4GB"]
        # a warehouse created before these settings (or changed by hand) gets them back
        reset = _warehouse_cli(
            data_dir,
            "psql",
            "-c",
            "alter system set max_wal_size = '1GB'",
            "-c",
            "select pg_reload_conf()",
        )
        assert reset.returncode == 0, reset.stderr
        again = _warehouse_cli(data_dir, "psql", "-tAc", "show max_wal_size")
        assert again.stdout.strip() == "4GB"
    finally:
        _warehouse_cli(data_dir, "stop")


def test_a_missing_database_or_user_is_one_line_naming_the_variable(pg_server_env):
    with pytest.raises(WarehouseUnreachable) as missing_db:
        warehouse.connect({**pg_server_env, "PGDATABASE": "no_such_db"})
    with pytest.raises(WarehouseUnreachable) as missing_user:
        warehouse.connect({**pg_server_env, "PGUSER": "no_such_user"})

    assert "has no database 'no_such_db': create it (createdb no_such_db) or fix PGDATABASE" in str(
        missing_db.value
    )
    assert "has no user 'no_such_user': check PGUSER" in str(missing_user.value)


def test_status_and_webhooks_list_print_no_embedded_server_start_up_lines(tmp_path):
    data_dir = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(EMBEDDED_PG_DIR=str(data_dir), PGDATABASE="books")
    try:
        for command in (["status"], ["webhooks", "list"]):  # the first one creates the server
            done = subprocess.run(
                [sys.executable, "-m", "loader", *command],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert done.stderr == "", done.stderr
            assert "initdb" not in done.stdout and "postgres" not in done.stdout.lower()
    finally:
        _warehouse_cli(data_dir, "stop")
