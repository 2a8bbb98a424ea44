"""`python -m loader serve` and `python -m loader webhooks list|replay|discard`.

`add_commands` adds both to the loader's parser; `main` runs them. Exit codes as the rest
of the CLI (docs/configuration.md): 0 ok, 1 unexpected, 2 configuration error or an event
that cannot be replayed/discarded, 6 the warehouse cannot be reached.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timezone
from typing import Any

import psycopg2

from loader import warehouse
from loader.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNEXPECTED, ConfigError
from loader.webhooks.store import DISCARDABLE, REPLAYABLE, Store

log = logging.getLogger("loader.webhooks")

# docs/configuration.md: the warehouse cannot be reached (loader.errors will name it).
EXIT_WAREHOUSE = 6
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
STATUSES = ("pending", "applied", "ignored", "dead", "discarded", "rejected", "malformed")


def add_commands(commands: Any) -> None:
    """Add `serve` and `webhooks` to the loader's subcommands."""
    serve = commands.add_parser(
        "serve", help="run the webhook receiver (POST /webhooks/zoho/{module}, /health, /metrics)"
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")

    hooks = commands.add_parser("webhooks", help="list, replay or discard stored webhook events")
    actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="stored events, newest first")
    listing.add_argument(
        "--status", action="append", choices=STATUSES, help="only these statuses (repeatable)"
    )
    listing.add_argument("--limit", type=int, default=20, help="events to show (default 20)")
    for name, allowed, verb in (
        ("replay", REPLAYABLE, "apply again (attempts reset)"),
        ("discard", DISCARDABLE, "give up on"),
    ):
        action = actions.add_parser(name, help=f"{verb} events that are {' or '.join(allowed)}")
        which = action.add_mutually_exclusive_group(required=True)
        which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID")
        which.add_argument("--all-dead", action="store_true", help="every dead-lettered event")


def main(args: argparse.Namespace) -> int:
    try:
        if args.command == "serve":
            return serve(args.host, args.port)
        return manage(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except warehouse.WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"error: the warehouse cannot be reached ({first}): check the PG* variables and "
            "that PostgreSQL is running",
            file=sys.stderr,
        )
        return EXIT_WAREHOUSE


def serve(host: str, port: int) -> int:
    """Run the receiver until SIGTERM/SIGINT; uvicorn then stops accepting, finishes the
    requests in flight (each commits before it answers) and runs the shutdown."""
    import uvicorn

    from loader.webhooks.app import create_app
    from loader.webhooks.settings import read_settings

    settings = read_settings()
    pg = warehouse.connection_env()
    store = Store(pg)
    store.ensure()  # fail here, with one line, rather than inside uvicorn's startup
    app = create_app(settings, pg, store)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # The access log would print query strings, which may carry the shared token.
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    server = uvicorn.Server(config)
    server.run()
    return EXIT_OK if server.started else EXIT_UNEXPECTED


def manage(args: argparse.Namespace) -> int:
    store = Store(warehouse.connection_env(), size=1)
    try:
        store.ensure()
        if args.action == "list":
            _print_events(store.list(args.status, args.limit))
            return EXIT_OK
        allowed, to_status = (
            (REPLAYABLE, "pending") if args.action == "replay" else (DISCARDABLE, "discarded")
        )
        if args.all_dead:
            moved = store.set_status(None, ("dead",), to_status)
            print(f"{args.action}: {len(moved)} dead-lettered event(s) {_ids(moved)}")
            return EXIT_OK
        moved = store.set_status(args.ids, allowed, to_status)
        print(f"{args.action}: {len(moved)} event(s) {_ids(moved)}")
        left = sorted(set(args.ids) - set(moved))
        if not left:
            return EXIT_OK
        found = store.statuses_of(left)
        for event_id in left:
            status = found.get(event_id)
            why = "no such event" if status is None else f"it is {status}"
            print(
                f"error: event {event_id} not {args.action}ed: {why} (only "
                f"{' or '.join(allowed)} events can be)",
                file=sys.stderr,
            )
        return EXIT_CONFIG
    finally:
        store.close()


def _ids(ids: list[int]) -> str:
    return "" if not ids else "(" + ", ".join(map(str, ids)) + ")"


def _print_events(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no webhook events")
        return
    print(
        f"{'id':>8}  {'received (UTC)':<19}  {'module':<9} {'event':<8} {'record':<20} "
        f"{'status':<9} {'tries':>5} {'sent':>4}  detail"
    )
    for row in rows:
        detail = row["last_error"] or ("" if row["result"] == "accepted" else row["result"])
        received = row["received_at"].astimezone(timezone.utc)
        print(
            f"{row['id']:>8}  {received:%Y-%m-%d %H:%M:%S}  {row['module']:<9} "
            f"{row['event_type'] or '-':<8} {row['entity_id'] or '-':<20} {row['status']:<9} "
            f"{row['attempts']:>5} {row['deliveries']:>4}  {detail}"
        )
