"""Two channels, one lock: while the simulator's workflow rules post a steady stream of
signed item edits to `python -m loader serve` (its worker applying them and rebuilding the
marts round after round), scheduled jobs (`python -m loader.job`, real dlt, dbt and
PostgreSQL) run back to back: each one starts (it queues behind the worker's round
instead of giving up) and ends 0, and afterwards every event is applied.

The issue's stream is an edit a second for two minutes. This test streams an edit a
second for WEBHOOK_STREAM_SECONDS (default 30 s) and for as long as the jobs started in
it take (one at least, started once the stream flows; a job takes one to two minutes on
2 shared cores, so the stream runs that long). Why that shows the same bound
(docs/operations.md, "Webhooks and the job"): the bound is per job, one worker round (at
most `webhook_batch_size` events applied and one dbt build), and nothing in a round grows
with the stream's age: at an edit a second each round applies the few events since the
last one (a job's worth at most, after a job), under the batch size, and a job queued on
the lock is granted it before the worker's next try. A longer stream adds more jobs
facing the same rounds, not a longer wait. `make bench` runs the issue's two minutes
(bench/realtime.py: jobs back to back, each one's exit code and lock wait, and whether
every event was applied, in bench/results.md); WEBHOOK_STREAM_SECONDS=120 runs them here
(about three jobs, a few minutes more than `make test` can afford)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from tests.integration.conftest import job_environment
from tests.integration.webhooks_support import ROOT, SECRET, free_port, start
from zoho_sim import ZohoSimulator

pytestmark = pytest.mark.xdist_group("webhooks_fairness")
STREAM_SECONDS = float(os.environ.get("WEBHOOK_STREAM_SECONDS", "30"))


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=13, per_minute=100_000) as simulator:
        yield simulator


def run_job(env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "loader.job"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    return done.returncode, done.stdout


class Stream(threading.Thread):
    """One item edit a second (a different item each time), as Zoho's rules report them."""

    def __init__(self, sim: ZohoSimulator) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.stop = threading.Event()
        self.edits = 0

    def run(self) -> None:
        ids = sorted(self.sim.active_item_ids())
        while not self.stop.is_set():
            self.sim.advance(1)  # Zoho stamps last_modified_time to the second
            self.sim.update_item(ids[self.edits % len(ids)], rate=100 + self.edits)
            self.edits += 1
            self.stop.wait(1.0)


@pytest.mark.start_first  # one of the longest: jobs under a stream
def test_jobs_start_and_end_0_while_webhooks_stream_and_every_event_is_applied(
    sim, pg_env, pg_query, tmp_path_factory
):
    work = tmp_path_factory.mktemp("fairness")
    env = {
        **job_environment(sim, pg_env, work, DETAILS_BUDGET="1000"),
        "SOURCES__ZOHO_BOOKS__WEBHOOK_SECRET": SECRET,
        "WEBHOOK_TESTS_SERVER_LOG": str(work / "server.log"),
    }
    first = subprocess.run(  # the first load (its job builds the marts under the stream)
        [sys.executable, "-m", "loader", "run"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    port = free_port()
    proc, url = start(["-m", "loader", "serve", "--port", str(port)], env, port)
    stream = Stream(sim)
    jobs: list[tuple[int, str]] = []
    try:
        sim.configure_webhooks(url=f"{url}/webhooks/zoho", secret=SECRET, seed=1)
        stream.start()
        deadline = time.monotonic() + STREAM_SECONDS
        time.sleep(5)  # the worker is busy with rounds when the first job starts
        while time.monotonic() < deadline or not jobs:
            jobs.append(run_job(env))
        stream.stop.set()
        stream.join(timeout=30)
        assert sim.flush_webhooks(timeout=120)
        wait_until_applied(url)
    finally:
        stream.stop.set()
        proc.terminate()
        proc.wait(timeout=60)

    assert [code for code, _ in jobs] == [0] * len(jobs), [out[-1500:] for _, out in jobs]
    rows = pg_query(
        "select status, count(*), max(last_error) from zoho_staging.webhook_events group by status"
    )
    # every edit's event stored and applied, or knowingly skipped for a newer version of
    # the same item (a later edit in the same round, or the job's listing was first)
    by_status = {status: n for status, n, _ in rows}
    assert set(by_status) <= {"applied", "ignored"} and sum(by_status.values()) == stream.edits
    notes = pg_query(
        "select distinct split_part(last_error, ' ', 1) from zoho_staging.webhook_events"
        " where status = 'ignored'"
    )
    assert {note for (note,) in notes} <= {"superseded", "older"}, notes
    stored = dict(pg_query("select item_id, rate from zoho_staging.items"))
    edited = sorted(sim.active_item_ids())[: min(stream.edits, len(sim.active_item_ids()))]
    assert {i: float(stored[i]) for i in edited} == {i: sim.items[i]["rate"] for i in edited}
    [(runs,)] = pg_query("select count(*) from zoho_staging.job_runs where status = 'success'")
    assert runs == len(jobs)


def wait_until_applied(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = requests.get(f"{url}/health", timeout=10).json()
        if health["webhooks"]["pending"] == 0 and not health["worker"]["tables_to_rebuild"]:
            return
        time.sleep(1)
    raise AssertionError(f"events still pending after {timeout} s: {health}")
