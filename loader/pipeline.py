"""One run of the `zoho_books` pipeline against the warehouse: lock, run log, loads.

A run:
1. resolves the source's settings (a bad or missing one is a ConfigError, exit 2);
2. takes a PostgreSQL advisory lock keyed by the organization, or exits 75 touching
   nothing when another run holds it;
3. marks runs that died `running` as `failed` and writes its own `running` row in
   `zoho_staging.sync_runs`;
4. loads what an earlier, killed run left extracted but not loaded;
5. loads the listings (organizations, items, contacts, invoices, price lists);
6. then loads invoice details and line items, whose pending set is read from the tables
   step 5 just committed;
7. finishes its `sync_runs` row: success, quota_exhausted or failed, with rows per table,
   API calls, tokens minted, the quota Zoho says is left and the details still pending.

Cursors live in dlt's state, which dlt commits in the same load as the rows: a run that
fails before its load leaves the cursors where they were.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt
import psycopg2
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigurationValueError,
    ConfigValueCannotBeCoercedException,
)
from dlt.destinations.exceptions import DatabaseException
from dlt.destinations.impl.postgres.postgres import PostgresClient
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

from loader import warehouse
from loader.errors import (
    EXIT_OK,
    EXIT_QUOTA,
    AlreadyRunning,
    ConfigError,
    find_loader_error,
)
from loader.progress import Progress
from loader.settings import (
    ALL_RESOURCES,
    DATASET_NAME,
    DEFAULT_PIPELINES_DIR,
    DETAIL_RESOURCES,
    LIST_RESOURCES,
    PIPELINE_NAME,
    PIPELINES_DIR_ENV,
    STALE_RUN_SECONDS,
    env_var,
)
from loader.source import PRIMARY_KEYS, SyncRun, count_pending_details, zoho_books_source
from loader.stored import StagingReader

log = logging.getLogger(__name__)

# Resources whose dlt state is a cursor (or a freshness stamp) that --full-refresh resets.
STATEFUL_RESOURCES = ("organizations", "contacts", "invoices")

SYNC_RUNS_DDL = """
create table if not exists {table} (
    run_id text primary key,
    organization_id text,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null,
    resources text,
    rows_loaded jsonb,
    api_calls bigint,
    api_calls_by_endpoint jsonb,
    tokens_minted bigint,
    quota_remaining bigint,
    details_pending bigint,
    error text
)
"""


@dataclass
class RunOptions:
    resources: Sequence[str] | None = None
    full_refresh: bool = False
    details_budget: int | None = None
    pipelines_dir: str | None = None
    progress: Progress | None = None


@dataclass
class RunResult:
    run_id: str
    status: str
    exit_code: int
    rows_loaded: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    tokens_minted: int = 0
    quota_remaining: int | None = None
    details_pending: int | None = None
    stopped_by_quota: list[str] = field(default_factory=list)


def pipelines_dir(option: str | None = None) -> Path:
    """Where dlt keeps this pipeline's local state: option, $DLT_PIPELINES_DIR, .local/dlt."""
    return Path(option or os.environ.get(PIPELINES_DIR_ENV) or DEFAULT_PIPELINES_DIR)


class SplitKeyMergeJob(SqlMergeFollowupJob):
    """dlt's delete-insert merge, deleting by each key in its own statement.

    For a table with both a primary key and a merge key (invoice_line_items: line_item_id
    and invoice_id) dlt deletes with one `EXISTS (... d.pk = s.pk OR d.mk = s.mk)`.
    PostgreSQL cannot hash-join on an OR, so it runs a nested loop of every stored row
    against every staged row: at 30k invoices a 1%-change run spent 12.3 s of its 27 s
    there (135k stored lines x 1.3k staged = 178M comparisons), and the cost grows with
    stored x changed (about 10x that at 100k invoices). One DELETE per key deletes the
    same rows (the union) with a hash semi-join each, in milliseconds. dlt splits the
    clauses the same way for engines without OR in subqueries (BigQuery); single-key
    tables keep dlt's one statement."""

    @classmethod
    def gen_key_table_clauses(
        cls,
        root_table_name: str,
        staging_root_table_name: str,
        primary_keys: Sequence[str],
        merge_keys: Sequence[str],
        for_delete: bool,
        source_filter: str | None = None,
    ) -> list[str]:
        key_clauses = cls._gen_key_table_clauses(primary_keys, merge_keys)
        if not for_delete or len(key_clauses) < 2:
            filter_kwargs = {"source_filter": source_filter} if source_filter else {}
            return super().gen_key_table_clauses(
                root_table_name,
                staging_root_table_name,
                primary_keys,
                merge_keys,
                for_delete,
                **filter_kwargs,
            )
        return [
            f"FROM {root_table_name} as d WHERE EXISTS (SELECT 1 FROM {staging_root_table_name}"
            f" as s WHERE {cls._gen_staging_rows_cond(c.format(d='d', s='s'), source_filter)})"
            for c in key_clauses
        ]


class _PostgresClient(PostgresClient):
    def _create_merge_followup_jobs(self, table_chain: Sequence[Any]) -> list[Any]:
        return [SplitKeyMergeJob.from_table_chain(table_chain, self.sql_client)]


class _Postgres(dlt.destinations.postgres):
    """dlt's postgres destination with SplitKeyMergeJob. It keeps postgres' type, so
    pipeline state written by (or for) the plain destination stays valid."""

    @property
    def client_class(self) -> Any:
        return _PostgresClient

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.postgres"


def make_pipeline(pg: dict[str, str], pipelines_dir_path: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=_Postgres(warehouse.dlt_credentials(pg)),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(pipelines_dir_path),
    )


def select_resources(names: Sequence[str] | None) -> list[str]:
    """Validated resource names; details and line items always go together (one call
    feeds both, and "pending" is judged on invoice_details)."""
    if not names:
        return list(ALL_RESOURCES)
    unknown = [n for n in names if n not in ALL_RESOURCES]
    if unknown:
        raise ConfigError(
            f"unknown resource(s) {', '.join(unknown)}: choose from {', '.join(ALL_RESOURCES)}"
        )
    chosen = set(names)
    if chosen & set(DETAIL_RESOURCES):
        chosen |= set(DETAIL_RESOURCES)
    return [n for n in ALL_RESOURCES if n in chosen]


def create_source(run: SyncRun) -> Any:
    """The configured source, with dlt's configuration errors turned into one line."""
    try:
        return zoho_books_source(run=run)
    except ConfigFieldMissingException as exc:
        names = ", ".join(env_var(name) for name in exc.fields)
        raise ConfigError(
            f"missing setting {names}: set it as an environment variable or in "
            ".dlt/secrets.toml under [sources.zoho_books] (see docs/configuration.md)"
        ) from None
    except ConfigValueCannotBeCoercedException as exc:
        # never echo the value: it may be a secret
        raise ConfigError(
            f"{env_var(exc.field_name)} has a value that is not a valid {exc.hint}"
        ) from None
    except ConfigurationValueError as exc:
        raise ConfigError(f"invalid setting in sources.zoho_books: {exc}") from None
    except Exception as exc:
        found = find_loader_error(exc)
        if found is not None:
            raise found from None
        raise


def lock_key(organization_id: str) -> int:
    """A stable signed 64-bit advisory lock key for this loader and organization."""
    digest = hashlib.sha256(f"zoho_books:{organization_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def connect(pg: dict[str, str]) -> Any:
    conn = psycopg2.connect(
        host=pg["PGHOST"],
        port=pg["PGPORT"],
        user=pg["PGUSER"],
        password=pg["PGPASSWORD"],
        dbname=pg["PGDATABASE"],
        application_name="zoho_books loader",
    )
    conn.autocommit = True
    return conn


def one_line(exc: BaseException) -> str:
    """An error for the run log: the loader's own message, else the innermost cause (dlt
    wraps failures in "Pipeline execution failed at step=..." envelopes)."""
    found = find_loader_error(exc)
    if found is not None:
        text = str(found)
    else:
        inner = exc
        while inner.__cause__ is not None:
            inner = inner.__cause__
        text = f"{type(inner).__name__}: {inner}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:1000]


class RunLog:
    """`zoho_staging.sync_runs`: one row per run, the heartbeat dbt's freshness reads."""

    def __init__(self, conn: Any, schema: str = DATASET_NAME) -> None:
        self.conn = conn
        self.table = f'"{schema}".sync_runs'
        self.schema = schema

    def _execute(self, sql: str, params: Any = None) -> list[tuple]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def ensure(self) -> None:
        self._execute(f'create schema if not exists "{self.schema}"')
        self._execute(SYNC_RUNS_DDL.format(table=self.table))

    def exists(self) -> bool:
        rows = self._execute("select to_regclass(%s)", (self.table,))
        return bool(rows and rows[0][0])

    def fail_dead_runs(self, organization_id: str) -> int:
        """Runs still `running` that cannot be: this organization's (we hold its lock, so
        none of them is alive) and anyone's started over an hour ago."""
        rows = self._execute(
            f"""
            update {self.table}
            set status = 'failed', finished_at = now(),
                error = coalesce(error, 'the run ended without finishing (killed or crashed)')
            where status = 'running'
              and (organization_id = %s or started_at < now() - %s * interval '1 second')
            returning run_id
            """,
            (organization_id, STALE_RUN_SECONDS),
        )
        return len(rows)

    def start(self, run_id: str, organization_id: str, resources: Iterable[str]) -> None:
        self._execute(
            f"insert into {self.table} (run_id, organization_id, started_at, status, resources)"
            " values (%s, %s, now(), 'running', %s)",
            (run_id, organization_id, ",".join(resources)),
        )

    def finish(self, run_id: str, status: str, result: RunResult, error: str | None) -> None:
        self._execute(
            f"""
            update {self.table}
            set finished_at = now(), status = %s, rows_loaded = %s, api_calls = %s,
                api_calls_by_endpoint = %s, tokens_minted = %s, quota_remaining = %s,
                details_pending = %s, error = %s
            where run_id = %s
            """,
            (
                status,
                json.dumps(result.rows_loaded),
                result.api_calls,
                json.dumps(result.calls),
                result.tokens_minted,
                result.quota_remaining,
                result.details_pending,
                error,
                run_id,
            ),
        )

    def recent(self, limit: int = 10) -> list[dict[str, Any]]:
        if not self.exists():
            return []
        with self.conn.cursor() as cursor:
            cursor.execute(
                f"select * from {self.table} order by started_at desc limit %s", (limit,)
            )
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _row_counts(pipeline: dlt.Pipeline) -> Counter[str]:
    """Rows per Zoho table of the pipeline's last normalize step."""
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    counts = info.row_counts if info is not None else {}
    return Counter({t: n for t, n in counts.items() if not t.startswith("_dlt")})


def _fill_stats(result: RunResult, run: SyncRun) -> None:
    if run.client is not None:
        stats = run.client.stats
        result.api_calls = stats.api_calls
        result.calls = dict(stats.calls)
        result.tokens_minted = run.client.tokens_minted
        result.quota_remaining = stats.quota_remaining
    result.stopped_by_quota = list(run.stopped_by_quota)


def _load(
    pipeline: dlt.Pipeline, source: Any, run: SyncRun, selected: list[str], result: RunResult
) -> None:
    rows: Counter[str] = Counter()
    if pipeline.has_pending_data:
        log.info("loading data an earlier run extracted but did not load")
        pipeline.normalize()
        rows += _row_counts(pipeline)
        pipeline.load()
    stateful = [r for r in STATEFUL_RESOURCES if r in selected]
    if run.full_refresh and stateful and pipeline.default_schema_name:
        from dlt.pipeline.helpers import pipeline_drop

        log.info("full refresh: forgetting the cursors of %s", ", ".join(stateful))
        pipeline_drop(pipeline, resources=stateful, state_only=True)()
    listings = [r for r in selected if r in LIST_RESOURCES]
    if listings:
        pipeline.run(source.with_resources(*listings))
        rows += _row_counts(pipeline)
    details = [r for r in selected if r in DETAIL_RESOURCES]
    if details and not run.quota_exhausted:
        pipeline.run(source.with_resources(*details))
        rows += _row_counts(pipeline)
        run.progress.done(
            "invoice_details", f"{run.details_fetched} read, {run.details_missing} gone"
        )
    result.rows_loaded = dict(rows)
    _index_and_analyze(pipeline, [table for table, count in rows.items() if count])
    result.details_pending = count_pending_details(StagingReader(pipeline.sql_client()))


# Indexes the loader keeps on the raw tables, besides dlt's own. Each table's key gets a
# UNIQUE index: PostgreSQL then refuses a second row for a key at write time, and dbt's
# `unique_key` source tests need not scan millions of rows to prove it. The others serve
# lookups: `_dlt_load_id` (dbt's "rows loaded since"), the merge key of line items and a
# product's rows in every price list.
UNIQUE_INDEXES: dict[str, list[str]] = {
    table: [key] if isinstance(key, str) else list(key) for table, key in PRIMARY_KEYS.items()
}
RAW_INDEXES: dict[str, list[list[str]]] = {table: [["_dlt_load_id"]] for table in PRIMARY_KEYS}
RAW_INDEXES["invoice_line_items"].append(["invoice_id"])  # its merge key
RAW_INDEXES["pricebook_items"].append(["item_id"])  # a product's rows in every list


def _index_name(table: str, columns: list[str], suffix: str = "") -> str:
    return f"{table}__{'_'.join(columns).strip('_')}{suffix}"


def _index_and_analyze(pipeline: dlt.Pipeline, written: list[str]) -> None:
    """Keep the raw tables' indexes (created once) and refresh the planner statistics of
    the tables this load wrote.

    dbt's next build reads "rows loaded after the last load it read" from them
    (`_dlt_load_id > x`: a few thousand rows of millions after a 1% change) and looks up
    the products those rows name; dlt's next merge deletes by key. Without indexes each is
    a scan of the whole table; without fresh statistics PostgreSQL guesses the size of the
    new slice from the table as it was before the load, and may sort all of it. Every run
    checks every table's indexes (a catalog lookup each), so a table whose unique index
    could not be built is reported again until it is mended."""
    reader = StagingReader(pipeline.sql_client())
    with pipeline.sql_client() as client:
        for table in sorted(set(UNIQUE_INDEXES) | set(written)):
            existing = reader.existing_columns(table)
            if not existing:
                continue  # not created yet (dlt creates a table with its first rows)
            qualified = client.make_qualified_table_name(table)
            key = UNIQUE_INDEXES.get(table)
            if key and set(key) <= existing:
                _ensure_unique_index(client, table, key)
            for columns in RAW_INDEXES.get(table, []):
                if set(columns) <= existing:
                    client.execute_sql(
                        f"create index if not exists "
                        f"{client.escape_column_name(_index_name(table, columns))} "
                        f"on {qualified} ({', '.join(columns)})"
                    )
            if table in written:
                client.execute_sql(f"analyze {qualified}")


def _ensure_unique_index(client: Any, table: str, key: list[str]) -> None:
    """The table's key as a UNIQUE index; a warning (and a plain index) if rows repeat it.

    Warehouses loaded before this index existed have a plain index of the same columns
    (`<table>__<key>`); it is dropped once the unique one is built."""
    qualified = client.make_qualified_table_name(table)
    unique = client.escape_column_name(_index_name(table, key, "__unique"))
    plain = client.escape_column_name(_index_name(table, key))
    schema = client.escape_column_name(client.dataset_name)
    try:
        client.execute_sql(
            f"create unique index if not exists {unique} on {qualified} ({', '.join(key)})"
        )
    except DatabaseException as exc:
        if not isinstance(exc.dbapi_exception, psycopg2.errors.UniqueViolation):
            raise
        client.execute_sql(f"create index if not exists {plain} on {qualified} ({', '.join(key)})")
        log.warning(
            "%s holds more than one row for some %s, so PostgreSQL cannot enforce it as "
            "unique: dbt's unique_key test lists them; `python -m loader run --full-refresh` "
            "rewrites each key Zoho still lists once (delete the older copies of any other)",
            qualified,
            " + ".join(key),
        )
        return
    client.execute_sql(f"drop index if exists {schema}.{plain}")


def run_sync(options: RunOptions) -> RunResult:
    """One complete run; raises ConfigError / AlreadyRunning / anything unexpected."""
    selected = select_resources(options.resources)
    run = SyncRun(
        full_refresh=options.full_refresh,
        details_budget=options.details_budget,
        progress=options.progress or Progress(),
    )
    source = create_source(run)
    assert run.settings is not None
    organization_id = run.settings.organization_id
    pg = warehouse.connection_env()
    conn = connect(pg)
    try:
        with conn.cursor() as cursor:
            cursor.execute("select pg_try_advisory_lock(%s)", (lock_key(organization_id),))
            locked = cursor.fetchone()[0]
        if not locked:
            raise AlreadyRunning(
                f"another loader run for organization {organization_id} is still running "
                "on this warehouse; this one did nothing (try again when it has finished)"
            )
        return _locked_run(conn, pg, source, run, selected, options)
    finally:
        conn.close()  # also releases the advisory lock


def _locked_run(
    conn: Any,
    pg: dict[str, str],
    source: Any,
    run: SyncRun,
    selected: list[str],
    options: RunOptions,
) -> RunResult:
    assert run.settings is not None
    run_log = RunLog(conn)
    run_log.ensure()
    dead = run_log.fail_dead_runs(run.settings.organization_id)
    if dead:
        log.warning("marked %d run(s) that ended without finishing as failed", dead)
    run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    run_log.start(run_id, run.settings.organization_id, selected)
    result = RunResult(run_id=run_id, status="running", exit_code=EXIT_OK)
    pipeline = make_pipeline(pg, pipelines_dir(options.pipelines_dir))
    try:
        _load(pipeline, source, run, selected, result)
    except BaseException as exc:
        _fill_stats(result, run)
        result.status = "failed"
        run_log.finish(run_id, "failed", result, one_line(exc))
        raise
    _fill_stats(result, run)
    if run.quota_exhausted:
        result.status, result.exit_code = "quota_exhausted", EXIT_QUOTA
    else:
        result.status = "success"
    error = None
    if run.quota_exhausted:
        error = "daily API quota used up during: " + ", ".join(run.stopped_by_quota or ["run"])
    run_log.finish(run_id, result.status, result, error)
    return result


# ----- status -----------------------------------------------------------------------------
@dataclass
class StatusReport:
    runs: list[dict[str, Any]]
    cursors: dict[str, Any]
    details_pending: int | None


def read_status(options: RunOptions, limit: int = 10) -> StatusReport:
    """Last runs, cursors and pending details, without calling Zoho."""
    pg = warehouse.connection_env()
    conn = connect(pg)
    try:
        runs = RunLog(conn).recent(limit)
    finally:
        conn.close()
    pipeline = make_pipeline(pg, pipelines_dir(options.pipelines_dir))
    cursors: dict[str, Any] = {}
    pending: int | None = None
    try:
        pipeline.sync_destination()
        resources = pipeline.state.get("sources", {}).get("zoho_books", {}).get("resources", {})
        for name, state in resources.items():
            for column, inc in (state.get("incremental") or {}).items():
                cursors[f"{name}.{column}"] = inc.get("last_value")
            if "fetched_at" in state:
                cursors[f"{name}.fetched_at"] = datetime.fromtimestamp(
                    float(state["fetched_at"]), timezone.utc
                )
        pending = count_pending_details(StagingReader(pipeline.sql_client()))
    except Exception as exc:  # a warehouse without loads yet: report what there is
        log.debug("no pipeline state yet: %s", exc)
    return StatusReport(runs=runs, cursors=cursors, details_pending=pending)
