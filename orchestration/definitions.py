"""The Dagster definitions: `dagster dev -m orchestration.definitions` (or `make orchestrate`).

- **Partitions**: one dynamic partition per organization (`zoho_organizations`), added from
  the configuration (orchestration/organizations.py) by the sensor
  `organizations_from_configuration`, which also starts a first load of each new one.
- **Load**: `zoho_books_raw`, a partitioned dlt asset (dagster-dlt's `@dlt_assets`): one
  asset per raw table, built from the loader's real source (loader/zoho/source.py). A
  partition's run is the loader's own run (`loader.run.pipeline.run_sync`) for that
  organization: its advisory lock, its `sync_runs` row, its API budget planner, its two
  `pipeline.run` calls (listings, then the details they made pending), on the loader's
  pipeline and staging dataset of that organization (loader/zoho/organizations.py:
  `zoho_books` / `zoho_staging_staging` for the organization of `[sources.zoho_books]`,
  `zoho_books_<id>` / `zoho_staging_staging_<id>` for the others: the same under cron and
  Dagster). dagster-dlt's `DagsterDltResource.run` would run the source once, no planner.
- **Transform**: `zoho_books_dbt`, the dbt project's models, snapshots and tests as assets
  from its manifest (dagster-dbt): the dbt sources are the raw tables' asset keys
  (`zoho_books/<table>`), so the lineage runs raw tables → staging → marts. `dbt build`
  runs when a load has updated its sources (automation condition `eager`, not waiting for
  organizations never loaded; evaluated by the sensor `dbt_after_loads`: once no load is
  in progress), each build in its own target folder (dagster-dbt's default).
- **Schedule**: `every_15_minutes` requests one load run per organization.
- **Limits** (dagster.yaml): one run per partition at a time (a run tag limit), and the
  pool `zoho_warehouse` over the loads and the dbt builds caps what the warehouse sees.

The webhook worker (`python -m loader serve`) stays outside Dagster: it applies single
records and rebuilds the marts it touched itself. The sensor `webhook_rebuilds` observes
those rebuilds (reads the worker's dbt run results and reports the models as materialized),
so Dagster shows them and does not build them a second time.
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation itself.

import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dlt import DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from loader.errors import EXIT_OK, EXIT_QUOTA, ConfigError
from loader.names import LOCAL_DIR, PIPELINE_NAME, RAW_SCHEMA, ROOT
from loader.ops.dbt import BUILD as DBT_BUILD
from loader.ops.dbt import DbtRunner
from loader.run.pipeline import RunOptions, run_sync
from loader.zoho.constants import SOURCE_SECTION
from loader.zoho.http import ZohoClient, ZohoSettings
from loader.zoho.modules import ALL_RESOURCES
from loader.zoho.resources.common import Counters
from loader.zoho.source import zoho_books_source
from orchestration.organizations import PARTITIONS_NAME, organization, partition_keys

ORGANIZATIONS = dg.DynamicPartitionsDefinition(name=PARTITIONS_NAME)
# The loads and the dbt builds share this pool: its limit (dagster.yaml, `pools`) is how
# many of them the warehouse sees at once.
WAREHOUSE_POOL = "zoho_warehouse"
RAW_GROUP = "zoho_books_raw"
# The venv's dbt (the Makefile runs .venv/bin/python without putting .venv/bin on PATH).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
WORK_DIR = Path(os.environ.get("ORCHESTRATION_DIR") or LOCAL_DIR / "dagster")


# ----- the load ----------------------------------------------------------------------------
def _source_shape() -> Any:
    """The loader's source, built only for its shape (which resources write which tables):
    it is never run, and its client is never used (no setting is read, no call made)."""
    settings = ZohoSettings(
        organization_id="shape",
        client_id="shape",
        client_secret="shape",
        refresh_token="shape",
        api_base_url="http://127.0.0.1:9/books/v3",
        accounts_url="http://127.0.0.1:9",
        token_cache_path=str(WORK_DIR / "unused-token.json"),
        max_calls_per_minute=1,
        max_concurrency=1,
    )
    source = zoho_books_source(ZohoClient(settings), Counters(), datetime.now(timezone.utc))
    return source.with_resources(*ALL_RESOURCES)


class RawTables(DagsterDltTranslator):
    """Each resource is its raw table `zoho_books/<table>`: the key dagster-dbt gives the
    dbt source table of the same name, so dbt's models hang below the loads."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey([SOURCE_SECTION, data.resource.name]),
            deps=[],
            group_name=RAW_GROUP,
        )


@dlt_assets(
    dlt_source=_source_shape(),
    dlt_pipeline=dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination="postgres",
        dataset_name=RAW_SCHEMA,
        pipelines_dir=str(WORK_DIR / "dlt-shape"),
    ),
    name="zoho_books_load",
    dagster_dlt_translator=RawTables(),
    partitions_def=ORGANIZATIONS,
    pool=WAREHOUSE_POOL,
)
def zoho_books_raw(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """One organization's loader run (the partition's), on its own pipeline and staging
    dataset; every raw table is reported with the rows this run loaded into it."""
    try:
        org = organization(context.partition_key)
    except ConfigError as exc:  # a partition the configuration no longer lists
        raise dg.Failure(str(exc)) from exc
    # the organization's own pipeline, staging dataset, lock and token cache (the loader's)
    result = run_sync(RunOptions(organization=org))
    context.log.info(
        "organization %s: %s, %d API calls, rows %s",
        org.key,
        result.status,
        result.api_calls,
        result.rows_loaded,
    )
    if result.exit_code not in (EXIT_OK, EXIT_QUOTA):
        raise dg.Failure(f"loader run {result.run_id} ended {result.status}")
    for key in sorted(context.selected_asset_keys):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "rows_loaded": result.rows_loaded.get(key.path[-1], 0),
                "run_status": result.status,
                "loader_run_id": result.run_id,
                "api_calls": result.api_calls,
                "dlt_pipeline": org.pipeline_name,
            },
        )


# ----- the dbt project ---------------------------------------------------------------------
# The builds' target folder: each build writes to its own subfolder of it (dagster-dbt),
# and copies the `partial_parse.msgpack` found here first, so no build parses the whole
# project again. dagster-dbt reads the folder from DBT_TARGET_PATH; without it dbt's
# default `target/` would be shared with a `dbt` run by hand.
os.environ.setdefault("DBT_TARGET_PATH", str(WORK_DIR / "dbt-target"))
DBT_PROJECT = DbtProject(
    project_dir=ROOT,
    # The manifest Dagster reads its dbt assets from (`dbt parse`), and its partial parse.
    target_path=Path(os.environ["DBT_TARGET_PATH"]),
    profiles_dir=os.environ.get("DBT_PROFILES_DIR") or ROOT,
)


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [ROOT / "dbt_project.yml", *(ROOT / "dbt_project").rglob("*")]
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


def prepare_manifest(project: DbtProject = DBT_PROJECT) -> Path:
    """The project's manifest, parsed again (`dbt parse`) when a file of the project is
    newer. Parsing reads the profile, not the warehouse: PG* variables must be set."""
    if _manifest_is_stale(project):
        dbt = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
        dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project.manifest_path


# dbt's assets build once a load updated their sources and none is running (`eager`), but
# not only once every organization has loaded: a raw table is one partition per
# organization, and `eager` would wait while any partition is missing (a new organization
# not loaded yet, or one whose first load fails) and so hold every organization's marts.
DBT_AUTOMATION = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


class DbtAssets(DagsterDbtTranslator):
    """dbt's assets build once the loads updated their sources and none is running."""

    def get_automation_condition(self, dbt_resource_props: Any) -> dg.AutomationCondition:
        return DBT_AUTOMATION


@dbt_assets(
    manifest=prepare_manifest(),
    project=DBT_PROJECT,
    name="zoho_books_dbt",
    dagster_dbt_translator=DbtAssets(),
    pool=WAREHOUSE_POOL,
)
def zoho_books_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """`dbt build` of the selected models, snapshots and tests, as the job builds them
    (dbt's unit tests run in CI, not at every build). Each invocation writes to its own
    target folder (<DBT_TARGET_PATH or target>/<op>-<run>-<uuid>), so concurrent builds
    never share compiled SQL, run results or partial parse state."""
    invocation = dbt.cli(list(DBT_BUILD), context=context)
    context.log.info("dbt target folder: %s", invocation.target_path)
    yield from invocation.stream()


# ----- jobs, schedule, sensor -------------------------------------------------------------
load_job = dg.define_asset_job(
    "zoho_books_load_job",
    selection=dg.AssetSelection.assets(zoho_books_raw),
    # one step: run it in the run's own process, not in a second one that imports the
    # definitions again (about 6 CPU-seconds and 260 MB each; docs/scaling.md)
    executor_def=dg.in_process_executor,
    # a failed load is retried once from the failure (dagster.yaml: run_retries)
    tags={"dagster/max_retries": "1", "dagster/retry_strategy": "FROM_FAILURE"},
)


@dg.schedule(
    cron_schedule="*/15 * * * *",
    job=load_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def every_15_minutes(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
    """One load run per organization every 15 minutes (an organization whose previous run
    still runs waits in the queue: dagster.yaml allows one run per partition)."""
    tick = context.scheduled_execution_time
    for key in context.instance.get_dynamic_partitions(PARTITIONS_NAME):
        yield dg.RunRequest(run_key=f"{key}:{tick:%Y%m%dT%H%M}", partition_key=key)


@dg.sensor(
    job=load_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def organizations_from_configuration(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Adds a partition for each organization the configuration names and Dagster does
    not know yet, and starts its first load. One the configuration drops keeps its
    partition (its history stays); deleting it is the operator's choice."""
    known = set(context.instance.get_dynamic_partitions(PARTITIONS_NAME))
    new = [key for key in partition_keys() if key not in known]
    if not new:
        return dg.SensorResult(skip_reason="no new organization in the configuration")
    return dg.SensorResult(
        dynamic_partitions_requests=[ORGANIZATIONS.build_add_request(new)],
        run_requests=[dg.RunRequest(run_key=f"first:{key}", partition_key=key) for key in new],
    )


# ----- the webhook worker's rebuilds, observed ------------------------------------------
# Where the webhook worker's dbt writes its run results (loader/ops/dbt.py, DbtRunner: the
# worker's rebuilds in its own target folder). A worker on another host: mount its folder
# here, or leave the sensor stopped.
WEBHOOKS_DBT_TARGET = Path(os.environ.get("WEBHOOKS_DBT_TARGET_PATH") or DbtRunner().target_path)
BUILT_NODES = ("model", "snapshot", "seed")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # none yet, or dbt is writing it
        return None


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def webhook_rebuilds(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """Observes the webhook worker's rebuilds, never runs them: each model and snapshot
    its last dbt build built (its run_results.json) is reported materialized, once per
    dbt invocation (the cursor). Dagster's UI then shows the marts the worker rebuilt as
    fresh, and the dbt automation (`dbt_after_loads`) does not build them again: the
    worker's writes to the raw tables are not Dagster events, and a model reported
    together with what it depends on is up to date."""
    results = _read_json(WEBHOOKS_DBT_TARGET / "run_results.json")
    invocation = (results or {}).get("metadata", {}).get("invocation_id")
    if not invocation or invocation == context.cursor:
        return dg.SensorResult(skip_reason="no new rebuild by the webhook worker")
    manifest = _read_json(DBT_PROJECT.manifest_path) or {}
    nodes = manifest.get("nodes", {})
    translator = DbtAssets()
    events = []
    for node in results.get("results", []):
        unique_id = node.get("unique_id", "")
        if node.get("status") != "success" or unique_id not in nodes:
            continue
        if unique_id.split(".", 1)[0] not in BUILT_NODES:
            continue
        spec = translator.get_asset_spec(manifest, unique_id, DBT_PROJECT)
        events.append(
            dg.AssetMaterialization(
                asset_key=spec.key,
                description="rebuilt by the webhook worker",
                metadata={
                    "dbt_invocation_id": invocation,
                    "execution_time": node.get("execution_time", 0.0),
                },
            )
        )
    return dg.SensorResult(asset_events=events, cursor=invocation)


# Evaluates the dbt assets' automation condition (eager) every minute: a dbt build once
# loads have updated the raw tables and none is in progress.
dbt_after_loads = dg.AutomationConditionSensorDefinition(
    "dbt_after_loads",
    target=dg.AssetSelection.assets(zoho_books_dbt),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)

defs = dg.Definitions(
    assets=[zoho_books_raw, zoho_books_dbt],
    jobs=[load_job],
    schedules=[every_15_minutes],
    sensors=[organizations_from_configuration, dbt_after_loads, webhook_rebuilds],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=DBT_EXECUTABLE)},
)
