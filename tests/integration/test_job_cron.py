"""The README's cron line, run as cron would: from a fresh checkout-like directory (the
loader package and a .venv, nothing else: no .local/, no .dlt/, no simulator), a minimal
environment and no terminal. The documented exit codes must reach cron, and the log gets
one line for each failure."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from loader.run.pipeline import lock_key
from tests.integration.conftest import connect

ROOT = Path(__file__).resolve().parents[2]
ORG = "60012345678"


def readme_cron_command() -> str:
    """The command of the cron line in README.md (after the five schedule fields)."""
    block = re.search(r"```cron\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md has no ```cron block"
    (line,) = [ln for ln in block.group(1).splitlines() if ln.strip() and ln[0] != "#"]
    return line.split(None, 5)[5]


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A checkout as `git clone` + `make setup` leave it, in a temporary directory."""
    home = tmp_path / "zoho-books-elt"
    shutil.copytree(ROOT / "loader", home / "loader", ignore=shutil.ignore_patterns("__pycache__"))
    (home / ".venv").symlink_to(ROOT / ".venv")
    return home


def run_cron_line(checkout: Path, **env: str) -> tuple[int, str]:
    command = readme_cron_command()
    command = re.sub(r"^cd \S+ &&", f"cd {checkout} &&", command)
    assert str(checkout) in command
    cron_env = {"PATH": "/usr/bin:/bin", "HOME": str(checkout.parent), "SHELL": "/bin/sh"}
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env={**cron_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout == done.stderr == "", "cron would mail this"
    log = checkout / ".local" / "job.log"
    return done.returncode, log.read_text() if log.exists() else ""


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_the_cron_line_on_a_fresh_checkout_reports_a_missing_setting_with_exit_2(checkout):
    code, log = run_cron_line(checkout)

    assert code == 2
    (line,) = log.splitlines()
    assert "error: missing settings SOURCES__ZOHO_BOOKS__ORGANIZATION_ID" in line
    assert "CLIENT_ID" in line and "CLIENT_SECRET" in line and "REFRESH_TOKEN" in line
    local = checkout / ".local"
    assert not stat.S_IMODE(local.stat().st_mode) & 0o066
    assert stat.S_IMODE((local / "job.log").stat().st_mode) == 0o600


def test_the_cron_line_reports_a_warehouse_refusing_connections_with_exit_6(checkout):
    code, log = run_cron_line(
        checkout,
        SOURCES__ZOHO_BOOKS__ORGANIZATION_ID=ORG,
        PGHOST="127.0.0.1",
        PGPORT=closed_port(),
        PGUSER="elt",
        PGDATABASE="zoho",
    )

    assert code == 6
    (line,) = log.splitlines()
    assert "error: warehouse unreachable: PostgreSQL at 127.0.0.1:" in line
    assert "check PGHOST and PGPORT" in line


def test_the_cron_line_skips_in_one_line_with_exit_75_while_the_lock_is_held(checkout, pg_env):
    holder = connect(pg_env)
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (lock_key(ORG),))
    try:
        first = run_cron_line(checkout, SOURCES__ZOHO_BOOKS__ORGANIZATION_ID=ORG, **pg_env)
        second = run_cron_line(checkout, SOURCES__ZOHO_BOOKS__ORGANIZATION_ID=ORG, **pg_env)
    finally:
        holder.close()

    assert first[0] == second[0] == 75
    # not into the running job's block of job.log: beside it
    assert second[1] == ""
    lines = (checkout / ".local" / "job.skipped.log").read_text().splitlines()
    assert len(lines) == 2 and all("skipped: another job or loader run" in ln for ln in lines)


def test_the_job_rotates_its_own_log(checkout):
    log = checkout / ".local" / "job.log"
    log.parent.mkdir()
    log.write_text("x" * (10 * 2**20 + 1))

    run_cron_line(checkout)

    assert (log.parent / "job.log.1").stat().st_size > 10 * 2**20
    assert len(log.read_text().splitlines()) == 1
    assert os.path.getsize(log) < 1000


def test_the_cron_line_reports_zoho_unreachable_in_one_line_with_exit_5(checkout, pg_env):
    closed = f"http://127.0.0.1:{closed_port()}"
    code, log = run_cron_line(
        checkout,
        **pg_env,
        SOURCES__ZOHO_BOOKS__ORGANIZATION_ID=ORG,
        SOURCES__ZOHO_BOOKS__CLIENT_ID="1000.CLIENT",
        SOURCES__ZOHO_BOOKS__CLIENT_SECRET="secret",
        SOURCES__ZOHO_BOOKS__REFRESH_TOKEN="1000.refresh",
        SOURCES__ZOHO_BOOKS__API_BASE_URL=f"{closed}/books/v3",
        SOURCES__ZOHO_BOOKS__ACCOUNTS_URL=closed,
        RUNTIME__REQUEST_MAX_ATTEMPTS="2",
        RUNTIME__REQUEST_BACKOFF_FACTOR="0.05",
    )

    assert code == 5, log
    errors = [line for line in log.splitlines() if "error:" in line]
    assert len(errors) == 1 and "127.0.0.1" in errors[0], log
    assert "Traceback" not in log
