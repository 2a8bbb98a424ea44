"""The one advisory lock per warehouse and organization.

PostgreSQL advisory locks belong to a session: the job (`python -m loader.job`) holds the
lock on its own connection for the whole job (load, dbt build, freshness) and runs the
load in its own process on that connection (`run_sync(options, conn)`): a session may take
an advisory lock it holds once more, and the run gives that one back when it ends. A second
job, loader run or the webhook applier, on another session, finds the lock held.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _key_parts(key: int) -> tuple[int, int]:
    """pg_locks shows a bigint advisory key as (classid, objid): its high and low halves."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def try_lock(conn: Any, key: int, environ: Any = None) -> bool:
    """Take the advisory lock `key` on `conn`'s session; False when another session holds
    it. The lock ends with the session (conn.close()) or `pg_advisory_unlock`. (`environ`
    is ignored: the lock is no longer lent to a child process through the environment.)"""
    with conn.cursor() as cursor:
        cursor.execute("select pg_try_advisory_lock(%s)", (key,))
        return bool(cursor.fetchone()[0])


# ----- fairness with the webhook worker ----------------------------------------------------
# The worker (loader/webhooks/worker.py) takes the lock for one round at a time and lets go
# between rounds; its sessions carry this application_name.
WORKER_APPLICATION = "zoho_books webhook worker"
# How long a job waits behind the worker's round before it gives up (exit 75 as before).
WORKER_WAIT_SECONDS = 600
# Set by the service for a manual sync (`POST /sync`, loader/webhooks/sync.py): the job
# waits this long behind any holder (a running job too) instead of exiting 75 at once,
# and records itself under the id the service answered.
JOB_WAIT_ENV = "ZOHO_BOOKS_JOB_WAIT_SECONDS"
JOB_ID_ENV = "ZOHO_BOOKS_JOB_ID"


def holder_application(conn: Any, key: int) -> str | None:
    """The application_name of the session holding the advisory lock `key`, None if free."""
    classid, objid = _key_parts(key)
    with conn.cursor() as cursor:
        cursor.execute(
            """
            select a.application_name from pg_locks l join pg_stat_activity a using (pid)
            where l.locktype = 'advisory' and l.granted and l.objsubid = 1
              and l.database = (select oid from pg_database where datname = current_database())
              and l.classid::bigint = %s and l.objid::bigint = %s
            """,
            (classid, objid),
        )
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def lock_behind_worker(
    conn: Any,
    key: int,
    wait_seconds: float = WORKER_WAIT_SECONDS,
    environ: dict[str, str] | None = None,
) -> bool:
    """`try_lock`, except that a lock held by the webhook worker is waited for (at most
    `wait_seconds`), in PostgreSQL's lock queue: the worker lets go after its round, the
    queued request is granted first and the worker's next try fails while it is queued,
    so a stream of webhooks delays a job by at most one worker round. Another job or
    loader run holding it: False at once, as before, unless JOB_WAIT_ENV says to queue
    behind any holder (a manual sync). `conn` is autocommit."""
    env = os.environ if environ is None else environ
    queued = env.get(JOB_WAIT_ENV, "")
    if queued.isdigit():
        wait_seconds = int(queued)
    for _ in range(3):  # the holder may let go between the try and the look
        if try_lock(conn, key, environ):
            return True
        holder = holder_application(conn, key)
        if holder is None:
            continue
        if holder != WORKER_APPLICATION and not queued.isdigit():
            return False
        with conn.cursor() as cursor:
            cursor.execute("set lock_timeout = %s", (f"{int(wait_seconds * 1000)}ms",))
            try:
                cursor.execute("select pg_advisory_lock(%s)", (key,))
                return True
            except Exception as exc:  # lock_timeout: 55P03 lock_not_available
                if getattr(exc, "pgcode", None) != "55P03":
                    raise
                return False
            finally:
                cursor.execute("reset lock_timeout")
    return False


# ----- schema changes ------------------------------------------------------------------------
# One per warehouse. Two sessions running `create table if not exists` for the same new table
# at once (two organizations' first runs) fail in PostgreSQL's catalog
# (pg_type_typname_nsp_index): bookkeeping tables are created and altered in turns.
SCHEMA_LOCK_KEY = 0x7A6F686F5F64646C  # "zoho_ddl"


@contextmanager
def schema_changes(conn: Any) -> Iterator[None]:
    """Hold the warehouse's schema-change lock for the block: until the block ends on an
    autocommit session, until the transaction ends on another (its DDL commits with it)."""
    with conn.cursor() as cursor:
        if not conn.autocommit:
            cursor.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            yield
            return
        cursor.execute("select pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            cursor.execute("select pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))
