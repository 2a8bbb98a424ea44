"""Manual sync: `POST /sync` on the real service (uvicorn) with the bearer token from the
settings answers 202 with a job id; the job (`python -m loader.job`, real dlt, dbt and
PostgreSQL against the simulator) queues behind the lock while someone holds it, then runs
to the end and is found under that id."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from loader.run.pipeline import lock_key
from tests.integration.conftest import connect, job_environment
from tests.integration.webhooks_support import SECRET, free_port, start
from zoho_sim import ZohoSimulator

pytestmark = pytest.mark.xdist_group("webhooks_sync")
SYNC_TOKEN = "manual-sync-token-for-tests-0123"


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=17, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(sim, pg_env, tmp_path_factory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("sync")
    env = {
        **job_environment(sim, pg_env, work, DETAILS_BUDGET="1000"),
        "SOURCES__ZOHO_BOOKS__WEBHOOK_SECRET": SECRET,
        "SOURCES__ZOHO_BOOKS__SYNC_TOKEN": SYNC_TOKEN,
        "WEBHOOK_TESTS_SERVER_LOG": str(work / "server.log"),
    }
    port = free_port()
    args = ["-m", "loader", "serve", "--no-worker", "--port", str(port)]
    proc, url = start([*args, "--sync-log", str(work / "job.log")], env, port)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_sync_without_the_right_bearer_token_is_401(service):
    for headers in ({}, bearer("not-the-sync-token-at-all"), {"Authorization": SYNC_TOKEN}):
        answer = requests.post(f"{service}/sync", headers=headers, timeout=10)
        assert answer.status_code == 401, answer.text
        assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.start_first  # a whole job
def test_a_manual_sync_queues_behind_the_lock_then_runs_to_the_end(sim, service, pg_env):
    holder = connect(pg_env)  # a scheduled job, say, holds the lock
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (lock_key(sim.organization_id),))
    try:
        answer = requests.post(f"{service}/sync", headers=bearer(SYNC_TOKEN), timeout=10)
        again = requests.post(f"{service}/sync", headers=bearer(SYNC_TOKEN), timeout=10)
        time.sleep(3)  # long enough for the job to have started and to wait
        queued = requests.get(
            f"{service}{answer.json()['status_url']}", headers=bearer(SYNC_TOKEN), timeout=10
        )
    finally:
        holder.close()

    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    # no organization named: the only one's job
    assert answer.json()["organization_id"] == sim.organization_id
    job_id = answer.json()["job_id"]
    assert again.status_code == 202
    assert again.json() == {**answer.json(), "status": "already_queued"}
    assert queued.json() == {"job_id": job_id, "status": "queued"}
    final = wait_for_job(service, job_id)
    assert (final["status"], final["exit_code"]) == ("success", 0), final
    assert final["organization_id"] == sim.organization_id


def test_a_manual_sync_of_an_organization_not_configured_is_refused(service):
    for path, body in (("/sync/424242", None), ("/sync", '{"organization": "424242"}')):
        answer = requests.post(
            f"{service}{path}", data=body, headers=bearer(SYNC_TOKEN), timeout=10
        )
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"] == "unknown_organization"
    answer = requests.post(f"{service}/sync", data="eu", headers=bearer(SYNC_TOKEN), timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "bad_body"


def wait_for_job(service: str, job_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = requests.get(f"{service}/sync/{job_id}", headers=bearer(SYNC_TOKEN), timeout=10)
        assert found.status_code == 200, found.text
        if found.json()["status"] not in ("queued", "running"):
            return found.json()
        time.sleep(1)
    raise AssertionError(f"job {job_id} not finished after {timeout} s")
