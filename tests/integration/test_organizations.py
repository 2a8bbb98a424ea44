"""Several organizations in one warehouse, against the simulator serving two (one
accounts server, one refresh token, separate data and quotas; the same record ids in
both) and a real PostgreSQL: two organizations' loader runs at the same time lose and
duplicate no row, each organization's rows equal a load of that organization alone, and a
warehouse of one organization upgrades in place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_job
from tests.loader_checks import differences, duplicate_keys, loader_env
from zoho_sim import ZohoSimulator

SECOND = "SOURCES__ZOHO_BOOKS__ORGANIZATIONS__SECOND__ORGANIZATION_ID"


@pytest.fixture
def sim() -> Iterator[ZohoSimulator]:
    with ZohoSimulator("unit", seed=1, orgs=2) as simulator:
        simulator.configure(per_minute=100_000)
        for org_id in simulator.organization_ids:
            simulator.org(org_id).configure(per_minute=100_000)
        yield simulator


@pytest.fixture
def warehouse(clean_warehouse, pg_query) -> dict[str, str]:
    for (schema,) in pg_query(
        "select nspname from pg_namespace where nspname like 'zoho_staging_staging_%'"
    ):
        pg_query(f"drop schema {schema} cascade")
    return clean_warehouse


def environment(sim: ZohoSimulator, pg: dict[str, str], work: Path, second: bool) -> dict:
    env = {**os.environ, **loader_env(sim, pg, work), "PYTHONPATH": str(ROOT)}
    if second:
        env[SECOND] = sim.organization_ids[1]
    return env


def start(env: dict[str, str], org: str | None = None) -> subprocess.Popen:
    argv = [sys.executable, "-m", "loader", "run"] + (["--org", org] if org else [])
    return subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]


def of_org(query, organization_id: str):
    """`query` seeing only one organization's rows in every raw table."""
    assert organization_id.isdigit()

    def scoped(sql: str, params=None):
        only = f"where organization_id = '{organization_id}'"
        sql = re.sub(
            r"from zoho_staging\.(\w+)", rf"from (select * from zoho_staging.\1 {only}) as \1", sql
        )
        return query(sql, params)

    return scoped


def org_rows(pg_query, organization_id: str) -> dict[str, list[tuple]]:
    """Every raw table's rows of one organization, without dlt's bookkeeping columns."""
    tables = [
        r[0]
        for r in pg_query(
            "select table_name from information_schema.columns where table_schema = "
            "'zoho_staging' and column_name = 'organization_id' and table_name <> 'sync_runs' "
            "order by 1"
        )
    ]
    rows = {}
    for table in tables:
        columns = [
            r[0]
            for r in pg_query(
                "select column_name from information_schema.columns where table_schema = "
                "'zoho_staging' and table_name = %s and column_name not like '\\_dlt%%' "
                "and column_name not in ('details_fetched_at', 'deleted_at', 'read_at') order by 1",
                (table,),
            )
        ]
        rows[table] = sorted(
            pg_query(
                f"select {', '.join(columns)} from zoho_staging.{table} where organization_id = %s",
                (organization_id,),
            ),
            key=repr,
        )
    return rows


def test_two_organizations_loaded_at_once_lose_and_duplicate_no_row(
    sim, warehouse, pg_query, tmp_path
):
    first, second = sim.organization_ids
    env = environment(sim, warehouse, tmp_path, second=True)
    runs = [start(env, first), start(env, second)]
    for run in runs:
        finish(run)

    assert duplicate_keys(pg_query) == {}
    assert differences(of_org(pg_query, first), sim.org(first)) == {}
    assert differences(of_org(pg_query, second), sim.org(second)) == {}
    # the same Zoho id names a record in each organization: both rows are kept
    shared = pg_query(
        "select count(*) from (select item_id from zoho_staging.items "
        "group by item_id having count(distinct organization_id) = 2) both_orgs"
    )[0][0]
    assert shared > 0
    # each organization has its own dlt pipeline and state in the warehouse
    pipelines = {
        r[0] for r in pg_query("select pipeline_name from zoho_staging._dlt_pipeline_state")
    }
    assert pipelines == {"zoho_books", f"zoho_books_{second}"}
    runs_by_org = dict(
        pg_query(
            "select organization_id, count(*) from zoho_staging.sync_runs "
            "where status = 'success' group by 1"
        )
    )
    assert runs_by_org == {first: 1, second: 1}

    # a second pair of runs at once, after changes in both: still every row, once
    item_id = next(iter(sim.org(second).items))
    sim.org(second).update_item(item_id, rate="77.5")
    runs = [start(env, first), start(env, second)]
    for run in runs:
        finish(run)
    assert duplicate_keys(pg_query) == {}
    assert differences(of_org(pg_query, second), sim.org(second)) == {}
    assert differences(of_org(pg_query, first), sim.org(first)) == {}


def test_each_organization_equals_a_load_of_it_alone(sim, warehouse, pg_query, tmp_path):
    first, second = sim.organization_ids
    both = environment(sim, warehouse, tmp_path / "both", second=True)
    runs = [start(both, first), start(both, second)]
    for run in runs:
        finish(run)
    together = {org: org_rows(pg_query, org) for org in (first, second)}

    for org in (first, second):
        # the same organization loaded alone, as the single-organization settings name it
        pg_query("drop schema zoho_staging cascade")
        alone = environment(sim.org(org), warehouse, tmp_path / f"alone-{org}", second=False)
        finish(start(alone))
        assert org_rows(pg_query, org) == together[org]


def test_a_one_organization_warehouse_upgrades_in_place(sim, warehouse, pg_query, tmp_path):
    """A warehouse shaped as the previous version left it (SQL mimic: the tables loaded,
    then `organization_id` dropped from them and from dlt's staging dataset, and the id-only
    unique index back; checked once by hand against main's own code too) gains the column,
    filled with its organization, keeps every row, and then takes a second organization."""
    first, second = sim.organization_ids
    one = environment(sim, warehouse, tmp_path, second=False)
    finish(start(one))
    # a second run merges (a first load writes straight into the tables), so dlt's staging
    # dataset holds rows, as the previous version always left it
    sim.advance(60)
    sim.org(first).update_item(next(iter(sim.org(first).items)), rate="77.5")
    finish(start(one))
    counts = {
        t: pg_query(f"select count(*) from zoho_staging.{t}")[0][0]
        for t in ("items", "invoices", "invoice_line_items", "pricebook_items")
    }
    for (table,) in pg_query(
        "select table_name from information_schema.columns where table_schema = 'zoho_staging'"
        " and column_name = 'organization_id' and table_name not in ('organizations', 'sync_runs')"
    ):
        pg_query(f"alter table zoho_staging.{table} drop column organization_id cascade")
    # dlt's staging dataset keeps the last load's rows, in the old shape too
    for (table,) in pg_query(
        "select table_name from information_schema.columns where table_schema = "
        "'zoho_staging_staging' and column_name = 'organization_id'"
    ):
        pg_query(f"alter table zoho_staging_staging.{table} drop column organization_id")
    assert pg_query("select count(*) from zoho_staging_staging.items")[0][0] > 0
    pg_query("create unique index items__item_id__unique on zoho_staging.items (item_id)")

    finish(start(environment(sim, warehouse, tmp_path, second=True), first))
    assert pg_query(
        "select count(*) from zoho_staging.items where organization_id is distinct from %s",
        (first,),
    ) == [(0,)]
    for table, count in counts.items():
        assert pg_query(f"select count(*) from zoho_staging.{table}")[0][0] == count
    assert pg_query(
        "select count(*) from pg_indexes where schemaname = 'zoho_staging' "
        "and indexname = 'items__item_id__unique'"
    ) == [(0,)]

    finish(start(environment(sim, warehouse, tmp_path, second=True), second))
    assert duplicate_keys(pg_query) == {}
    assert differences(of_org(pg_query, first), sim.org(first)) == {}
    assert differences(of_org(pg_query, second), sim.org(second)) == {}


def test_the_job_runs_every_organization_and_one_failure_stops_none(
    sim, warehouse, pg_query, tmp_path
):
    """`python -m loader.job` (default --all) with a second organization Zoho does not
    know: the first organization's job still loads and builds; the exit code is the
    failure's; each job is recorded under its organization."""
    from tests.integration.conftest import job_environment

    first = sim.organization_ids[0]
    env = {
        **job_environment(sim, warehouse, tmp_path),
        "SOURCES__ZOHO_BOOKS__ORGANIZATIONS__GHOST__ORGANIZATION_ID": "999000111",
    }
    done = run_job(env, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode not in (0, 3, 75), output
    jobs = dict(pg_query("select organization_id, status from zoho_staging.job_runs"))
    assert jobs == {first: "success", "999000111": "failed"}, output
    assert differences(of_org(pg_query, first), sim.org(first)) == {}
    assert "organization 999000111" in output or "999000111" in output


# ---- the marts, per organization ------------------------------------------------------

# Every mart (and the price history) compared between a load of two organizations and a
# load of each alone: its columns but organization_id and what differs from one build to
# the next (load ids, the snapshot's instants).
MARTS = (
    "products",
    "pricelists",
    "product_prices",
    "product_price_coverage",
    "price_coverage",
    "customers",
    "vendors",
    "invoices",
    "invoice_line_items",
    "bills",
    "bill_line_items",
    "product_price_history",
    "product_stock",
    "stock_movements",
    "product_costs",
    "cost_coverage",
)
# when a load or build ran (a stock reading's read_at is the loader's clock, as_of from it)
PER_BUILD = ("organization_id", "_dlt_load_id", "valid_from", "valid_to", "read_at", "as_of")


def drop_analytics(pg_query) -> None:
    for (schema,) in pg_query(
        "select nspname from pg_namespace where nspname like 'analytics%' "
        "or nspname like 'zoho_staging%'"
    ):
        pg_query(f"drop schema {schema} cascade")


def build_marts(pg: dict[str, str], work: Path) -> str:
    """`dbt build` of the project on pg's database; its output (the build must pass)."""
    from tests.integration.conftest import dbt_env, run_dbt_build

    work.mkdir(parents=True, exist_ok=True)
    env = dbt_env(pg, work, ANALYTICS_SCHEMA="analytics")
    done = run_dbt_build(env, work / "target", "--exclude-resource-type", "unit_test")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    return output


def marts_of(pg_query, organization_id: str) -> dict[str, list[tuple]]:
    """Each mart's rows of one organization, sorted, without PER_BUILD columns."""
    marts = {}
    for mart in MARTS:
        columns = [
            r[0]
            for r in pg_query(
                "select column_name from information_schema.columns where table_schema = "
                "'analytics' and table_name = %s order by ordinal_position",
                (mart,),
            )
            if r[0] not in PER_BUILD
        ]
        assert columns, f"analytics.{mart} has no columns: not built?"
        marts[mart] = sorted(
            pg_query(
                f"select {', '.join(columns)} from analytics.{mart} where organization_id = %s",
                (organization_id,),
            ),
            key=repr,
        )
    return marts


def without_consumer_list(sim: ZohoSimulator) -> str:
    """Rename the organization's Consumer price list (so no list matches the default
    `Consumer`); its id."""
    [consumer] = [
        pricebook_id
        for pricebook_id in sim.pricebooks
        if sim.pricebooks[pricebook_id]["name"] == "Consumer"
    ]
    sim.update_pricebook(consumer, name="Retail")
    return consumer


def test_each_organizations_marts_equal_a_build_of_it_alone(sim, warehouse, pg_query, tmp_path):
    """Two organizations loaded at once then one `dbt build`: each organization's marts
    equal those of a warehouse holding that organization alone, row for row; the same Zoho
    ids in both are two rows; each has its own default price list (the second has no list
    named Consumer: its products are filled into its own synthetic list, reported by a
    warning, while the first keeps its Zoho Consumer list)."""
    first, second = sim.organization_ids
    retail = without_consumer_list(sim.org(second))
    drop_analytics(pg_query)
    both = environment(sim, warehouse, tmp_path / "both", second=True)
    runs = [start(both, first), start(both, second)]
    for run in runs:
        finish(run)
    output = build_marts(warehouse, tmp_path / "dbt-both")
    assert re.search(r"WARN 1 assert_default_pricelist_found_in_zoho", output), output[-5000:]
    together = {org: marts_of(pg_query, org) for org in (first, second)}

    # the same product id in both organizations: one row each, priced by its own rules
    shared = pg_query(
        "select count(*) from (select product_id from analytics.products "
        "group by product_id having count(*) = 2) both_orgs"
    )[0][0]
    assert shared > 0
    defaults = dict(
        pg_query("select organization_id, pricelist_id from analytics.pricelists where is_default")
    )
    consumer = pg_query(
        "select pricelist_id from analytics.pricelists where organization_id = %s "
        "and pricelist_name = 'Consumer'",
        (first,),
    )
    assert defaults == {first: consumer[0][0], second: "default"}
    assert pg_query(
        "select is_default from analytics.pricelists where organization_id = %s "
        "and pricelist_id = %s",
        (second, retail),
    ) == [(False,)]
    filled = dict(
        pg_query(
            "select organization_id, count(*) from analytics.product_prices "
            "where price_source = 'default' group by 1"
        )
    )
    assert filled[second] > 0
    assert pg_query(
        "select count(*) from analytics.product_prices where price_source = 'default' "
        "and (organization_id, pricelist_id) not in "
        "(select organization_id, pricelist_id from analytics.pricelists where is_default)"
    ) == [(0,)]
    assert [
        r[0] for r in pg_query("select organization_id from analytics.price_coverage order by 1")
    ] == (sorted([first, second]))

    for org in (first, second):
        drop_analytics(pg_query)
        alone = environment(sim.org(org), warehouse, tmp_path / f"alone-{org}", second=False)
        finish(start(alone))
        build_marts(warehouse, tmp_path / f"dbt-alone-{org}")
        alone_marts = marts_of(pg_query, org)
        assert {m: len(rows) for m, rows in alone_marts.items()} == {
            m: len(rows) for m, rows in together[org].items()
        }
        for mart in MARTS:
            assert alone_marts[mart] == together[org][mart], mart


SNAPSHOT_KEYS = {
    "items_snapshot": ["product_id"],
    "pricebook_items_snapshot": ["pricelist_id", "product_id"],
    "product_prices_snapshot": ["product_id", "pricelist_id"],
}


def test_marts_and_history_of_one_organization_upgrade_in_place(sim, warehouse, pg_query, tmp_path):
    """Marts and snapshots as the version before several organizations left them (SQL
    mimic: built, then organization_id dropped from the snapshots and the incremental
    marts, their id-only keys and indexes back): the next `dbt build` keeps every version
    of the history, gives it the organization, closes versions on the new key, rebuilds
    the incremental marts, and then takes a second organization with the same ids."""
    first, second = sim.organization_ids
    drop_analytics(pg_query)
    finish(start(environment(sim, warehouse, tmp_path, second=False)))
    build_marts(warehouse, tmp_path / "dbt-1")
    pg_query("drop view analytics.product_price_history")  # it reads the column
    for snapshot, key in SNAPSHOT_KEYS.items():
        table = f"analytics_snapshots.{snapshot}"
        pg_query(f"alter table {table} drop column organization_id")
        pg_query(f"create index {snapshot}__unique_key on {table} ({', '.join(key)})")
        pg_query(
            f"create index {snapshot}__current on {table} ({', '.join(key)}) "
            "where dbt_valid_to is null"
        )
    for mart, key in (
        ("products", "product_id"),
        ("product_prices", "product_id, pricelist_id"),
        ("product_price_coverage", "product_id"),
    ):
        pg_query(f"alter table analytics.{mart} drop column organization_id")
        pg_query(f"alter table analytics.{mart} add primary key ({key})")
    history = {
        s: set(pg_query(f"select dbt_scd_id from analytics_snapshots.{s}")) for s in SNAPSHOT_KEYS
    }
    assert all(history.values())

    item_id = sim.active_item_ids()[0]
    sim.update_item(item_id, rate="123456")
    two = environment(sim, warehouse, tmp_path, second=True)
    runs = [start(two, first), start(two, second)]
    for run in runs:
        finish(run)
    build_marts(warehouse, tmp_path / "dbt-2")

    for snapshot, versions in history.items():
        table = f"analytics_snapshots.{snapshot}"
        # every stored version is kept, stamped with the warehouse's organization
        kept = set(pg_query(f"select dbt_scd_id from {table} where organization_id = %s", (first,)))
        assert versions <= kept, snapshot
        assert pg_query(f"select count(*) from {table} where organization_id is null") == [(0,)]
        assert (
            pg_query(f"select count(*) from {table} where organization_id = %s", (second,))[0][0]
            > 0
        )
        [(index,)] = pg_query(
            "select indexdef from pg_indexes where schemaname = 'analytics_snapshots' "
            "and indexname = %s",
            (f"{snapshot}__current",),
        )
        assert f"(organization_id, {', '.join(SNAPSHOT_KEYS[snapshot])})" in index
    # the changed item: its version from before the upgrade is closed by the new one
    versions = pg_query(
        "select price, dbt_valid_to is null from analytics_snapshots.items_snapshot "
        "where organization_id = %s and product_id = %s order by dbt_valid_from",
        (first, item_id),
    )
    assert len(versions) == 2 and versions[0][1] is False and versions[1] == (123456, True)
    # no current version is left twice (an old one the new key did not match)
    assert pg_query(
        "select count(*) from (select organization_id, product_id from "
        "analytics_snapshots.items_snapshot where dbt_valid_to is null "
        "group by 1, 2 having count(*) > 1) twice"
    ) == [(0,)]
    # the incremental marts were rebuilt on the new key: both organizations' rows
    for mart in ("products", "product_prices", "product_price_coverage"):
        assert dict(
            pg_query(f"select organization_id, count(*) > 0 from analytics.{mart} group by 1")
        ) == {first: True, second: True}, mart
