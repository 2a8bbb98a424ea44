"""A warehouse that cannot be reached is one line naming the cause and the PG* variable."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import psycopg2
import pytest

from loader import warehouse
from loader.errors import EXIT_WAREHOUSE_UNREACHABLE, WarehouseUnreachable

PG = {
    "PGHOST": "127.0.0.1",
    "PGPORT": "5432",
    "PGUSER": "elt",
    "PGPASSWORD": "pw",
    "PGDATABASE": "zoho",
}


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_a_server_refusing_connections_is_exit_6_naming_pghost_and_pgport():
    with pytest.raises(WarehouseUnreachable) as caught:
        warehouse.connect({**PG, "PGPORT": closed_port()})

    message = str(caught.value)
    assert caught.value.exit_code == EXIT_WAREHOUSE_UNREACHABLE == 6
    assert message.startswith("warehouse unreachable: PostgreSQL at 127.0.0.1:")
    assert "refuses connections" in message and "PGHOST and PGPORT" in message
    assert "\n" not in message


def test_an_unknown_host_names_pghost():
    with pytest.raises(
        WarehouseUnreachable, match=re.escape("unknown host 'no-such-host.invalid': check PGHOST")
    ):
        warehouse.connect({**PG, "PGHOST": "no-such-host.invalid"})


@pytest.mark.parametrize(
    ("libpq_says", "fix"),
    [
        ('FATAL:  password authentication failed for user "elt"', "check PGPASSWORD"),
        ("fe_sendauth: no password supplied", "set PGPASSWORD"),
        ('FATAL:  database "zoho" does not exist', "create it (createdb zoho) or fix PGDATABASE"),
        ('FATAL:  role "elt" does not exist', "has no user 'elt': check PGUSER"),
    ],
)
def test_refused_logins_and_missing_databases_name_the_variable_to_fix(libpq_says, fix):
    error = warehouse.unreachable(psycopg2.OperationalError(libpq_says), PG)

    assert fix in str(error)


def test_the_loader_reports_an_unreachable_warehouse_in_one_line_with_exit_6():
    done = subprocess.run(
        [sys.executable, "-m", "loader", "status"],
        env={**os.environ, **PG, "PGPORT": closed_port()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 6
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: warehouse unreachable: PostgreSQL at 127.0.0.1:")
