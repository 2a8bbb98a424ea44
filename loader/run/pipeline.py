"""One loader run against the warehouse: lock, run log, loads.

A run:
1. resolves and validates the settings (loader/zoho/config.py; a bad or missing one is a
   ConfigError, exit 2);
2. takes a PostgreSQL advisory lock keyed by the organization, or exits 75 touching
   nothing when another run holds it;
3. marks runs that died `running` as `failed` and writes its own `running` row in
   `zoho_staging.sync_runs` (loader/warehouse/sync_runs.py);
4. loads what an earlier, killed run left extracted but not loaded;
5. reads what the destination holds (the items and price-list snapshots) and loads the
   listings (organizations, items, contacts, invoices, price lists);
6. reads the invoices, bills and inventory items whose details are pending (one details
   budget, `split_details_budget`) and loads their details, lines and stock per location;
7. finishes its `sync_runs` row: success, quota_exhausted or failed.

Two `pipeline.run` calls, not one: the pending invoices of step 6 include those the
listing of step 5 found changed in this very run, and "changed since its details were
read" is one query on the committed `invoices` table. One run would have to pick the
invoices to read while their listing is still being extracted, which changes which
invoices a limited details budget reads first (newest first across all pending ones).

Cursors live in dlt's resource state, which dlt commits in the same load as the rows: a
run that fails before its load leaves the cursors where they were.

The pipeline and its local working state come from loader/run/dlt_state.py, the raw tables'
indexes from loader/run/indexes.py; `status` is loader/ops/status.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import psycopg2
from dlt.load.exceptions import (
    LoadClientJobException,
    LoadClientJobFailed,
    LoadClientJobTerminalRetry,
)
from dlt.pipeline.helpers import retry_schema_update
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random

from loader import clock, warehouse
from loader.errors import (
    EXIT_OK,
    EXIT_QUOTA,
    AlreadyRunning,
    ConfigError,
    find_cause,
    one_line,
    reason,
)
from loader.names import PIPELINE_NAME
from loader.run import memory
from loader.run.budget import inputs as budget_inputs
from loader.run.budget import model as budget_model
from loader.run.dlt_state import open_pipeline
from loader.run.indexes import index_and_analyze, index_first_loads
from loader.warehouse import locking, organization_upgrade
from loader.warehouse.sync_runs import RunLog, RunResult
from loader.zoho.config import ZohoBooksConfig, load_config, zoho_settings
from loader.zoho.contract import TABLES
from loader.zoho.contract.hints import first_load_hints
from loader.zoho.http import ZohoClient
from loader.zoho.modules import (
    ALL_RESOURCES,
    BILL_DETAIL_RESOURCES,
    DELETION_CHECKS,
    DETAIL_RESOURCES,
    INVOICE_DETAIL_RESOURCES,
    ITEM_STOCK,
    LIST_RESOURCES,
    RECONCILE_RESOURCES,
)
from loader.zoho.organizations import Organization, organization, selected_organization
from loader.zoho.progress import Progress
from loader.zoho.resources.common import Counters
from loader.zoho.source import zoho_books_source
from loader.zoho.stored import Destination

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    resources: Sequence[str] | None = None
    full_refresh: bool = False
    details_budget: int | None = None
    pipelines_dir: str | None = None
    progress: Progress | None = None
    # Which organization (loader/zoho/organizations.py); None: $ZOHO_BOOKS_ORGANIZATION or
    # the only one configured. `settings` are explicit values that win over the
    # configuration; `pipeline_name` / `staging_dataset_layout` override the organization's.
    organization: Organization | None = None
    settings: dict[str, Any] | None = None
    pipeline_name: str | None = None
    staging_dataset_layout: str | None = None


def select_resources(names: Sequence[str] | None) -> list[str]:
    """Validated resource names; details and line items always go together (one call
    feeds both, and "pending" is judged on invoice_details and bill_details)."""
    if not names:
        return list(ALL_RESOURCES)
    known = ALL_RESOURCES + RECONCILE_RESOURCES
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown resource(s) {', '.join(unknown)}: choose from {', '.join(known)}"
        )
    chosen = set(names)
    for pair in (INVOICE_DETAIL_RESOURCES, BILL_DETAIL_RESOURCES, ITEM_STOCK.resources):
        if chosen & set(pair):
            chosen |= set(pair)
    return [n for n in known if n in chosen]


def lock_key(organization_id: str) -> int:
    """A stable signed 64-bit advisory lock key for this loader and organization."""
    digest = hashlib.sha256(f"zoho_books:{organization_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def connect(pg: dict[str, str]) -> Any:
    """An autocommit connection; a refused one is WarehouseUnreachable (exit 6, one line)."""
    return warehouse.connect(pg, "zoho_books loader")


def _row_counts(pipeline: dlt.Pipeline) -> Counter[str]:
    """Rows per Zoho table of the pipeline's last normalize step."""
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    counts = info.row_counts if info is not None else {}
    return Counter({t: n for t, n in counts.items() if not t.startswith("_dlt")})


@dataclass
class LoaderRun:
    """What one `python -m loader run` works with: its settings, Zoho client, counters."""

    config: ZohoBooksConfig
    client: ZohoClient
    selected: list[str]
    full_refresh: bool
    details_budget: int
    counters: Counters
    started_at: datetime = field(default_factory=clock.now)
    pipeline_name: str = PIPELINE_NAME
    staging_dataset_layout: str | None = None

    @property
    def quota_exhausted(self) -> bool:
        return bool(self.counters.stopped_by_quota) or self.client.stats.quota_exhausted

    def fill(self, result: RunResult) -> None:
        stats = self.client.stats
        result.api_calls = stats.api_calls
        result.calls = dict(stats.calls)
        result.tokens_minted = self.client.tokens_minted
        result.quota_remaining = stats.quota_remaining
        result.quota_limit = stats.quota_limit
        result.quota_reset_at = stats.quota_reset_at
        result.details_read = self.counters.details_read
        result.stopped_by_quota = list(self.counters.stopped_by_quota)
        result.refreshed = budget_inputs.refreshed_listings(self.selected, result.stopped_by_quota)


def prepare_run(options: RunOptions) -> LoaderRun:
    """Settings resolved and validated, resources chosen, the Zoho client built; no call
    to Zoho or the warehouse yet."""
    selected = select_resources(options.resources)
    org = options.organization
    chosen = str((options.settings or {}).get("organization_id") or "").strip()
    if org is None:  # explicit settings naming a configured organization choose it
        org = organization(chosen) if chosen else selected_organization()
    config = load_config(options.settings, org)
    budget = config.details_budget if options.details_budget is None else options.details_budget
    if budget < 0:
        raise ConfigError(f"--details-budget must be 0 or more, got {budget}")
    return LoaderRun(
        config=config,
        client=ZohoClient(zoho_settings(config)),
        selected=selected,
        full_refresh=options.full_refresh,
        details_budget=budget,
        counters=Counters(progress=options.progress or Progress()),
        pipeline_name=options.pipeline_name or (org.pipeline_name if org else PIPELINE_NAME),
        staging_dataset_layout=options.staging_dataset_layout
        or (org.staging_dataset_layout if org else None),
    )


def _failed_load_job(exc: BaseException) -> LoadClientJobException | None:
    """The load job behind `exc` that the warehouse refused for good (a data error: a
    value PostgreSQL cannot store, a constraint): dlt's terminal job exceptions."""
    found = find_cause(exc, (LoadClientJobTerminalRetry, LoadClientJobFailed))
    return found if isinstance(found, LoadClientJobException) else None


def _abort_poisoned_package(pipeline: dlt.Pipeline, exc: BaseException, run: LoaderRun) -> bool:
    """After a load the warehouse refused for a data reason, abort the pending packages
    (dlt's `abort_packages`: local state and schemas go back to before them, so cursors
    did not advance and the next extraction reads those records from Zoho again) instead
    of retrying the same package on every run. What was dropped is quarantined."""
    failed = _failed_load_job(exc)
    if failed is None:
        return False
    # The warehouse's own message (it names the constraint or the column), not the head of
    # dlt's traceback text, whose file paths would push the cause past any cut.
    cause = getattr(failed, "client_exception", None)
    message = reason(cause) if cause is not None else one_line(failed.failed_message) or ""
    table = str(failed.job_id).split(".", 1)[0]
    log.error(
        "the warehouse refused load package %s (%s): %s; dropped, its records are read "
        "from Zoho again by the next run",
        failed.load_id,
        table,
        message,
    )
    run.counters.quarantine.add(
        table,
        f"load package {failed.load_id}",
        {"load_id": failed.load_id, "job_id": failed.job_id},
        f"the warehouse refused the load: {message}",
    )
    pipeline.abort_packages()
    return True


def _load(pipeline: dlt.Pipeline, run: LoaderRun, result: RunResult) -> None:
    rows: Counter[str] = Counter()
    if pipeline.has_pending_data:
        log.info("loading data an earlier run extracted but did not load")
        try:
            pipeline.normalize()
            rows += _row_counts(pipeline)
            pipeline.load()
        except Exception as exc:
            if not _abort_poisoned_package(pipeline, exc, run):
                raise
            rows = Counter()
    destination = Destination(pipeline.sql_client(), run.client.settings.organization_id)
    listings = [r for r in run.selected if r in LIST_RESOURCES or r in RECONCILE_RESOURCES]
    if listings:
        source = zoho_books_source(
            run.client,
            run.counters,
            run.started_at,
            destination=destination,
            items_snapshot=destination.items_snapshot() if "items" in listings else None,
            pricebooks_snapshot=(
                destination.pricebooks_snapshot() if "pricebooks" in listings else None
            ),
            full_refresh=run.full_refresh,
            stored_ids={
                check.name: destination.stored_ids(module.tables[0], module.id_column)
                for module, check in DELETION_CHECKS
                if check.name in listings
            },
        )
        rows += _load_phase(pipeline, run, destination, source.with_resources(*listings))
    details = [r for r in run.selected if r in DETAIL_RESOURCES]
    if details and not run.quota_exhausted:
        invoices, bills, items = split_details_budget(destination, details, run.details_budget)
        if invoices or bills or items or not _tables_exist(pipeline, details):
            source = zoho_books_source(
                run.client,
                run.counters,
                run.started_at,
                destination=destination,
                pending_invoices=invoices,
                pending_bills=bills,
                pending_item_stock=items,
            )
            rows += _load_phase(pipeline, run, destination, source.with_resources(*details))
        run.counters.progress.done(
            "invoice_details",
            f"{run.counters.details_read} read, {run.counters.details_gone} gone",
        )
    result.rows_loaded = dict(rows)
    index_and_analyze(pipeline, [table for table, count in rows.items() if count])
    result.details_pending = destination.count_pending_details()


def _tables_exist(pipeline: dlt.Pipeline, tables: Sequence[str]) -> bool:
    """Whether these tables were loaded before (a phase with nothing to read is skipped
    then: a dlt run for no rows costs a third of a second; the first one creates them)."""
    if not pipeline.default_schema_name:
        return False
    return set(tables) <= set(pipeline.default_schema.data_table_names())


def split_details_budget(
    destination: Destination, details: Sequence[str], budget: int
) -> tuple[Sequence[tuple[str, Any]], Sequence[tuple[str, Any]], Sequence[tuple[str, Any]]]:
    """The run's details budget (one call each) shared out: stock readings keep their
    share (ITEM_STOCK.share, at least one call) of it while items wait, invoices read first
    from the rest, bills get what invoices leave, stock readings everything left after
    both (docs/decisions.md, "Stock per location")."""
    wanted = set(details)
    stock = bool(set(ITEM_STOCK.resources) & wanted)
    waiting = destination.count_pending_item_stock() if stock and budget > 0 else 0
    kept = min(waiting, max(1, math.ceil(budget * ITEM_STOCK.share))) if waiting else 0
    invoices = (
        destination.pending_invoices(budget - kept)
        if set(INVOICE_DETAIL_RESOURCES) & wanted
        else []
    )
    bills = (
        destination.pending_bills(budget - kept - len(invoices))
        if set(BILL_DETAIL_RESOURCES) & wanted
        else []
    )
    items = destination.pending_item_stock(budget - len(invoices) - len(bills)) if stock else []
    return invoices, bills, items


def _load_phase(
    pipeline: dlt.Pipeline, run: LoaderRun, destination: Destination, source: Any
) -> Counter[str]:
    """Load `source` (one phase's resources); the tables it creates are written straight
    in and get their unique index before the next phase reads them. Its row counts."""
    first_loads = write_first_loads_directly(destination, source)
    _run_pipeline(pipeline, run, source)
    index_first_loads(pipeline, first_loads)
    return _row_counts(pipeline)


def write_first_loads_directly(destination: Destination, source: Any) -> set[str]:
    """The keyed tables `source` writes that do not exist yet: their first load goes
    straight into the table (dlt's `append`) instead of a copy into the staging dataset and
    a merge from it, which only de-duplicates there, as nothing is stored to replace. A key
    the listing repeated (Zoho edited while it was read) is removed when the table's unique
    index is built (loader/run/indexes.py). Tables merged by a `merge_key` (a document's
    lines) keep the merge. Rows another resource writes into the table state their own
    hints (the deletion checks' marks, loader/zoho/resources/deletions.py), and there are
    none before the table exists. Returns the tables switched."""
    first: set[str] = set()
    for name, resource in source.selected_resources.items():
        spec = TABLES.get(name)
        if spec is None or spec.merge_key is not None or resource.table_name != name:
            continue
        if not destination.existing_columns(name):
            resource.apply_hints(**first_load_hints(name))
            first.add(name)
    return first


SCHEMA_UPDATE_RACE = retry_schema_update()


def _run_pipeline(pipeline: dlt.Pipeline, run: LoaderRun, data: Any) -> None:
    """`pipeline.run`; a package the warehouse refuses is aborted, then the run fails."""
    try:
        try:
            pipeline.run(data)
        except Exception as exc:
            if not SCHEMA_UPDATE_RACE(exc):
                raise
            # Organizations' pipelines load into one dataset: two first loads may race to
            # create the same table (a deadlock in the catalog). dlt's documented remedy:
            # load the package again; dlt re-reads the destination and adds what is missing.
            log.warning("schema update raced another load; loading again: %s", exc.__context__)
            for attempt in Retrying(
                stop=stop_after_attempt(5),
                wait=wait_random(0.2, 2),
                retry=retry_if_exception(SCHEMA_UPDATE_RACE),
                reraise=True,
            ):
                with attempt:
                    pipeline.load()
    except Exception as exc:
        _abort_poisoned_package(pipeline, exc, run)
        raise


def run_sync(options: RunOptions, conn: Any = None) -> RunResult:
    """One complete run; raises ConfigError / AlreadyRunning / anything unexpected.

    `conn`: the caller's warehouse connection, left open (the job's, which already holds
    the organization's lock: a session takes an advisory lock it holds once more, and the
    run gives that one back at its end). Without it the run opens and closes its own."""
    memory.settle()  # before the run's threads and arrow tables (loader/run/memory.py)
    run = prepare_run(options)
    organization_id = run.client.settings.organization_id
    pg = warehouse.connection_env()
    own = conn is None
    conn = connect(pg) if own else conn
    try:
        # on the job's connection the lock is already held (taken once more); a webhook
        # worker's round is waited for
        if not locking.lock_behind_worker(conn, lock_key(organization_id)):
            raise AlreadyRunning(
                f"another loader run for organization {organization_id} is still running "
                "on this warehouse; this one did nothing (try again when it has finished)"
            )
        try:
            return _locked_run(conn, pg, run, options)
        finally:
            # Released here, not by close(): the server ends the session (and frees its
            # locks) a moment after the client leaves, and a run started at once would
            # find the lock still held. On the job's connection: the job's hold remains.
            with contextlib.suppress(psycopg2.Error), conn.cursor() as cursor:
                cursor.execute("select pg_advisory_unlock(%s)", (lock_key(organization_id),))
    finally:
        if own:
            conn.close()


def _locked_run(conn: Any, pg: dict[str, str], run: LoaderRun, options: RunOptions) -> RunResult:
    organization_id = run.client.settings.organization_id
    run_log = RunLog(conn)
    run_log.ensure()
    dead = run_log.fail_dead_runs(organization_id, run.started_at)
    if dead:
        log.warning("marked %d run(s) that ended without finishing as failed", dead)
    run_id = f"{run.started_at:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    organization_upgrade.upgrade(conn)  # a warehouse of one organization gains the column
    pipeline = open_pipeline(
        pg,
        options.pipelines_dir,
        run.full_refresh,
        run.pipeline_name,
        run.staging_dataset_layout,
        organization_id,
    )
    plan = _plan(conn, run_log, pipeline, run, options)
    run_log.start(run_id, organization_id, run.selected, run.started_at)
    result = RunResult(run_id=run_id, status="running", exit_code=EXIT_OK)
    result.plan = {**plan.to_json(), "summary": plan.summary()}
    if plan.wait_until is not None or not run.selected:
        return _defer(run_log, run, result, plan)
    try:
        _load(pipeline, run, result)
    except BaseException as exc:
        run.fill(result)
        result.quarantined = run.counters.quarantine.save(conn, run_id)
        result.status = "failed"
        run_log.finish(run_id, "failed", result, reason(exc))
        raise
    run.fill(result)
    result.quarantined = run.counters.quarantine.save(conn, run_id)
    error = None
    if run.quota_exhausted:
        result.status, result.exit_code = "quota_exhausted", EXIT_QUOTA
        stopped = run.counters.stopped_by_quota or ["run"]
        error = "daily API quota used up during: " + ", ".join(stopped)
    else:
        result.status = "success"
    result.error = error
    run_log.finish(run_id, result.status, result, error)
    return result


def _plan(
    conn: Any, run_log: RunLog, pipeline: dlt.Pipeline, run: LoaderRun, options: RunOptions
) -> budget_model.Plan:
    """The run's API budget plan (loader/run/budget/). It chooses the resources and the
    details budget unless the operator did (--resources, --full-refresh) or turned planning
    off (DAILY_CALL_BUDGET = 0); a quota stop's reset time holds for every run."""
    config = run.config
    plan = budget_inputs.make_plan(
        run_log,
        run.client.settings.organization_id,
        Destination(pipeline.sql_client(), run.client.settings.organization_id),
        run.started_at,
        config.daily_call_budget or None,
        config.reserved_calls,
        run.details_budget,
    )
    planned = not options.resources and not options.full_refresh and config.daily_call_budget != 0
    if planned and plan.wait_until is None:
        run.selected = budget_inputs.resources_of(plan)
        run.details_budget = plan.details_budget
    for line in plan.summary():
        log.info("plan: %s", line.strip())
    return plan


def _defer(
    run_log: RunLog, run: LoaderRun, result: RunResult, plan: budget_model.Plan
) -> RunResult:
    """A run that makes no call: waiting for Zoho's quota reset (exit 3), or today's
    budget is spent (exit 0, status `deferred`)."""
    if plan.wait_until is not None:
        result.status, result.exit_code = "waiting", EXIT_QUOTA
        result.quota_reset_at = plan.wait_until
        error = plan.notes[0]
    else:
        result.status = "deferred"
        error = (
            f"today's API budget is spent ({plan.calls_today} of {plan.allowance} calls): "
            "nothing runs before the quota day ends"
        )
    log.warning("%s", error)
    result.error = error
    run_log.finish(result.run_id, result.status, result, error)
    return result
