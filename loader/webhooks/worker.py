"""The worker that applies stored events, in the receiver's process (a thread).

One round:
1. take the advisory lock of the warehouse+organization (loader.run.pipeline.lock_key), the
   one the scheduled job holds: never both at once. Held elsewhere: try again later. The
   lock is let go after each round, and a job queued for it (loader/warehouse/locking.py,
   `lock_behind_worker`) gets it before the next round: a job waits one round at most;
2. read up to `batch_size` due `pending` events, oldest first;
3. apply them through dlt into the raw tables (loader/webhooks/apply.py): per event
   `applied`, `ignored` (older than what the tables hold, or superseded in the batch),
   `dead` at once (it cannot be applied, the reason kept) or failed: retried with
   exponential backoff, `dead` after `max_attempts`;
4. rebuild the marts downstream of the tables that changed (`dbt build --select
   source:zoho_books.<table>+`), still under the lock. A failed build is retried next round.
   While events keep coming (a round took a full batch, or the receiver stored more during
   the round), the rebuild waits for the round after which none came, at most
   REBUILD_DEFER_SECONDS after the first change not yet built: one build for a burst
   instead of one per batch, and no build competing with the receiver during the burst.

The worker wakes when the receiver stores an event for it (`wake`), and otherwise looks for
due events every `idle_seconds` (retries, events another receiver stored). While events
keep arriving it waits for a quiet moment (SETTLE_QUIET_SECONDS, at most SETTLE_MAX_SECONDS)
before its round. It warms dbt up (`warm`: parses the project) when it starts, before the
first event needs a build; `ready` is set then.

Each organization has its own worker (its own thread, lock, events, API client and dlt
pipeline): `Workers` runs them side by side, so one organization's job holding its lock
never holds up another's events.

A worker killed anywhere leaves its events `pending` (they are marked only after their
rows are committed) and the next round applies them again: writes are idempotent
merges, and dlt packages a killed round left behind are dropped, not loaded late.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2

from loader import warehouse
from loader.errors import reason
from loader.ops import dbt
from loader.warehouse import locking, worker_api_calls
from loader.warehouse.webhook_events import Store
from loader.webhooks.config import WorkerSettings

log = logging.getLogger("loader.webhooks.worker")

DBT_SOURCE = "zoho_books"
# While a backlog drains, the marts are rebuilt once it is drained, or when the first change
# not yet built is this old (a steady flood still reaches the marts).
REBUILD_DEFER_SECONDS = 20.0
# Events arriving back to back (a burst): the round waits until none came for SETTLE_QUIET
# seconds, at most SETTLE_MAX: fuller rounds, and the receiver keeps the CPU meanwhile
# (senders want their 2xx within seconds; applying can wait a little). A flood still gets a
# round every SETTLE_MAX seconds. Measured on 2 cores (2,000 events from 8 clients): 1 s
# let rounds take the CPU mid-burst, 480-870 events/s acknowledged; 5 s, 730-1,260.
SETTLE_QUIET_SECONDS = 0.05
SETTLE_MAX_SECONDS = 5.0


@dataclass
class Outcome:
    """What became of one event in a round."""

    status: str  # applied | ignored | failed (retried) | dead (set aside alone, the reason)
    note: str | None = None


@dataclass
class RoundResult:
    events: int = 0
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    changed_tables: set[str] = field(default_factory=set)
    locked_out: bool = False
    api_calls: int = 0  # GETs made to complete events (Zoho's quota counts them)


Applier = Callable[[list[dict[str, Any]]], tuple[dict[int, Outcome], set[str]]]


def dbt_rebuild(pg: dict[str, str], tables: Sequence[str]) -> None:
    """`dbt build` of the models, tests and snapshots downstream of `tables` (raises on a
    failed build). dbt runs as its own process, as in the job."""
    selectors = [f"source:{DBT_SOURCE}.{table}+" for table in sorted(tables)]
    argv = dbt.command(*dbt.BUILD, "--no-write-json")
    env = {**os.environ, **pg}
    env.setdefault("DBT_PROFILES_DIR", str(warehouse.ROOT))
    # Its own target directory: the job's dbt may be parsing in the default one.
    env.setdefault("DBT_TARGET_PATH", str(warehouse.ROOT / ".local" / "webhooks-dbt-target"))
    done = subprocess.run(
        [*argv, "--select", *selectors],
        cwd=warehouse.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = [line for line in done.stdout.splitlines() if "ERROR" in line or "FAIL" in line]
        raise RuntimeError(
            f"dbt build of {', '.join(selectors)} failed (exit {done.returncode}): "
            + ("; ".join(tail[-3:]) or "see dbt's log")
        )


class Worker:
    def __init__(
        self,
        store: Store,
        pg: dict[str, str],
        lock_key: int,
        applier: Applier,
        settings: WorkerSettings,
        rebuild: Callable[[dict[str, str], Sequence[str]], None] = dbt_rebuild,
        on_round: Callable[[RoundResult, list[dict[str, Any]]], None] | None = None,
        organization_id: str | None = None,
        warm: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.store = store
        # whose events it applies (None: every event, one organization not named)
        self.organization_id = organization_id
        self.pg = pg
        self.lock_key = lock_key
        self.applier = applier
        self.settings = settings
        self.rebuild = rebuild
        self.on_round = on_round
        self.warm = warm  # readies the rebuild before the first event (dbt's parse)
        self.stale_tables: set[str] = set()  # applied, marts not yet rebuilt
        self._stale_since = 0.0  # when the oldest change not yet rebuilt was applied
        self._rebuild_failures = 0
        self._rebuild_not_before = 0.0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.ready = threading.Event()  # warmed up (or nothing to warm): rounds begin
        self._thread: threading.Thread | None = None

    # ----- the thread --------------------------------------------------------------------
    def start(self) -> None:
        name = "webhook-worker" + (f"-{self.organization_id}" if self.organization_id else "")
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        """Finish the round in progress and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """An event was stored for this worker: look now rather than at the next poll."""
        self._wake.set()

    def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or until woken (`wake`, `stop`); then let a burst come in."""
        if self._wake.wait(seconds):
            self._wake.clear()
            self._settle()

    def _settle(self) -> None:
        """While the receiver keeps storing events (each wakes the worker), wait for a
        quiet moment, at most SETTLE_MAX_SECONDS: a lone event waits SETTLE_QUIET_SECONDS."""
        until = time.monotonic() + SETTLE_MAX_SECONDS
        while not self._stop.is_set() and time.monotonic() < until:
            if not self._wake.wait(SETTLE_QUIET_SECONDS):
                return
            self._wake.clear()

    def _loop(self) -> None:
        if self.warm is not None and self.settings.rebuild:
            try:
                self.warm(self.pg)
            except Exception as exc:  # the first build parses (and says why it fails) then
                log.warning("could not warm dbt up (the first rebuild parses): %s", reason(exc))
        self.ready.set()
        failures = 0
        while not self._stop.is_set():
            try:
                result = self.run_once()
                failures = 0
            except Exception:  # a broken round must not end the service; it retries
                failures += 1
                log.exception("webhook worker round failed (%d in a row)", failures)
                self._stop.wait(min(60.0, self.settings.idle_seconds * 2**failures))
                continue
            if result.events == 0 or result.locked_out:
                self._pause(self.settings.idle_seconds)
            elif self._wake.is_set():  # more came during the round: a burst, let it come
                self._wake.clear()
                self._settle()

    # ----- one round ---------------------------------------------------------------------
    def run_once(self) -> RoundResult:
        waiting = self.stale_tables and time.monotonic() >= self._rebuild_not_before
        if not waiting and not self.store.has_due(self.organization_id):
            return RoundResult()  # idle: no lock, no connection of its own
        conn = psycopg2.connect(**_connect_kwargs(self.pg))
        conn.autocommit = True
        try:
            if not locking.try_lock(conn, self.lock_key, environ={}):
                log.debug("the scheduled job holds the lock; events wait")
                return RoundResult(locked_out=True)
            try:
                return self._locked_round()
            finally:
                # Explicitly: a closed connection's locks go only when its backend has
                # exited, which the next round (or the job) could race.
                with conn.cursor() as cur:
                    cur.execute("select pg_advisory_unlock(%s)", (self.lock_key,))
        finally:
            conn.close()

    def _locked_round(self) -> RoundResult:
        self._wake.clear()  # set again if the receiver stores an event during the round
        events = self.store.due(self.settings.batch_size, self.organization_id)
        result = RoundResult(events=len(events))
        if events:
            started = time.monotonic()
            calls_before = getattr(self.applier, "api_calls", 0)
            try:
                result.outcomes, result.changed_tables = self.applier(events)
            except Exception as exc:  # the whole load failed: every event of it retries
                note = reason(exc)
                log.warning("applying %d event(s) failed: %s", len(events), note)
                result.outcomes = {e["id"]: Outcome("failed", note) for e in events}
            # Stale before the events say applied: whoever sees no pending event and no
            # stale table knows the marts are built.
            if result.changed_tables and not self.stale_tables:
                self._stale_since = time.monotonic()
            self.stale_tables = self.stale_tables | result.changed_tables
            result.api_calls = getattr(self.applier, "api_calls", 0) - calls_before
            self._spent(result.api_calls)
            self._record(events, result.outcomes)
            log.info(
                "applied %d event(s) in %.1f s: %s; %d API call(s)",
                len(events),
                time.monotonic() - started,
                _summary(result.outcomes),
                result.api_calls,
            )
        due = time.monotonic() >= self._rebuild_not_before
        # more are waiting: build once they are applied too (unless the wait grew long)
        more = len(events) >= self.settings.batch_size or self._wake.is_set()
        backlog = more and time.monotonic() - self._stale_since < REBUILD_DEFER_SECONDS
        if self.stale_tables and self.settings.rebuild and (events or due) and not backlog:
            tables = sorted(self.stale_tables)
            try:
                self.rebuild(self.pg, tables)
                self.stale_tables = set()  # a new set: /health reads it meanwhile
                self._rebuild_failures = 0
            except Exception as exc:
                # retried with the next events, or after a growing pause (10 s ... 10 min)
                self._rebuild_failures += 1
                pause = min(600.0, 10.0 * 2 ** (self._rebuild_failures - 1))
                self._rebuild_not_before = time.monotonic() + pause
                log.error("rebuilding the marts failed (retried later): %s", reason(exc))
        if self.on_round is not None:
            self.on_round(result, events)
        return result

    def _spent(self, calls: int) -> None:
        """The round's GETs completing events, where the budget planner reads what the
        organization's quota day has spent (loader/warehouse/worker_api_calls.py)."""
        organization_id = getattr(self.applier, "organization_id", None)
        if calls and organization_id:
            with self.store.cursor() as cur:
                worker_api_calls.record(cur.connection, organization_id, calls)

    def _record(self, events: list[dict[str, Any]], outcomes: dict[int, Outcome]) -> None:
        by_status: dict[str, list[tuple[int, str | None]]] = {}
        for event in events:
            outcome = outcomes.get(event["id"], Outcome("failed", "no outcome"))
            by_status.setdefault(outcome.status, []).append((event["id"], outcome.note))
        s = self.settings
        for status, rows in by_status.items():
            if status == "failed":
                self.store.fail(rows, s.max_attempts, s.retry_seconds, s.max_retry_seconds)
            elif status == "dead":  # cannot be applied whatever the retries
                self.store.bury(rows)
            else:
                self.store.finish(rows, status)


class Workers:
    """Every organization's worker, started, stopped and asked together (what the
    receiver runs and `/health` reads)."""

    def __init__(self, workers: Sequence[Worker]) -> None:
        self.workers = list(workers)

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def wake(self, organization_id: str | None) -> None:
        """An event was stored for `organization_id` (None: not named): its worker looks
        now."""
        for worker in self.workers:
            if worker.organization_id in (organization_id, None):
                worker.wake()

    def stop(self, timeout: float = 60) -> None:
        """Each finishes its round in progress and stops."""
        for worker in self.workers:
            worker._stop.set()
        for worker in self.workers:
            worker.stop(timeout)

    @property
    def stale_tables(self) -> set[str]:
        return set().union(*(w.stale_tables for w in self.workers))

    @property
    def ready(self) -> bool:
        """Every worker has started its rounds (dbt warmed up)."""
        return all(w.ready.is_set() for w in self.workers)

    def run_once(self) -> RoundResult:
        """One round of each organization's worker (`webhooks apply`)."""
        total = RoundResult()
        for worker in self.workers:
            result = worker.run_once()
            total.events += result.events
            total.outcomes.update(result.outcomes)
            total.changed_tables |= result.changed_tables
            total.locked_out = total.locked_out or result.locked_out
            total.api_calls += result.api_calls
        return total


def _summary(outcomes: dict[int, Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing"


def _connect_kwargs(pg: dict[str, str]) -> dict[str, Any]:
    from loader.warehouse.webhook_events import connect_kwargs

    return {**connect_kwargs(pg), "application_name": locking.WORKER_APPLICATION}
