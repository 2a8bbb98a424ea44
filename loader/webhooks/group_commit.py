"""Group commit: the receiver stores the events of requests that arrive together in one
transaction, and answers each once that transaction is committed.

A commit waits for PostgreSQL to write its WAL to disk (fsync); a transaction per request
makes every request wait for its own. Here one writer commits at a time: the requests that
arrive while a commit is in flight wait for the next one, which stores them all. Nothing
waits on purpose (a lone request is committed at once, as before); under a burst a commit
carries as many events as arrived during the previous one.

Durability is unchanged: a request is answered 2xx only after the commit holding its event
returned, so an acknowledged event is never lost. A process killed before that commit
answers none of its group, and Zoho delivers them again (a redelivery is recognised by its
idempotency key: `insert_many`). A group that PostgreSQL refuses is stored again one event
a transaction, so one event that cannot be stored fails only its own request (503).

The writer keeps one connection of its own (a commit reuses it), opened again when the
warehouse restarted under it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import psycopg2
from starlette.concurrency import run_in_threadpool

from loader.warehouse.webhook_events import Event, connect_kwargs, insert_many

log = logging.getLogger("loader.webhooks")

# At most this many events a commit (a larger group waits for the next one).
MAX_GROUP = 500

Stored = tuple[int, bool]  # (event id, redelivery)


class GroupCommit:
    """`await store(event)` -> (event id, redelivery), once committed (see the module)."""

    def __init__(self, pg: dict[str, str], max_group: int = MAX_GROUP) -> None:
        self.pg = pg
        self.max_group = max_group
        self.commits = 0  # transactions committed (a group each)
        self.largest_group = 0
        self._waiting: list[tuple[Event, asyncio.Future[Stored]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._conn: Any = None

    async def store(self, event: Event) -> Stored:
        """Store `event` with the others waiting; raises psycopg2.Error when it could not
        be committed (the request then answers 503, and Zoho retries)."""
        done: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # the commit goes on if the request is cancelled (the client went away)
        return await asyncio.shield(done)

    async def _write(self) -> None:
        """Commit the waiting events, a group at a time, until none wait."""
        while self._waiting:
            group = self._waiting[: self.max_group]
            del self._waiting[: self.max_group]
            events = [event for event, _ in group]
            try:
                results = await run_in_threadpool(self._commit, events)
            except Exception as exc:  # every request of the group answers 503
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(group, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, BaseException):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    def _commit(self, events: Sequence[Event]) -> list[Stored | BaseException]:
        """One transaction for `events` (in the threadpool: one at a time, the writer's)."""
        try:
            results: list[Stored | BaseException] = list(self._transaction(events))
        except psycopg2.DatabaseError as exc:
            if isinstance(exc, psycopg2.OperationalError) or len(events) == 1:
                raise
            # one event PostgreSQL refuses must not fail the group: each on its own
            log.warning("a group of %d events failed (%s): one by one", len(events), exc)
            results = []
            for event in events:
                try:
                    results.append(self._transaction([event])[0])
                except psycopg2.DatabaseError as alone:
                    results.append(alone)
        self.commits += 1
        self.largest_group = max(self.largest_group, len(events))
        return results

    def _transaction(self, events: Sequence[Event]) -> list[Stored]:
        """Insert and commit; a connection the warehouse dropped while idle (a restart)
        is opened again once."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                with conn:  # commits on leaving, rolls back on an error
                    return insert_many(conn, events)
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(**connect_kwargs(self.pg))
        return self._conn

    async def drain(self) -> None:
        """Wait for the commits in flight (at shutdown, once no request is coming)."""
        if self._writer is not None:
            await asyncio.wait([self._writer])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
