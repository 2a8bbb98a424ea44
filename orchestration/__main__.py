"""`python -m orchestration dev [--port 3000]`: Dagster's UI and daemon on 127.0.0.1, its
instance in PostgreSQL (the database `dagster`, created when missing, on the server of the
PG* variables), DAGSTER_HOME under .local/dagster/home. `make orchestrate` runs it inside
`loader.warehouse exec` (the embedded PostgreSQL) and the simulator (SOURCES__ZOHO_BOOKS__*).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from loader import warehouse
from loader.names import LOCAL_DIR

HERE = Path(__file__).resolve().parent
DAGSTER_DATABASE = os.environ.get("DAGSTER_DATABASE", "dagster")


def ensure_database(pg: dict[str, str], name: str) -> None:
    """Create database `name` on pg's server unless it exists."""
    conn = warehouse.connect(pg, "zoho_books orchestration")
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'create database "{name}"')
    finally:
        conn.close()


def prepare_home(pg: dict[str, str]) -> dict[str, str]:
    """DAGSTER_HOME with this package's dagster.yaml, and the storage's URL."""
    home = Path(os.environ.get("DAGSTER_HOME") or LOCAL_DIR / "dagster" / "home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "dagster.yaml", home / "dagster.yaml")
    ensure_database(pg, DAGSTER_DATABASE)
    url = warehouse.dlt_credentials({**pg, "PGDATABASE": DAGSTER_DATABASE})
    # SQLAlchemy's driver name: psycopg2 is installed (dlt's), psycopg 3 is not
    url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    return {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": url}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration")
    parser.add_argument("command", choices=["dev"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="3000")
    args = parser.parse_args(argv)
    pg = warehouse.connection_env()
    env = {**os.environ, **pg, **prepare_home(pg)}
    dagster = str(Path(sys.executable).with_name("dagster"))
    command = [dagster, "dev", "-h", args.host, "-p", args.port]
    command += ["-m", "orchestration.definitions"]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
    os.execve(dagster, command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
