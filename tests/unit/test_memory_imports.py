"""`loader/run/memory.py` keeps SQLAlchemy out of the loader's own processes (25 MB of
RSS). It relies on dlt parsing connection strings without SQLAlchemy when that cannot be
imported: these tests fail loudly when dlt stops doing so, or when a run imports it again."""

from __future__ import annotations

import subprocess
import sys

from loader.warehouse import ROOT

CHECK = r"""
import sys
from loader.run import memory
memory.without_sqlalchemy()
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.destinations.impl.postgres.configuration import PostgresCredentials
credentials = PostgresCredentials()
credentials.parse_native_representation("postgresql://loader:p%40ss@db.example:6543/warehouse")
print(credentials.username, credentials.password, credentials.host, credentials.port,
      credentials.database, credentials.to_native_representation())
import loader.run.pipeline, loader.ops.job, loader.webhooks.cli
print("sqlalchemy" in sys.modules and sys.modules["sqlalchemy"] is not None)
"""


def test_dlt_parses_the_warehouse_url_without_sqlalchemy_and_nothing_imports_it():
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parsed, imported = done.stdout.strip().splitlines()
    fields, native = parsed.rsplit(" ", 1)
    assert fields == "loader p@ss db.example 6543 warehouse"
    assert native.startswith("postgresql://loader:p%40ss@db.example:6543/warehouse")
    assert imported == "False"
