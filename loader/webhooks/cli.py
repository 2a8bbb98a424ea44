"""`python -m loader serve` and `python -m loader webhooks list|replay|discard`.

`add_commands` adds both to the loader's parser; `main` runs them. Exit codes as the rest
of the CLI (docs/configuration.md): 0 ok, 1 unexpected, 2 configuration error or an event
that cannot be replayed/discarded, 6 the warehouse cannot be reached.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import timezone
from functools import partial
from pathlib import Path
from typing import Any

import psycopg2

from loader import warehouse
from loader.errors import (
    EXIT_ALREADY_RUNNING,
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNEXPECTED,
    EXIT_WAREHOUSE_UNREACHABLE,
    LoaderError,
)
from loader.warehouse.webhook_events import DISCARDABLE, REPLAYABLE, Store
from loader.webhooks.metrics import Metrics
from loader.webhooks.worker import Worker, Workers

log = logging.getLogger("loader.webhooks")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_SYNC_LOG = Path(".local") / "job.log"
STATUSES = ("pending", "applied", "ignored", "dead", "discarded", "rejected", "malformed")


def add_commands(commands: Any) -> None:
    """Add `serve` and `webhooks` to the loader's subcommands."""
    serve = commands.add_parser(
        "serve", help="run the webhook receiver (POST /webhooks/zoho/{module}, /health, /metrics)"
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--sync-log",
        type=Path,
        default=DEFAULT_SYNC_LOG,
        metavar="FILE",
        help=f"the log of jobs started by POST /sync (default {DEFAULT_SYNC_LOG}, as cron's)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="only receive and store events (apply them with `webhooks apply` or another `serve`)",
    )

    hooks = commands.add_parser("webhooks", help="list, replay or discard stored webhook events")
    actions = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="stored events, newest first")
    listing.add_argument(
        "--status", action="append", choices=STATUSES, help="only these statuses (repeatable)"
    )
    listing.add_argument("--limit", type=int, default=20, help="events to show (default 20)")
    apply = actions.add_parser(
        "apply", help="apply the due pending events now, then exit (what `serve` does)"
    )
    apply.add_argument(
        "--no-build",
        action="store_true",
        help="do not rebuild the marts (the next job's dbt build does)",
    )
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
            return serve(args.host, args.port, worker=not args.no_worker, sync_log=args.sync_log)
        if args.action == "apply":
            return apply_now(build=not args.no_build)
        return manage(args)
    except LoaderError as exc:
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
        return EXIT_WAREHOUSE_UNREACHABLE


def worker_factory(
    pg: dict[str, str], build: bool = True
) -> tuple[Callable[[Store, Metrics], Workers], dict[str, Any]]:
    """What makes the workers, one per configured organization, with every setting
    resolved now: each organization's loader settings (its lock, its API credentials for
    completing payloads; a ConfigError names the first one missing) and the worker's.
    Also returns each organization's loader settings by organization id."""
    from loader.ops.dbt import DbtRunner
    from loader.run.dlt_state import pipelines_dir
    from loader.run.pipeline import lock_key
    from loader.webhooks.apply import DltApplier
    from loader.webhooks.config import read_worker_settings
    from loader.zoho.config import load_config, zoho_settings
    from loader.zoho.http import ZohoClient
    from loader.zoho.organizations import configured_organizations

    orgs = configured_organizations()
    if not orgs:
        load_config()  # names the missing organization_id (exit 2)
    configs = {org.key: load_config(organization=org) for org in orgs}

    def make(store: Store, metrics: Metrics) -> Workers:
        # dbt kept warm in this long-lived process: rebuilds without parsing again; one
        # rebuild at a time, whichever organization's worker asks
        runner, guard = DbtRunner(), threading.Lock()

        def rebuild(pg: dict[str, str], tables: Sequence[str]) -> None:
            with guard:
                runner.rebuild(pg, tables)

        workers = []
        for org in orgs:
            config = configs[org.key]
            settings = dataclasses.replace(read_worker_settings(config), rebuild=build)
            applier = DltApplier(
                store,
                pg,
                pipelines_dir(pg),
                client_factory=partial(lambda c: ZohoClient(zoho_settings(c)), config),
                organization=org,
            )
            workers.append(
                Worker(
                    store,
                    pg,
                    lock_key(org.key),
                    applier,
                    settings,
                    rebuild=rebuild,
                    on_round=metrics.observe_round,
                    organization_id=org.key,
                    warm=runner.warm,  # parsed when the worker starts, not at the first event
                )
            )
        return Workers(workers)

    return make, configs


def serve(host: str, port: int, worker: bool = True, sync_log: Path = DEFAULT_SYNC_LOG) -> int:
    """Run the receiver until SIGTERM/SIGINT; uvicorn then stops accepting, finishes the
    requests in flight (each commits before it answers), stops the worker after its
    round and exits."""
    import uvicorn

    from loader.webhooks.app import create_app
    from loader.webhooks.config import organization_settings, read_settings
    from loader.webhooks.sync import ManualSyncs
    from loader.zoho.organizations import configured_organizations

    pg = warehouse.connection_env()
    make_worker, configs = worker_factory(pg) if worker else (None, None)
    orgs = configured_organizations()
    served = organization_settings(orgs, configs)
    settings = served[0][1] if served else read_settings()
    store = Store(pg)
    # fail here, with one line, rather than inside uvicorn's startup
    store.ensure(orgs[0].key if orgs else None)
    syncs = ManualSyncs(dict(os.environ), warehouse.ROOT / sync_log)
    app = create_app(settings, pg, store, make_worker, syncs, served)
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


def apply_now(build: bool = True) -> int:
    """Rounds of the worker until no event is due; 75 when the scheduled job holds the
    lock."""
    pg = warehouse.connection_env()
    from loader.zoho.organizations import configured_organizations

    make_worker, _ = worker_factory(pg, build)
    orgs = configured_organizations()
    store = Store(pg, size=2)
    try:
        store.ensure(orgs[0].key if orgs else None)
        worker = make_worker(store, Metrics())
        total = 0
        while True:
            result = worker.run_once()
            if result.locked_out:
                print("error: the scheduled job holds the lock; try again", file=sys.stderr)
                return EXIT_ALREADY_RUNNING
            total += result.events
            if result.events == 0:
                break
        print(f"webhooks apply: {total} event(s) handled")
        return EXIT_OK
    finally:
        store.close()


def manage(args: argparse.Namespace) -> int:
    store = Store(warehouse.connection_env(), size=1)
    try:
        store.ensure()
        if args.action == "list":
            _print_events(store.listing(args.status, args.limit))
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
            event = found.get(event_id)
            if event is not None and args.action == "replay" and not event["applicable"]:
                print(
                    f"error: event {event_id} not replayed: it has no record to apply (the "
                    f"receiver refused its body: {event['result']}); it stays {event['status']}",
                    file=sys.stderr,
                )
                continue
            why = "no such event" if event is None else f"it is {event['status']}"
            print(
                f"error: event {event_id} not {args.action}ed: {why} (only "
                f"{' or '.join(allowed)} events can be)",
                file=sys.stderr,
            )
        return EXIT_CONFIG
    finally:
        store.close()


def print_webhook_status(organization_id: str | None = None) -> None:
    """`python -m loader status`'s lines about webhook events (of one organization, or all
    when None; none before `serve` ran)."""
    from loader.webhooks.health import webhook_counts

    counts = webhook_counts(warehouse.connection_env(), organization_id)
    if counts is None:
        return
    oldest = counts["oldest_pending"]
    since = "" if oldest is None else f" (oldest received {oldest:%Y-%m-%d %H:%M:%S %Z})"
    print(f"webhook events: {counts['pending']} pending{since}, {counts['dead']} dead-lettered")
    if counts["dead"]:
        print("  see them: python -m loader webhooks list --status dead")


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
