"""The worker's rounds (loader/webhooks/worker.py) with the real lock on PostgreSQL, its
events and its applier in memory: it warms dbt up when it starts, a stored event wakes it
at once, and a burst is rebuilt once, after its last event, not once per batch."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from loader.webhooks import worker as worker_module
from loader.webhooks.config import WorkerSettings
from loader.webhooks.worker import Outcome, Worker

LOCK_KEY = 812_250_001


class Events:
    """The store's side the worker uses, in memory: pending events, oldest first."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.finished: list[int] = []
        self.done = threading.Event()  # set when an event is finished
        self._next = 1

    def add(self, count: int = 1) -> None:
        for _ in range(count):
            self.pending.append({"id": self._next, "module": "items", "entity_id": str(self._next)})
            self._next += 1

    def has_due(self, organization_id: str | None = None) -> bool:
        return bool(self.pending)

    def due(self, limit: int, organization_id: str | None = None) -> list[dict[str, Any]]:
        return self.pending[:limit]

    def finish(self, rows: list[tuple[int, str | None]], status: str) -> None:
        ids = {event_id for event_id, _ in rows}
        self.pending = [e for e in self.pending if e["id"] not in ids]
        self.finished += sorted(ids)
        self.done.set()

    fail = bury = finish


def applier(log: list[str], during: Any = None):
    """Applies every event to `items`; `during()` runs inside the round, as a request the
    receiver stores meanwhile."""

    def apply(events: list[dict[str, Any]]) -> tuple[dict[int, Outcome], set[str]]:
        log.append(f"applied {len(events)}")
        if during is not None:
            during()
        return {e["id"]: Outcome("applied") for e in events}, {"items"}

    return apply


def make(pg_env, events: Events, log: list[str], **options: Any) -> Worker:
    apply = options.pop("apply", None) or applier(log)
    settings = WorkerSettings(batch_size=options.pop("batch_size", 200), **options)
    return Worker(
        events,  # type: ignore[arg-type]  # the store's interface, in memory
        pg_env,
        LOCK_KEY,
        apply,
        settings,
        rebuild=lambda pg, tables: log.append(f"rebuilt {','.join(tables)}"),
    )


def drain(worker: Worker) -> None:
    while worker.run_once().events:
        pass
    worker.run_once()  # the round that rebuilds when nothing is due any more


def test_the_worker_warms_dbt_up_when_it_starts_before_any_event(pg_env):
    events, log = Events(), []
    warmed: list[dict[str, str]] = []
    worker = make(pg_env, events, log, idle_seconds=600)
    worker.warm = warmed.append
    worker.start()
    try:
        assert worker.ready.wait(60)
    finally:
        worker.stop()

    assert warmed == [pg_env]  # once, with the warehouse, and no event was needed for it
    assert log == []


def test_a_worker_without_rebuilds_does_not_warm_dbt(pg_env):
    events, log = Events(), []
    warmed: list[dict[str, str]] = []
    worker = make(pg_env, events, log, idle_seconds=600, rebuild=False)
    worker.warm = warmed.append
    worker.start()
    try:
        assert worker.ready.wait(60)
    finally:
        worker.stop()
    assert warmed == []


def test_a_stored_event_wakes_the_idle_worker(pg_env):
    events, log = Events(), []
    # idle for ten minutes: only the wake-up can bring the event in within the test
    worker = make(pg_env, events, log, idle_seconds=600)
    worker.start()
    try:
        assert worker.ready.wait(60)
        events.add()
        worker.wake()
        assert events.done.wait(60), "the worker slept through the wake-up"
    finally:
        worker.stop()
    assert events.finished == [1]
    assert log[0] == "applied 1"


def test_a_burst_is_rebuilt_once_after_its_last_batch(pg_env):
    events, log = Events(), []
    events.add(5)
    worker = make(pg_env, events, log, batch_size=2)

    drain(worker)

    assert log == ["applied 2", "applied 2", "applied 1", "rebuilt items"]
    assert events.finished == [1, 2, 3, 4, 5]
    assert worker.stale_tables == set()


def test_an_event_stored_during_a_round_defers_the_rebuild_to_the_round_that_applies_it(
    pg_env,
):
    events, log = Events(), []
    events.add()
    arrivals = iter([True])  # one event arrives while the first round applies

    def receiver_stores() -> None:
        if next(arrivals, False):
            events.add()
            worker.wake()

    worker = make(pg_env, events, log, apply=applier(log, receiver_stores))

    drain(worker)

    assert log == ["applied 1", "applied 1", "rebuilt items"]


def test_a_flood_still_reaches_the_marts_after_the_longest_wait(pg_env, monkeypatch):
    monkeypatch.setattr(worker_module, "REBUILD_DEFER_SECONDS", 0.0)
    events, log = Events(), []
    events.add(4)
    worker = make(pg_env, events, log, batch_size=2)

    drain(worker)

    # every batch is full, yet the changes waited their longest: each is rebuilt
    assert log == ["applied 2", "rebuilt items", "applied 2", "rebuilt items"]


@pytest.fixture(autouse=True)
def _no_lock_left(pg_env):
    yield
    from tests.integration.conftest import connect

    conn = connect(pg_env)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and objid = %s",
                (LOCK_KEY,),
            )
            assert cur.fetchone()[0] == 0  # each round let the lock go
    finally:
        conn.close()
