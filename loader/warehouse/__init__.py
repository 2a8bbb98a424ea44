"""Which PostgreSQL the project talks to: an external one named by libpq's PG* variables,
or, when PGHOST is unset, an embedded PostgreSQL 16 (pgserver) kept under `.local/`.

Both dlt and dbt read the same five variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
PGDATABASE), so `python -m loader.warehouse exec -- <command>` is all a Makefile target
needs to point any tool at the warehouse in use.

    python -m loader.warehouse env            print `export PG...=` lines
    python -m loader.warehouse exec -- CMD    run CMD with the PG* variables set
    python -m loader.warehouse psql [ARGS]    open psql on the warehouse
    python -m loader.warehouse stop           stop the embedded server (if running)

`exec --analyst` and `psql --analyst` (make psql, docs, report) use the demo's database
`zoho_demo` while only it has marts (see `analyst_database`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loader.errors import WarehouseUnreachable
from loader.names import ROOT, analytics_schema

# platformdirs (used by pgserver) warns when XDG_RUNTIME_DIR is unset, as under cron and CI.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

EMBEDDED_DIR = Path(os.environ.get("EMBEDDED_PG_DIR", ROOT / ".local" / "pgdata"))
DEFAULT_DATABASE = "zoho"
# `make demo`'s database in the embedded server (loader.job --demo).
DEMO_DATABASE = "zoho_demo"
# libpq and dlt insist on a password even where the embedded server trusts the socket.
EMBEDDED_PASSWORD = "postgres"


class WarehouseError(RuntimeError):
    """A warehouse problem a user can fix; printed as one line."""


def is_embedded(environ: Mapping[str, str] | None = None) -> bool:
    """The embedded server is used exactly when PGHOST is not set."""
    env = os.environ if environ is None else environ
    return not env.get("PGHOST")


def _embedded_server(data_dir: Path = EMBEDDED_DIR):
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - setup problem
        raise WarehouseError(
            "PGHOST is not set and the embedded PostgreSQL (pgserver) is not installed: "
            "run `make setup`, or set PGHOST to use an external PostgreSQL"
        ) from exc
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    created = not (data_dir / "PG_VERSION").exists()
    # cleanup_mode=None: the server outlives this process, so every make target, dbt and
    # psql share one server; `make db-stop` stops it.
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    configure_embedded(server, data_dir, embedded_settings(_total_memory()), restart=created)
    _close_local_dir(data_dir.parent)
    return server


def _close_local_dir(local: Path) -> None:
    """`.local/` (the data directory's parent) owner-only again: run as root, pgserver opens
    every folder above the data directory to its own user (g+rx, o+rx); it needs only to
    pass through (0711). Any other parent (EMBEDDED_PG_DIR elsewhere) is left alone."""
    if local.name != ".local" or local.stat().st_uid != os.geteuid():
        return
    local.chmod(0o711 if os.geteuid() == 0 else 0o700)


def _total_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def embedded_settings(total_memory: int) -> dict[str, str]:
    """What the embedded server runs with beyond PostgreSQL's defaults (docs/decisions.md,
    "The embedded server's settings"): a quarter of the memory for its page cache, from
    PostgreSQL's default 128 MB up to 2 GB, and checkpoints every 4 GB of WAL instead of
    every 1 GB, so a build re-writing gigabytes is not slowed by a checkpoint each minute."""
    megabytes = min(max(total_memory // 4 // 2**20, 128), 2048)
    return {"shared_buffers": f"{megabytes}MB", "max_wal_size": "4GB"}


def configure_embedded(server, data_dir: Path, settings: dict[str, str], restart: bool) -> None:
    """Write `settings` to the server's postgresql.auto.conf where they differ, and apply
    them: at once where PostgreSQL can, shared_buffers at the next start. `restart` (a
    data directory created by this call, so no one else is connected yet) restarts now."""
    current = server.psql(
        "\\pset format unaligned\n\\pset tuples_only on\n"
        "select name || '=' || setting from pg_file_settings"
        " where sourcefile like '%/postgresql.auto.conf';\n"
    )
    stored = dict(line.split("=", 1) for line in current.splitlines() if "=" in line)
    changed = {name: value for name, value in settings.items() if stored.get(name) != value}
    if not changed:
        return
    server.psql(
        "".join(f"alter system set {name} = '{value}';\n" for name, value in changed.items())
        + "select pg_reload_conf();\n"
    )
    if restart:
        _pg_ctl(data_dir, "-l", str(data_dir / "log"), "restart")


def _socket_dir(server) -> str:
    uri = server.get_uri()
    if "host=" not in uri:  # pragma: no cover - pgserver fell back to TCP
        raise WarehouseError(f"unexpected embedded PostgreSQL address {uri}")
    return uri.split("host=", 1)[1].split("&", 1)[0]


def ensure_database(server, database: str) -> None:
    """Create `database` in the embedded server if it does not exist yet."""
    if not database.replace("_", "").isalnum():
        raise WarehouseError(f"PGDATABASE={database!r}: use letters, digits and underscores")
    exists = server.psql(f"select 1 from pg_database where datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'create database "{database}";')


def connection_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The PG* variables of the warehouse in use, starting the embedded one if needed."""
    env = dict(os.environ if environ is None else environ)
    if not is_embedded(env):
        missing = [name for name in ("PGUSER", "PGDATABASE") if not env.get(name)]
        if missing:
            raise WarehouseError(
                f"PGHOST is set but {', '.join(missing)} is not: set it, "
                "or unset PGHOST to use the embedded PostgreSQL"
            )
        return {
            "PGHOST": env["PGHOST"],
            "PGPORT": env.get("PGPORT", "5432"),
            "PGUSER": env["PGUSER"],
            "PGPASSWORD": env.get("PGPASSWORD", ""),
            "PGDATABASE": env["PGDATABASE"],
        }
    server = _embedded_server()
    database = env.get("PGDATABASE") or DEFAULT_DATABASE
    ensure_database(server, database)
    return {
        "PGHOST": _socket_dir(server),
        "PGPORT": "5432",
        "PGUSER": "postgres",
        "PGPASSWORD": EMBEDDED_PASSWORD,
        "PGDATABASE": database,
    }


def _has_schema(pg: dict[str, str], database: str, schema: str) -> bool:
    """Whether `database` (on pg's server) exists and has `schema`."""
    try:
        conn = connect({**pg, "PGDATABASE": database}, "zoho_books analyst")
    except WarehouseUnreachable:  # no such database
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_namespace where nspname = %s", (schema,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def analyst_database(pg: dict[str, str], environ: dict[str, str] | None = None) -> str | None:
    """The database an analyst's command means when it names none: after `make demo` on a
    fresh clone only `zoho_demo` has marts, and `make psql` on the empty `zoho` would show
    nothing. So with the embedded server and PGDATABASE unset, `zoho_demo` when `zoho` has
    no marts schema (ANALYTICS_SCHEMA, default analytics) and `zoho_demo` has one; None (keep
    `pg`'s database) otherwise. `pg` is connection_env()'s result."""
    env = os.environ if environ is None else environ
    if env.get("PGDATABASE") or not is_embedded(env):
        return None
    schema = analytics_schema(env)
    if _has_schema(pg, pg["PGDATABASE"], schema) or not _has_schema(pg, DEMO_DATABASE, schema):
        return None
    return DEMO_DATABASE


def describe(pg: dict[str, str]) -> str:
    """The warehouse in words, for logs and job records: `database on host:port`."""
    return f"{pg['PGDATABASE']} on {pg['PGHOST']}:{pg['PGPORT']}"


def connect(pg: dict[str, str], application_name: str = "zoho_books") -> Any:
    """An autocommit psycopg2 connection to `pg`; a refused connection, login or database
    is a one-line WarehouseUnreachable naming the cause and the variable to fix."""
    import psycopg2

    timeout = {} if os.environ.get("PGCONNECT_TIMEOUT") else {"connect_timeout": 15}
    try:
        conn = psycopg2.connect(
            host=pg["PGHOST"],
            port=pg["PGPORT"],
            user=pg["PGUSER"],
            password=pg["PGPASSWORD"],
            dbname=pg["PGDATABASE"],
            application_name=application_name,
            **timeout,
        )
    except psycopg2.OperationalError as exc:
        raise unreachable(exc, pg) from None
    conn.autocommit = True
    return conn


def unreachable(exc: BaseException, pg: dict[str, str]) -> WarehouseUnreachable:
    """libpq's connection error as one line: what failed, and which PG* variable fixes it."""
    text = " ".join(str(exc).split())
    where = f"PostgreSQL at {pg['PGHOST']}:{pg['PGPORT']}"
    user, database = pg["PGUSER"], pg["PGDATABASE"]
    causes = [
        (
            "password authentication failed",
            f"{where} rejected the password of user {user!r}: "
            "check PGPASSWORD (or ~/.pgpass) and PGUSER",
        ),
        ("no password supplied", f"{where} asks user {user!r} for a password: set PGPASSWORD"),
        (f'role "{user}" does not exist', f"{where} has no user {user!r}: check PGUSER"),
        (
            f'database "{database}" does not exist',
            f"{where} has no database {database!r}: "
            f"create it (createdb {database}) or fix PGDATABASE",
        ),
        ("could not translate host name", f"unknown host {pg['PGHOST']!r}: check PGHOST"),
        (
            "Connection refused",
            f"{where} refuses connections: is the server running? check PGHOST and PGPORT",
        ),
        (
            "No such file or directory",
            f"{where} is not running (no socket): start it, or check PGHOST and PGPORT",
        ),
        (
            "timeout expired",
            f"{where} did not answer in time: check PGHOST, PGPORT and the "
            "network (PGCONNECT_TIMEOUT sets the wait)",
        ),
        (
            "no pg_hba.conf entry",
            f"{where} does not accept user {user!r} from this host "
            "(pg_hba.conf): ask its administrator, or check PGUSER and PGSSLMODE",
        ),
        ("SSL", f"{where}: TLS failed ({text[:200]}): check PGSSLMODE and the certificates"),
    ]
    for needle, message in causes:
        if needle in text:
            return WarehouseUnreachable(f"warehouse unreachable: {message}")
    return WarehouseUnreachable(f"warehouse unreachable: {where}: {text[:300]}")


def dlt_credentials(pg: dict[str, str]) -> str:
    """A dlt/psycopg2 connection string for `pg` (from `connection_env`).

    The host goes in the query string: dlt would otherwise mangle a unix-socket directory
    into the database name."""
    from urllib.parse import quote

    user, password = quote(pg["PGUSER"], safe=""), quote(pg["PGPASSWORD"] or "-", safe="")
    return (
        f"postgresql://{user}:{password}@localhost:{pg['PGPORT']}/{quote(pg['PGDATABASE'])}"
        f"?host={quote(pg['PGHOST'], safe='')}"
    )


def stop_embedded(data_dir: Path = EMBEDDED_DIR) -> bool:
    """Stop the embedded server; False when none was running."""
    if not (data_dir / "postmaster.pid").exists():
        return False
    _pg_ctl(data_dir, "stop")
    return True


def _pg_ctl(data_dir: Path, *args: str) -> None:
    """pg_ctl on the embedded server, as the owner of its data directory; fast shutdown
    (open connections are closed), waiting until done."""
    # pgserver exports each server binary as a function at its top level (made at import:
    # invisible to mypy); tests/unit/test_warehouse.py fails if it stops doing so
    from pgserver import pg_ctl  # type: ignore[attr-defined]

    pg_ctl(["-m", "fast", "-w", *args], pgdata=data_dir, user=_data_dir_owner(data_dir))


def _data_dir_owner(data_dir: Path) -> str | None:
    """pgserver runs the server as an unprivileged user when started as root."""
    if os.geteuid() != 0:
        return None
    import pwd

    return pwd.getpwuid(data_dir.stat().st_uid).pw_name


def _psql_binary() -> str:
    import pgserver

    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    return str(bundled) if bundled.exists() else (shutil.which("psql") or "psql")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "env"
    if command not in ("env", "exec", "psql", "stop"):
        print(f"error: unknown command {command!r} (env, exec, psql, stop)", file=sys.stderr)
        return 2
    try:
        if command == "stop":
            stopped = stop_embedded()
            print(f"embedded PostgreSQL {'stopped' if stopped else 'not running'}")
            return 0
        pg = connection_env()
        if args and args[0] == "--analyst":
            args.pop(0)
            database = analyst_database(pg)
            if database:
                print(
                    f"note: database {pg['PGDATABASE']} has no marts yet; using the demo's "
                    f"{database} (set PGDATABASE to choose)",
                    file=sys.stderr,
                )
                pg = {**pg, "PGDATABASE": database}
            # an analyst's answer is only as good as knowing where it came from
            print(f"reading {describe(pg)}", file=sys.stderr)
        if command == "env":
            for name, value in pg.items():
                print(f"export {name}={shlex.quote(value)}")
            return 0
        if command in ("exec", "psql"):
            if args and args[0] == "--":
                args.pop(0)
            if command == "psql":
                args = [_psql_binary(), *args]
            if not args:
                raise WarehouseError("usage: python -m loader.warehouse exec -- COMMAND [ARGS]")
            return subprocess.call(args, env={**os.environ, **pg})
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {command!r}")  # every command returns above
