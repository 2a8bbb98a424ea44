"""Command line of the Zoho Books loader.

    python -m loader run [--resources NAME ...] [--full-refresh] [--details-budget N]
    python -m loader status [--limit N] [--org ID]
    python -m loader health [--json] [--org ID]   (Nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    python -m loader serve [--host H] [--port P]      the webhook receiver (docs/webhooks.md)
    python -m loader webhooks list|replay|discard     stored webhook events

Exit codes: declared once in loader/errors.py (EXIT_CODES), listed by --help and in
docs/configuration.md.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# dlt reads .dlt/config.toml from its project dir, by default the working directory; make
# it this project's whatever directory cron starts us in. Must precede importing dlt.
os.environ.setdefault("DLT_PROJECT_DIR", str(Path(__file__).resolve().parent.parent))

from loader import warehouse
from loader.errors import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNEXPECTED,
    LoaderError,
    exit_codes_help,
    find_loader_error,
)
from loader.ops import local_dir
from loader.zoho.modules import ALL_RESOURCES, DEFAULT_DETAILS_BUDGET, RECONCILE_RESOURCES

log = logging.getLogger("loader")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loader",
        description="Load Zoho Books into PostgreSQL schema zoho_staging (dlt pipeline "
        "zoho_books). Settings: SOURCES__ZOHO_BOOKS__* variables or .dlt/*.toml; "
        "warehouse: PG* variables (embedded PostgreSQL when PGHOST is unset).",
        epilog=exit_codes_help(),
    )
    parser.add_argument(
        "--pipelines-dir",
        help="where dlt keeps local pipeline state (default: $DLT_PIPELINES_DIR or .local/dlt)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="load what changed in Zoho Books since the last run")
    run.add_argument(
        "--resources",
        nargs="+",
        metavar="NAME",
        help="only these resources (comma or space separated), not the API budget's plan: "
        f"{', '.join(ALL_RESOURCES + RECONCILE_RESOURCES)}",
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="ignore cursors and stored versions: re-list and re-write every record "
        "(tables, deletion marks and invoice details already read are kept)",
    )
    run.add_argument(
        "--details-budget",
        type=int,
        metavar="N",
        help="invoice detail calls allowed this run (default: SOURCES__ZOHO_BOOKS__"
        f"DETAILS_BUDGET or {DEFAULT_DETAILS_BUDGET})",
    )
    run.add_argument(
        "--pipelines-dir", dest="run_pipelines_dir", help=argparse.SUPPRESS, default=None
    )
    run.add_argument(
        "--org",
        metavar="ID",
        help="the organization to load (its organization_id or configured name); needed "
        "when several are configured (default: $ZOHO_BOOKS_ORGANIZATION or the only one)",
    )
    commands.add_parser(
        "orgs", help="the configured organizations, each with its pipeline and health line"
    )

    status = commands.add_parser(
        "status", help="last runs, cursors, pending invoice details, API calls and quota"
    )
    status.add_argument("--limit", type=int, default=10, help="runs to show (default 10)")
    health = commands.add_parser(
        "health", help="one-line health check, Nagios exit codes (see docs/operations.md)"
    )
    health.add_argument("--json", action="store_true", help="print the report as JSON")
    for command in (status, health):
        command.add_argument(
            "--org",
            metavar="ID",
            help="this organization only (its id or configured name); default: each one",
        )
    from loader.webhooks.cli import add_commands  # serve, webhooks list|replay|discard

    add_commands(commands)
    return parser


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    # requests/urllib3 debug lines would print URLs with every call; keep them quiet.
    for noisy in ("urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # the embedded PostgreSQL's start-up lines (initdb, "server is already running") are
    # not the command's output: shown with --verbose only
    logging.getLogger("pgserver").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _split(names: Sequence[str] | None) -> list[str] | None:
    if not names:
        return None
    return [part.strip() for name in names for part in name.split(",") if part.strip()]


def _print_run(result: object) -> None:
    from loader.warehouse.sync_runs import RunResult

    assert isinstance(result, RunResult)
    rows = ", ".join(f"{table} {n}" for table, n in sorted(result.rows_loaded.items()))
    print(f"run {result.run_id}: {result.status}")
    print(f"  rows written: {rows or 'none (nothing changed)'}")
    quota = "unknown" if result.quota_remaining is None else str(result.quota_remaining)
    print(
        f"  API calls: {result.api_calls} ({result.tokens_minted} access token(s) minted); "
        f"daily quota left: {quota}"
    )
    for endpoint, count in sorted(result.calls.items()):
        print(f"    {endpoint}: {count}")
    pending = "unknown" if result.details_pending is None else str(result.details_pending)
    print(f"  invoices and bills still waiting for details: {pending}")
    if result.quarantined:
        print(
            f"  records quarantined (cannot be stored as Zoho sent them): {result.quarantined};"
            " see zoho_staging.quarantine"
        )


def _print_status(report: object) -> None:
    from loader.ops.status import StatusReport

    assert isinstance(report, StatusReport)
    print(f"warehouse: {report.warehouse}")
    if report.jobs:
        print("last jobs (newest first; python -m loader.job, what cron runs):")
        for job in report.jobs[:5]:
            steps = job.get("steps") or {}
            outcome = ", ".join(
                f"{name} {steps[name].get('status')}"
                for name in ("load", "dbt_build", "snapshots", "freshness")
                if isinstance(steps.get(name), dict)
            )
            started = job.get("started_at")
            print(
                f"  {job.get('job_id')}  {job.get('status') or '-':<15}"
                f"  exit {job.get('exit_code', '-')}"
                f"  started {'-' if started is None else format(started, '%Y-%m-%d %H:%M:%S %Z')}"
                f"  {outcome}"
            )
            if job.get("error"):
                print(f"      {job.get('failed_step') or 'error'}: {job['error']}")
    if not report.runs:
        print("no runs yet")
    else:
        print("last runs (newest first):")
        for run in report.runs:
            finished = run["finished_at"]
            calls = run["api_calls"]
            quota = run["quota_remaining"]
            print(
                f"  {run['run_id']}  {run['status']:<15}"
                f"  started {run['started_at']:%Y-%m-%d %H:%M:%S %Z}"
                f"  finished {'-' if finished is None else format(finished, '%H:%M:%S')}"
                f"  calls {'-' if calls is None else calls}"
                f"  quota left {'-' if quota is None else quota}"
            )
            if run.get("quarantined"):
                print(f"      records quarantined: {run['quarantined']} (zoho_staging.quarantine)")
            if run.get("error"):
                print(f"      error: {run['error']}")
        last = report.runs[0]
        print(f"last run rows: {last.get('rows_loaded') or {}}")
        plan = last.get("plan") or {}
        if plan.get("summary"):
            print("API budget (as the last run planned it):")
            for line in plan["summary"]:
                print(f"  {line}")
    print("cursors:")
    if not report.cursors:
        print("  none yet")
    for name, value in sorted(report.cursors.items()):
        print(f"  {name}: {value}")
    pending = "unknown" if report.details_pending is None else report.details_pending
    print(f"invoices and bills still waiting for details: {pending}")
    print(
        f"retention: RETENTION_DAYS={report.retention_days} (the job deletes bookkeeping "
        "older than that; raw data and snapshots are kept)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "health":
        from loader.ops.health import main as health

        return health((["--json"] if args.json else []) + (["--org", args.org] if args.org else []))
    local_dir.secure()  # umask 077: dlt's folders, the token cache, logs owner-only
    _setup_logging(args.verbose)
    if args.command == "orgs":
        from loader.ops.organizations import main as orgs

        try:
            return orgs()
        except LoaderError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
    if args.command in ("serve", "webhooks"):
        from loader.webhooks import cli

        return cli.main(args)
    from loader.ops.status import read_status
    from loader.run.pipeline import RunOptions, run_sync

    pipelines_dir = getattr(args, "run_pipelines_dir", None) or args.pipelines_dir
    try:
        if args.command == "status":
            from loader.webhooks.cli import print_webhook_status
            from loader.zoho.organizations import (
                Organization,
                configured_organizations,
                organization,
            )

            chosen: list[Organization | None] = (
                [organization(args.org)] if args.org else list(configured_organizations())
            )
            for org in chosen or [None]:
                if len(chosen) > 1 and org is not None:
                    print(f"== organization {org.key}" + (f" ({org.name})" if org.name else ""))
                options = RunOptions(pipelines_dir=pipelines_dir)
                _print_status(read_status(options, args.limit, org))
                print_webhook_status(None if org is None else org.key)
            return EXIT_OK
        from loader.zoho.organizations import organization

        result = run_sync(
            RunOptions(
                organization=organization(args.org) if args.org else None,
                resources=_split(args.resources),
                full_refresh=args.full_refresh,
                details_budget=args.details_budget,
                pipelines_dir=pipelines_dir,
            )
        )
    except warehouse.WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_UNEXPECTED
    except Exception as exc:
        found = find_loader_error(exc)
        if found is None:
            log.exception("the run failed unexpectedly")
            return EXIT_UNEXPECTED
        print(f"error: {found}", file=sys.stderr)
        return found.exit_code
    _print_run(result)
    if result.stopped_by_quota:
        print(
            "error: Zoho's daily API quota is used up (stopped during "
            f"{', '.join(result.stopped_by_quota)}); what was fetched is loaded, the rest "
            "follows after the quota resets",
            file=sys.stderr,
        )
    return result.exit_code


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:  # this process is the loader alone (not a caller's import)
        from loader.run import memory

        memory.without_sqlalchemy()
    sys.exit(main())
