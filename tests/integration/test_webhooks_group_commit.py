"""Group commit (loader/webhooks/group_commit.py) on a real PostgreSQL: the events of
requests waiting together are committed in one transaction, each request learns its own
row, a redelivery inside a group is still counted once, one event PostgreSQL refuses fails
only its own request, and a connection the warehouse dropped is opened again. What a
request is told is committed: another connection sees it at once."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import psycopg2
import pytest

from loader.warehouse.webhook_events import Event, Store, idempotency_key
from loader.webhooks.group_commit import GroupCommit
from tests.integration.conftest import connect


def item_event(item_id: str, modified: str = "2026-11-20T10:00:00+0000") -> Event:
    payload = {"item": {"item_id": item_id, "rate": 10.0, "last_modified_time": modified}}
    return Event(
        module="items",
        event_type="edited",
        entity_id=item_id,
        last_modified_time=modified,
        payload=payload,
        raw_body=None,
        body_sha256="0" * 64,
        body_bytes=100,
        signature_ok=True,
        result="accepted",
        status="pending",
        idempotency_key=idempotency_key("items", "edited", item_id, modified, payload),
    )


@pytest.fixture
def store(clean_warehouse):
    own = Store(clean_warehouse, size=1)
    own.ensure()
    yield own
    own.close()


def together(commits: GroupCommit, events: list[Event]) -> list[Any]:
    """Every event's request at once (as requests arriving during one commit); each one's
    result or the exception its request would see."""

    async def send() -> list[Any]:
        return await asyncio.gather(*(commits.store(e) for e in events), return_exceptions=True)

    return asyncio.run(send())


def stored(pg_env, where: str = "true") -> list[tuple]:
    """What another connection sees: committed rows only."""
    conn = connect(pg_env)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select id, entity_id, deliveries, status from zoho_staging.webhook_events"
                f" where {where} order by id"
            )
            return cur.fetchall()
    finally:
        conn.close()


def test_requests_waiting_together_are_committed_in_one_transaction(store, clean_warehouse):
    commits = GroupCommit(clean_warehouse)
    events = [item_event(str(n)) for n in range(40)]

    answers = together(commits, events)
    commits.close()

    assert commits.commits == 1  # one transaction (one WAL flush) for the forty requests
    rows = stored(clean_warehouse)
    # each request was told its own row, committed by the time it was told
    assert [(row_id, False) for row_id, *_ in rows] == answers
    assert [entity for _, entity, *_ in rows] == [str(n) for n in range(40)]
    assert {status for *_, status in rows} == {"pending"}


def test_a_redelivery_inside_a_group_is_one_row_counted_twice(store, clean_warehouse):
    commits = GroupCommit(clean_warehouse)
    first, again, other = item_event("7"), item_event("7"), item_event("8")

    answers = together(commits, [first, again, other])
    commits.close()

    assert answers[0][1] is False and answers[1][1] is True  # the second is the redelivery
    assert answers[0][0] == answers[1][0]
    assert [(entity, deliveries) for _, entity, deliveries, _ in stored(clean_warehouse)] == [
        ("7", 2),
        ("8", 1),
    ]


def test_an_event_postgres_refuses_fails_only_its_own_request(store, clean_warehouse):
    commits = GroupCommit(clean_warehouse)
    refused = dataclasses.replace(item_event("bad"), body_bytes=2**40)  # over `integer`
    events = [item_event("1"), refused, item_event("2")]

    answers = together(commits, events)
    commits.close()

    assert isinstance(answers[1], psycopg2.DataError)  # its request answers 503
    assert [entity for _, entity, *_ in stored(clean_warehouse)] == ["1", "2"]
    assert [row_id for row_id, *_ in stored(clean_warehouse)] == [answers[0][0], answers[2][0]]


def test_a_connection_the_warehouse_dropped_is_opened_again(store, clean_warehouse):
    commits = GroupCommit(clean_warehouse)
    together(commits, [item_event("1")])
    admin = connect(clean_warehouse)
    try:
        with admin.cursor() as cur:  # a restart, as far as the writer's connection knows
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where application_name = 'zoho_books webhooks' and pid <> pg_backend_pid()"
            )
    finally:
        admin.close()

    (answer,) = together(commits, [item_event("2")])
    commits.close()

    assert not isinstance(answer, BaseException)
    assert [entity for _, entity, *_ in stored(clean_warehouse)] == ["1", "2"]
