"""The one advisory lock per warehouse and organization, and how the job lends it to the
loader run it starts.

PostgreSQL advisory locks belong to a session, not to a process tree: the job
(`python -m loader.job`) holds the lock on its own connection for the whole job (load, dbt
build, freshness), so the `python -m loader run` it starts cannot take it again. The job
tells its child which backend holds the lock (`ZOHO_BOOKS_LOCK_HOLDER`, the backend's pid),
and the child checks in `pg_locks` that this backend really holds this key before it goes
on without taking it: a stale or forged variable only means the child tries the lock
itself, as usual.
"""

from __future__ import annotations

import os
from typing import Any

LOCK_HOLDER_ENV = "ZOHO_BOOKS_LOCK_HOLDER"


def _key_parts(key: int) -> tuple[int, int]:
    """A bigint advisory key as pg_locks shows it: classid (high half), objid (low half)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def held_by(conn: Any, key: int, backend_pid: int) -> bool:
    """Whether backend `backend_pid` holds the advisory lock `key` (in this database)."""
    classid, objid = _key_parts(key)
    with conn.cursor() as cursor:
        cursor.execute(
            """
            select exists (
                select 1 from pg_locks
                where locktype = 'advisory' and granted and objsubid = 1
                  and database = (select oid from pg_database where datname = current_database())
                  and pid = %s and classid::bigint = %s and objid::bigint = %s
            )
            """,
            (backend_pid, classid, objid),
        )
        return bool(cursor.fetchone()[0])


def try_lock(conn: Any, key: int, environ: dict[str, str] | None = None) -> bool:
    """Take the advisory lock `key` on `conn`'s session, or find it lent by the parent job.

    False when another session holds it. The lock ends with the session (conn.close())."""
    env = os.environ if environ is None else environ
    holder = env.get(LOCK_HOLDER_ENV, "")
    if holder.isdigit() and held_by(conn, key, int(holder)):
        return True
    with conn.cursor() as cursor:
        cursor.execute("select pg_try_advisory_lock(%s)", (key,))
        return bool(cursor.fetchone()[0])


def lend(conn: Any) -> dict[str, str]:
    """The environment that lends `conn`'s locks to a child process."""
    return {LOCK_HOLDER_ENV: str(conn.get_backend_pid())}
