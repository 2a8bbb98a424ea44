"""Several organizations behind one receiver: each has its own URL and its own secret, its
events land on its own rows, its evidence relaxes its own listings only, and health
reports each. Real `loader serve` (uvicorn), real PostgreSQL, the simulator serving two
organizations (the same record ids in both) whose workflow rules post signed webhooks as
Zoho does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import requests

from loader.run.budget.inputs import webhook_families
from tests.integration.conftest import connect
from tests.integration.webhooks_support import SECRET, Receiver, loader, serving, webhook_env
from zoho_sim import ZohoSimulator

pytestmark = pytest.mark.xdist_group("webhooks_organizations")

SECOND_SECRET = "SecondOrganization7"  # the second organization's own
SECOND = "SOURCES__ZOHO_BOOKS__ORGANIZATIONS__SECOND__"


@pytest.fixture(scope="module")
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator("unit", seed=3, orgs=2) as simulator:
        simulator.configure(per_minute=100_000)
        for org_id in simulator.organization_ids:
            simulator.org(org_id).configure(per_minute=100_000)
        yield simulator


@pytest.fixture(scope="module")
def env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    """The first organization in [sources.zoho_books] (secret SECRET), the second under
    [sources.zoho_books.organizations.second] with its own secret; both loaded once."""
    first, second = sim.organization_ids
    work = tmp_path_factory.mktemp("organizations")
    env = {
        **webhook_env(sim, pg_env, work, synced=False),
        f"{SECOND}ORGANIZATION_ID": second,
        f"{SECOND}WEBHOOK_SECRET": SECOND_SECRET,
    }
    for org in (first, second):
        done = loader("run", "--org", org, env=env)
        assert done.returncode == 0, done.stderr
    return env


@pytest.fixture(scope="module")
def receiver(env) -> Iterator[Receiver]:
    with serving(env) as receiver:
        yield receiver


def deliver(sim: ZohoSimulator, url: str, secret: str, change) -> list:
    """Point `sim`'s workflow rules at `url`, signed with `secret`; make `change`; the
    outcomes of its deliveries (HTTP statuses)."""
    sim.configure_webhooks(url=url, secret=secret, retry_delays=())
    before = len(sim.webhook_deliveries)
    change()
    assert sim.flush_webhooks()
    return [d["outcome"] for d in sim.webhook_deliveries[before:]]


def test_an_event_signed_with_one_organizations_secret_is_refused_at_the_others_url(
    sim, env, receiver, pg_query
):
    first, second = (sim.org(o) for o in sim.organization_ids)
    item_id = sorted(first.active_item_ids())[0]

    outcomes = deliver(
        first,
        f"{receiver.url}/webhooks/zoho/{second.organization_id}",
        SECRET,
        lambda: first.update_item(item_id, rate=13),
    )

    assert outcomes == [401]
    assert pg_query("select count(*) from zoho_staging.webhook_events") == [(0,)]
    assert pg_query(
        "select organization_id, sum(requests) from zoho_staging.webhook_rejections"
        " where reason = 'bad_signature' group by 1"
    ) == [(second.organization_id, 1)]
    # an organization the receiver does not serve has no URL at all
    unknown = receiver.of("123").post("items", {"item": first.items[item_id]})
    assert unknown.status_code == 404


def test_each_organizations_events_land_on_its_own_rows_and_relax_its_own_listings(
    sim, env, receiver, pg_query, pg_env
):
    first, second = (sim.org(o) for o in sim.organization_ids)
    shared = sorted(set(first.active_item_ids()) & set(second.active_item_ids()))[0]
    sim.advance(60)
    # the first organization at its own URL (by id), the second at its name's
    assert deliver(
        first,
        f"{receiver.url}/webhooks/zoho/{first.organization_id}",
        SECRET,
        lambda: first.update_item(shared, rate=111),
    ) == [200]
    assert deliver(
        second,
        f"{receiver.url}/webhooks/zoho/second",
        SECOND_SECRET,
        lambda: second.update_item(shared, rate=222),
    ) == [200]
    # the single-organization URL is the first organization's
    contact_id = sorted(first.contacts)[0]
    assert deliver(
        first,
        f"{receiver.url}/webhooks/zoho",
        SECRET,
        lambda: first.update_contact(contact_id, notes="via the one-organization URL"),
    ) == [200]
    assert sorted(
        pg_query("select organization_id, module from zoho_staging.webhook_events")
    ) == sorted(
        [
            (first.organization_id, "items"),
            (second.organization_id, "items"),
            (first.organization_id, "contacts"),
        ]
    )

    applied = loader("webhooks", "apply", "--no-build", env=env)
    assert applied.returncode == 0, applied.stderr

    rates = dict(
        pg_query(
            "select organization_id, rate from zoho_staging.items where item_id = %s", (shared,)
        )
    )
    assert rates == {first.organization_id: 111, second.organization_id: 222}
    assert pg_query(
        "select count(*) from zoho_staging.webhook_events where status <> 'applied'"
    ) == [(0,)]
    conn = connect(pg_env)
    try:
        now = datetime.now(timezone.utc)
        assert webhook_families(conn, now, first.organization_id) == {"items", "contacts"}
        assert webhook_families(conn, now, second.organization_id) == {"items"}
    finally:
        conn.close()


def test_health_reports_each_organization(sim, env, receiver):
    first, second = sim.organization_ids

    served = requests.get(f"{receiver.url}/health", timeout=60)
    document = served.json()
    assert served.status_code == 200, document
    assert set(document["organizations"]) == {first, second}
    assert document["organizations"][second]["name"] == "second"
    for org in (first, second):
        assert document["organizations"][org]["checks"]["data_age"] == "OK"
        assert document["organizations"][org]["organization_id"] == org

    health = loader("health", env=env)
    lines = health.stdout.strip().splitlines()
    assert len(lines) == 2, health.stdout
    assert f"organization {first}:" in lines[0] and f"organization {second} (second):" in lines[1]
    assert health.returncode == 0, health.stdout

    one = loader("health", "--org", "second", env=env)
    assert one.stdout.count("\n") == 1 and "organization" not in one.stdout

    orgs = loader("orgs", env=env)
    assert orgs.returncode == 0, orgs.stdout + orgs.stderr
    listed = orgs.stdout.strip().splitlines()
    assert [line.split()[0] for line in listed] == [first, second]
    assert all(" OK - data " in line for line in listed), orgs.stdout
