"""Evidence, not traffic: the planner relaxes the items listing only on item events that
were verified and applied lately. Refused requests never change a plan; when verified
events stop, the listing is back at its normal cadence and `loader health` says why.
Real `loader serve` (uvicorn), real PostgreSQL, the loader's planned runs against the
simulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from loader.run.budget.inputs import webhook_families
from tests.integration.conftest import connect
from tests.integration.test_webhooks_apply import post
from tests.integration.webhooks_support import Receiver, loader, serving, webhook_env
from zoho_sim import ZohoSimulator

pytestmark = pytest.mark.xdist_group("webhooks_evidence")


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator(scale="unit", seed=9, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    return webhook_env(sim, pg_env, tmp_path_factory.mktemp("evidence"), synced=False)


@pytest.fixture(scope="module")
def receiver(env) -> Iterator[Receiver]:
    with serving(env) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def relaxed(pg_env):
    """The planner's input: the modules whose listings webhooks relax, as a run reads it
    (loader/run/budget/inputs.py, on the run log's connection to the warehouse)."""
    conn = connect(pg_env)
    yield lambda: webhook_families(conn, datetime.now(timezone.utc))
    conn.close()


def test_only_verified_applied_events_relax_the_listing_and_health_says_when_they_stop(
    sim, env, receiver, relaxed, pg_query
):
    done = loader("run", env=env)
    assert done.returncode == 0, done.stderr
    item_id = sorted(sim.active_item_ids())[0]

    refused = receiver.post("items", {"item": sim.items[item_id]}, secret=None)
    assert refused.status_code == 401
    assert relaxed() == frozenset()

    sim.advance(60)
    post(receiver, "items", "edited", sim.update_item(item_id, rate=42))
    assert relaxed() == frozenset()  # stored, not yet applied
    applied = loader("webhooks", "apply", "--no-build", env=env)
    assert applied.returncode == 0, applied.stderr
    assert relaxed() == {"items"}
    assert "webhook" not in loader("health", env=env).stdout

    # Four hours later the secret changed in Zoho: every delivery is refused.
    pg_query("update zoho_staging.webhook_events set applied_at = now() - interval '4 hours'")
    for _ in range(36):
        receiver.post("items", {"item": sim.items[item_id]}, secret="TheNewSecretOfZoho1")
    assert relaxed() == frozenset()
    health = loader("health", env=env)
    assert "no verified item webhooks for 4 h; 37 rejected: check the secret" in health.stdout
    assert health.returncode == 1  # a warning, not a failure
