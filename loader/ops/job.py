"""The production job, what cron (and `make run`) runs: load Zoho into `zoho_staging`,
then `dbt build` (models, data tests, snapshots), then `dbt source freshness`; record it in
`zoho_staging.job_runs`, send alerts on changes, apply retention.

    python -m loader.job        (settings: .dlt/ or SOURCES__ZOHO_BOOKS__*; warehouse: PG*)

One PostgreSQL advisory lock per warehouse and organization is held for the whole job: a
second job, loader run or webhook applier started meanwhile exits 75 (one line, nothing
touched). The load runs in this process, on the job's connection (so under its lock), and
returns a typed RunResult (rows per table, API calls, quarantined, exit code); dbt runs as
its own process (its memory and its failures stay its own, and a killed build is told
apart from a failed one).

Nothing changed, nothing built: when no row reached the raw tables since the last build
(no loader run wrote one, no webhook event was applied), the dbt project and the marts'
schema are the same and the marts exist, the job skips `dbt build` (its steps say
`unchanged`; snapshots are timestamp-based, so a version is dated by Zoho's change time
whenever the next build stores it). Freshness is read from the run log
(loader/ops/freshness.py: dbt's heartbeat and limits) without starting dbt.

Exit codes: the loader's, and 10 when a dbt step failed or was killed (loader/errors.py,
EXIT_CODES; `--help` lists them). A load stopped by the daily quota still builds the marts
from what it loaded, then exits 3. See docs/operations.md.

Without a terminal (cron) the steps' output goes to `.local/job/` (load.log, dbt's
logs/dbt.log and target/run_results.json) and the job prints one line per step, warnings
and errors: about ten lines a run. On a terminal the steps print as usual.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loader import clock, warehouse
from loader.errors import (
    EXIT_ALREADY_RUNNING,
    EXIT_CONFIG,
    EXIT_JOB_STEP_FAILED,
    EXIT_OK,
    EXIT_QUOTA,
    EXIT_UNEXPECTED,
    ConfigError,
    LoaderError,
    exit_codes_help,
    find_loader_error,
    one_line,
)
from loader.errors import reason as error_reason
from loader.names import analytics_schema
from loader.ops import dbt, local_dir
from loader.ops import freshness as run_log_freshness
from loader.ops.dbt import project_fingerprint
from loader.warehouse import locking, webhook_events
from loader.warehouse.job_runs import JobLog, Step, build_outcome
from loader.warehouse.sync_runs import RunLog, RunResult
from loader.zoho.organizations import Organization, configured_organizations, organization

ROOT = warehouse.ROOT
# The steps' output of the latest job (JOB_OUTPUT_DIR overrides, e.g. for tests).
JOB_DIR = Path(os.environ.get("JOB_OUTPUT_DIR") or ROOT / ".local" / "job")
# dlt reads .dlt/ from its project dir (default: the working directory): this project's,
# whatever directory cron starts us in. Must precede importing dlt.
os.environ.setdefault("DLT_PROJECT_DIR", str(ROOT))

# The job's build (loader/ops/dbt.py builds dbt's command line).
DBT_BUILD = [*dbt.BUILD, "--no-use-colors-file"]
MARTS = (
    "products",
    "pricelists",
    "product_prices",
    "product_price_coverage",
    "customers",
    "invoices",
    "invoice_line_items",
    "vendors",
    "bills",
    "bill_line_items",
    "product_costs",
    "cost_coverage",
    "product_stock",
    "stock_movements",
)


# The job summary's purchases-and-stock line (issue 24)
STOCK_SUMMARY_SQL = """
select
    (select count(*) from "{schema}".bills where not is_deleted and organization_id = %(org)s),
    (select count(*) from "{schema}".bill_line_items
     where is_unknown_item and not is_deleted and organization_id = %(org)s),
    (select count(*) from "{schema}".product_costs where organization_id = %(org)s),
    (select count(*) from "{schema}".product_costs
     where (is_priced_below_cost or is_sold_below_cost) and organization_id = %(org)s),
    (select count(distinct product_id) from "{schema}".product_stock
     where organization_id = %(org)s),
    (select count(distinct location_id) from "{schema}".product_stock
     where organization_id = %(org)s),
    (select count(*) from "{schema}".stock_movements where organization_id = %(org)s)
"""


def _say(text: str) -> None:
    print(text, flush=True)


def _stamp() -> str:
    return f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}Z"


def organizations(choice: str | None = None) -> list[Organization]:
    """The organizations the job runs (loader/zoho/organizations.py): `choice` (an id or
    a section name), else every configured one."""
    if choice:
        return [organization(choice)]
    found = configured_organizations()
    if not found:
        from loader.zoho.config import load_config

        load_config()  # names every missing setting at once, not this one alone
        raise ConfigError(
            "missing setting SOURCES__ZOHO_BOOKS__ORGANIZATION_ID: set it as an environment "
            "variable or in .dlt/secrets.toml under [sources.zoho_books], or name several "
            "under [sources.zoho_books.organizations.<name>] (see docs/configuration.md)"
        )
    return found


# Which exit code of several organizations' jobs the command returns: a failure first,
# then a quota stop, then "another job holds the lock", then success.
def worst(codes: Sequence[int]) -> int:
    def rank(code: int) -> int:
        return {EXIT_OK: 0, EXIT_ALREADY_RUNNING: 1, EXIT_QUOTA: 2}.get(code, 3)

    return max(codes, key=rank, default=EXIT_OK)


class _Notable(logging.Handler):
    """Keeps the run's warnings and errors, to repeat them in the job's own output."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


@contextlib.contextmanager
def _run_output(capture: bool, path: Path) -> Iterator[_Notable]:
    """The in-process run's log: to `path` without a terminal (the steps' full output,
    as before), else on stderr; its warnings and errors collected either way."""
    root = logging.getLogger()
    handler: logging.Handler = (
        logging.FileHandler(path, mode="w", encoding="utf-8")
        if capture
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    notable = _Notable()
    level = root.level
    quiet = {name: logging.getLogger(name).level for name in ("urllib3", "requests")}
    root.setLevel(logging.INFO)
    for name in quiet:  # their debug lines would print every URL called
        logging.getLogger(name).setLevel(logging.WARNING)
    root.addHandler(handler)
    root.addHandler(notable)
    try:
        yield notable
    finally:
        root.removeHandler(handler)
        root.removeHandler(notable)
        handler.close()
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


def _load_in_process(
    conn: Any, capture: bool, organization_id: str | None = None
) -> tuple[RunResult | None, int, str | None]:
    """One loader run on the job's connection: (result, exit code, error); a failure is
    caught here as `python -m loader run` catches it, with the same exit codes."""
    from loader.run.pipeline import RunOptions, run_sync
    from loader.zoho.progress import Progress

    try:
        org = organization(organization_id) if organization_id else None
        result = run_sync(
            RunOptions(progress=Progress(use_bars=not capture), organization=org), conn
        )
    except warehouse.WarehouseError as exc:
        return None, EXIT_CONFIG, one_line(str(exc))
    except Exception as exc:
        found = find_loader_error(exc)
        if found is None:
            logging.getLogger("loader").exception("the run failed unexpectedly")
            return None, EXIT_UNEXPECTED, error_reason(exc)
        return None, found.exit_code, one_line(str(found))
    return result, result.exit_code, result.error


def build_reason(previous: tuple[str, dict[str, Any]] | None, inputs: dict[str, Any]) -> str | None:
    """Why the marts must be built, or None when they cannot have changed: the last
    build (or the last job that found nothing to build) succeeded on the same inputs."""
    if not inputs.get("marts_exist"):
        return "the marts are missing"
    if previous is None:
        return "no earlier build on this warehouse"
    job_id, step = previous
    before = (step.get("counts") or {}).get("inputs") or {}
    if step.get("status") == "failed" or not before:
        return f"the last build (job {job_id}) did not finish"
    if before.get("project") != inputs["project"]:
        return "the dbt project or the marts' schema changed"
    if before.get("writing_runs") != inputs["writing_runs"]:
        return "loader runs wrote rows"
    if before.get("webhook_events_applied") != inputs["webhook_events_applied"]:
        return "webhook events were applied"
    return None


class Job:
    """One job: the load in this process, dbt as its own, and their record."""

    def __init__(self, conn: Any, organization: str, pg: dict[str, str], capture: bool) -> None:
        self.conn = conn
        self.organization = organization
        self.pg = pg
        self.capture = capture
        self.log = JobLog(conn)
        self.job_id = (
            os.environ.get(locking.JOB_ID_ENV)
            or (  # a manual sync's (POST /sync)
                f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
            )
        )
        self.env = {
            **os.environ,
            **pg,
            "DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(ROOT)),
        }
        self.schema = analytics_schema()
        self.target = Path(os.environ.get("DBT_TARGET_PATH") or JOB_DIR / "target")
        self.dbt_logs = Path(os.environ.get("DBT_LOG_PATH") or JOB_DIR / "logs")
        self.steps: list[Step] = []

    # ----- running a step ------------------------------------------------------------------
    def _call(self, name: str, argv: Sequence[str]) -> tuple[int, float, str]:
        """Run a step's process: on a terminal its output shows as usual, otherwise it is
        captured, kept in .local/job/<name>.log and returned."""
        started = time.monotonic()
        if not self.capture:
            code = subprocess.call(list(argv), env=self.env, cwd=ROOT)
            return code, time.monotonic() - started, ""
        done = subprocess.run(
            list(argv),
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            check=False,
        )
        (JOB_DIR / f"{name}.log").write_text(done.stdout)
        return done.returncode, time.monotonic() - started, done.stdout

    def _dbt(self, args: Sequence[str]) -> list[str]:
        colors = ["--no-use-colors"] if self.capture else []
        paths = ["--target-path", str(self.target), "--log-path", str(self.dbt_logs)]
        return dbt.command(*args, *colors, *paths)

    def _record(self, step: Step, details: str = "") -> Step:
        self.steps.append(step)
        self.log.record_step(self.job_id, step)
        shown = step.status if step.exit_code in (None, 0) else f"{step.status} ({step.exit_code})"
        _say(f"  {step.name:<10} {shown:<16} {step.seconds:6.1f}s  {details}".rstrip())
        if step.error and step.status == "failed":
            _say(f"  {'':<10} error: {step.error}")
        return step

    # ----- the steps -----------------------------------------------------------------------
    def load(self, since: Any) -> Step:
        started = time.monotonic()
        with _run_output(self.capture, JOB_DIR / "load.log") as notable:
            result, code, error = _load_in_process(self.conn, self.capture, self.organization)
        seconds = time.monotonic() - started
        status = {EXIT_OK: "ok", EXIT_QUOTA: "quota_exhausted"}.get(code, "failed")
        if result is not None:
            counts: dict[str, Any] = {
                "run_ids": [result.run_id],
                "rows": sum(result.rows_loaded.values()),
                "rows_by_table": result.rows_loaded,
                "api_calls": result.api_calls,
                "quota_remaining": result.quota_remaining,
                "details_pending": result.details_pending,
                "quarantined": result.quarantined,
            }
        else:  # what the failed run wrote in its run log before it stopped
            counts = RunLog(self.conn).load_counts(self.organization, since)
            counts.pop("error", None)
        for line in notable.lines[:5]:
            if not (error and error in line):
                _say(f"  {'':<10} {line.strip()[:300]}")
        details = ""
        if counts:
            details = (
                f"rows {counts.get('rows', 0):,}, API calls {counts.get('api_calls', 0):,}, "
                f"quota left {_num(counts.get('quota_remaining'))}, "
                f"details pending {_num(counts.get('details_pending'))}"
            )
        step = Step("load", status, seconds, code, error if status != "ok" else None, counts)
        return self._record(step, details)

    def inputs(self) -> dict[str, Any]:
        """What the marts are built from, as counts: compared with the last build's."""
        with self.conn.cursor() as cur:
            cur.execute(
                "select count(*) from pg_tables where schemaname = %s and tablename = any(%s)",
                (self.schema, list(MARTS)),
            )
            marts = cur.fetchone()[0] == len(MARTS)
        return {
            "writing_runs": RunLog(self.conn).writing_runs(),
            "webhook_events_applied": webhook_events.applied_count(self.conn),
            "project": project_fingerprint(self.schema),
            "marts_exist": marts,
        }

    def unchanged(self, previous: tuple[str, dict[str, Any]]) -> Step:
        """The build skipped: the marts and their tests are as the last build left them."""
        job_id, step = previous
        kept = {k: v for k, v in (step.get("counts") or {}).items() if k != "inputs"}
        counts = {**kept, "unchanged_since": (step.get("counts") or {}).get("unchanged_since")}
        counts["unchanged_since"] = counts["unchanged_since"] or job_id
        build = self._record(
            Step("dbt_build", "unchanged", 0.0, None, None, counts),
            f"skipped: nothing changed since the build of job {counts['unchanged_since']}",
        )
        self._record(Step("snapshots", "unchanged"), "skipped: nothing to version")
        return build

    def build(self) -> tuple[Step, Step]:
        results = self.target / "run_results.json"
        results.unlink(missing_ok=True)  # a killed build must not leave the last one's
        code, seconds, output = self._call("dbt_build", self._dbt(DBT_BUILD))
        counts, snapshot_counts, error = build_outcome(results)
        if code == 0:
            status = "warn" if counts.get("tests_warned") else "ok"
            error = None
        else:
            status = "failed"
            error = _killed(code, "dbt build") or error or _last_error(output, "dbt build", code)
        details = (
            f"models {counts.get('models_ok', 0)}, tests {counts.get('tests_passed', 0)} "
            f"passed / {counts.get('tests_warned', 0)} warned / "
            f"{counts.get('tests_failed', 0)} failed"
            if counts
            else ""
        )
        build = self._record(Step("dbt_build", status, seconds, code, error, counts), details)
        snapshot_seconds = snapshot_counts.pop("seconds", 0.0)
        if not snapshot_counts or not (
            snapshot_counts["snapshots_ok"] or snapshot_counts["snapshots_failed"]
        ):
            snapshots = Step("snapshots", "skipped")
        elif snapshot_counts["snapshots_failed"]:
            snapshots = Step("snapshots", "failed", snapshot_seconds, None, error, snapshot_counts)
        else:
            snapshots = Step("snapshots", "ok", snapshot_seconds, None, None, snapshot_counts)
        details = f"{snapshot_counts.get('snapshots_ok', 0)} snapshot(s)" if snapshot_counts else ""
        self._record(snapshots, details)
        return build, snapshots

    def freshness(self) -> Step:
        """dbt's source freshness, read from the run log without starting dbt."""
        started = time.monotonic()
        counts, worst = run_log_freshness.check(self.conn, clock.now())
        status = {"pass": "ok", "warn": "warn"}.get(worst, "failed")
        error = None
        if status == "failed":
            error = (
                f"sources are stale beyond error_after ({_age(counts.get('data_age_seconds'))} "
                "since the last successful load)"
                if "data_age_seconds" in counts
                else "no successful load yet"
            )
        details = f"{worst}, data {_age(counts.get('data_age_seconds'))} old"
        seconds = time.monotonic() - started
        return self._record(Step("freshness", status, seconds, None, error, counts), details)

    def summary(self) -> None:
        schema = self.schema
        with self.conn.cursor() as cur:
            counts = []
            for mart in MARTS:
                cur.execute(f'select count(*) from "{schema}"."{mart}"')
                counts.append(f"{mart} {cur.fetchone()[0]:,}")
            # price_coverage has a row per organization: this job's
            cur.execute(
                "select coverage_percent, coverage_target_percent, active_products,"
                " with_pricelist_price, filled_by_default, without_price"
                f' from "{schema}".price_coverage where organization_id = %s',
                (self.organization,),
            )
            coverage = cur.fetchone()
            cur.execute(STOCK_SUMMARY_SQL.format(schema=schema), {"org": self.organization})
            bills, unknown, costed, below, products, locations, moves = cur.fetchone()
        _say(f"  marts ({schema}): " + ", ".join(counts))
        if coverage is None:
            return
        percent, target, active, listed, default, without = coverage
        _say(
            f"  purchases and stock: {bills:,} bills ({unknown:,} lines for items not in the "
            f"catalogue), {costed:,} products with a purchase cost ({below:,} sold or priced "
            f"below it); stock of {products:,} products at {locations:,} locations, "
            f"{moves:,} stock movements"
        )
        _say(
            f"  price coverage: {'unknown ' if percent is None else percent}% of {active:,} "
            f"active products (target {target}%): "
            f"{listed:,} by a price list, {default:,} by default, {without:,} without a price"
        )

    # ----- the whole job -------------------------------------------------------------------
    def run(self) -> int:
        JOB_DIR.mkdir(parents=True, exist_ok=True)
        self.log.ensure()
        dead = self.log.fail_dead_jobs(self.organization)
        since = self.log.start(self.job_id, self.organization, warehouse.describe(self.pg))
        _say(
            f"{_stamp()} job {self.job_id}: warehouse {warehouse.describe(self.pg)}, "
            f"organization {self.organization}"
            + (f" ({dead} earlier job(s) that died marked failed)" if dead else "")
        )
        started = time.monotonic()
        load = self.load(since)
        code = EXIT_OK
        build: Step | None = None
        skipped = ""
        if load.status == "failed":
            code = load.exit_code or 1
            for name in ("dbt_build", "snapshots", "freshness"):
                self._record(Step(name))
        else:
            previous = self.log.last_build(self.job_id)
            reason = build_reason(previous, self.inputs())
            if reason is None and previous is not None:
                build = self.unchanged(previous)
                since_job = build.counts["unchanged_since"]
                skipped = f"; dbt build skipped: nothing changed since job {since_job}"
            else:
                build, _ = self.build()
            if build.status == "failed":
                code = EXIT_JOB_STEP_FAILED
                self._record(Step("freshness"))
            else:
                fresh = self.freshness()
                if fresh.status == "failed":
                    code = EXIT_JOB_STEP_FAILED
                try:
                    self.summary()
                except Exception as exc:  # the marts' summary is information, not a step
                    _say(f"  warning: no summary of the marts: {one_line(str(exc))}")
            if load.status == "quota_exhausted" and code == EXIT_OK:
                code = EXIT_QUOTA
        failed = next((s for s in self.steps if s.status == "failed"), None)
        status = "failed" if failed else "quota_exhausted" if code == EXIT_QUOTA else "success"
        error = failed.error if failed else load.error
        self.log.finish(self.job_id, status, code, failed, error)
        pruned = self._after(status, failed, error)
        if build is not None and build.status != "failed":
            # What this build (or this finding) covers, counted after retention so the
            # next job compares like with like; nothing else writes while we hold the lock.
            build.counts["inputs"] = self.inputs()
            self.log.record_step(self.job_id, build)
        _say(
            f"{_stamp()} job {self.job_id}: {status}, exit {code}, "
            f"{time.monotonic() - started:.1f}s{skipped}; {pruned}"
        )
        return code

    def _after(self, status: str, failed: Step | None, error: str | None) -> str:
        """Alerts and retention: their own trouble is a warning line, never the job's;
        returns what retention pruned, for the summary line."""
        from loader.ops import alerts, retention

        try:
            settings = alerts.settings_from_config()
            # this organization's conditions, its own alert state; named when several
            orgs = configured_organizations()
            org = next((o for o in orgs if o.key == self.organization), None)
            label = None
            if len(orgs) > 1:
                label = f"organization {self.organization}" + (
                    f" ({org.name})" if org is not None and org.name else ""
                )
            conditions = alerts.job_conditions(status, failed.name if failed else None, error)
            conditions += alerts.warehouse_conditions(self.conn, settings, self.organization)
            for sent in alerts.notify_changes(
                self.conn,
                conditions,
                settings,
                self.organization,
                label,
                legacy=org is not None and org.legacy,
            ):
                _say(f"  alert sent: {sent.message}")
        except Exception as exc:  # an alert problem must not fail the job
            _say(f"  warning: alerts not evaluated: {one_line(str(exc)) or type(exc).__name__}")
        try:
            days = retention.retention_days_from_config()
            return retention.describe(days, retention.purge(self.conn, days))
        except Exception as exc:  # retention can wait for the next job
            _say(f"  warning: retention skipped: {one_line(str(exc)) or type(exc).__name__}")
            return "retention skipped"


def _num(value: Any) -> str:
    return "unknown" if value is None else f"{value:,}"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _killed(code: int, what: str) -> str | None:
    """A step ended by a signal: subprocess reports -N (a shell would say 128+N)."""
    number = -code if code < 0 else code - 128 if 128 < code < 160 else None
    if number is None:
        return None
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    return f"{what} was killed ({name}) before it finished; the next job builds again"


def _last_error(output: str, what: str, code: int) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return one_line((errors or lines or [f"{what} exited {code}"])[0]) or f"{what} exited {code}"


def run(organization: str, log: Path | None = None) -> int:
    """One organization's job under its lock."""
    capture = not sys.stdout.isatty()
    pg = warehouse.connection_env()
    conn = warehouse.connect(pg, "zoho_books job")
    try:
        from loader.run.pipeline import lock_key

        if not locking.lock_behind_worker(conn, lock_key(organization)):
            if log is not None:  # not into the running job's block of the same log
                open_log(skipped_log(log))
            _say(
                f"{_stamp()} skipped: another job or loader run of organization {organization} "
                f"holds the lock on {warehouse.describe(pg)} (exit 75)"
            )
            return EXIT_ALREADY_RUNNING
        return Job(conn, organization, pg, capture).run()
    finally:
        conn.close()  # also releases the lock


LOG_MAX_BYTES = 10 * 2**20
LOG_KEEP = 3


def skipped_log(log: Path) -> Path:
    """Where a job that found the lock held writes its `skipped:` line: beside `log`
    (job.log -> job.skipped.log), since the running job is still writing its block there."""
    return log.with_name(f"{log.stem}.skipped{log.suffix}")


def open_log(path: Path) -> None:
    """Send this process's (and its steps') output to `path`, appended, owner-only; a log
    over 10 MB is first rotated to path.1 (path.1 to path.2 ..., three kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > LOG_MAX_BYTES:
        for number in range(LOG_KEEP - 1, 0, -1):
            older = path.with_name(f"{path.name}.{number}")
            if older.exists():
                older.replace(path.with_name(f"{path.name}.{number + 1}"))
        path.replace(path.with_name(f"{path.name}.1"))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader.job",
        description="The production job: load, dbt build, freshness; recorded in "
        "zoho_staging.job_runs. See docs/operations.md.",
        epilog=exit_codes_help(),
    )
    parser.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="append all output to FILE (created 0600 with its directory; rotated at 10 MB, "
        "3 old files kept), as cron runs it",
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--org",
        metavar="ID",
        help="run the job of this organization only (its organization_id or its "
        "[sources.zoho_books.organizations.<name>])",
    )
    chosen.add_argument(
        "--all",
        action="store_true",
        help="run every configured organization's job, one after the other (the default); "
        "one organization's failure never stops the others, the exit code is the worst",
    )
    args = parser.parse_args(argv)
    local_dir.secure()
    if args.log:
        open_log(args.log)
    try:
        orgs = organizations(args.org)
        from loader.ops.retention import retention_days_from_config

        retention_days_from_config()  # an invalid RETENTION_DAYS stops the job at once: exit 2
    except LoaderError as exc:
        print(f"{_stamp()} error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    manual = os.environ.get(locking.JOB_ID_ENV)
    codes = []
    for number, org in enumerate(orgs):
        if manual and number:  # a manual sync's id names its first organization's job
            os.environ[locking.JOB_ID_ENV] = f"{manual}-{org.key}"
        if args.log and number:  # back from a skipped job's log, if the last was skipped
            open_log(args.log)
        codes.append(_run_one(org.key, args.log, len(orgs) > 1))
    return worst(codes)


def _run_one(organization: str, log: Path | None, several: bool) -> int:
    """One organization's job; its error is one line (naming the organization when the
    job runs several), and never stops the next organization's."""
    which = f" (organization {organization})" if several else ""
    try:
        return run(organization, log)
    except warehouse.WarehouseError as exc:
        print(f"{_stamp()} error: {exc}{which}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    except LoaderError as exc:
        print(f"{_stamp()} error: {exc}{which}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Exception as exc:  # one organization's crash never stops the others
        if not several:
            raise
        print(f"{_stamp()} error: unexpected {one_line(str(exc))}{which}", file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
