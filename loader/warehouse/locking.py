"""The one advisory lock per warehouse and organization.

PostgreSQL advisory locks belong to a session: the job (`python -m loader.job`) holds the
lock on its own connection for the whole job (load, dbt build, freshness) and runs the
load in its own process on that connection (`run_sync(options, conn)`): a session may take
an advisory lock it holds once more, and the run gives that one back when it ends. A second
job, loader run or the webhook applier, on another session, finds the lock held.
"""

from __future__ import annotations

from typing import Any


def try_lock(conn: Any, key: int, environ: Any = None) -> bool:
    """Take the advisory lock `key` on `conn`'s session; False when another session holds
    it. The lock ends with the session (conn.close()) or `pg_advisory_unlock`. (`environ`
    is ignored: the lock is no longer lent to a child process through the environment.)"""
    with conn.cursor() as cursor:
        cursor.execute("select pg_try_advisory_lock(%s)", (key,))
        return bool(cursor.fetchone()[0])
