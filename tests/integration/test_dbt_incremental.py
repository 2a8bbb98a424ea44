"""Incremental `dbt build` gives exactly what a full rebuild gives.

The small fixture (fixtures/dbt/zoho_staging.sql) goes through a series of loads, each the
kind of change the loader writes (every written row gets a new, higher `_dlt_load_id`):
items repriced, (de)activated, deleted and added, list rows changed and removed, price lists
switched on, a list deleted, the organization re-loaded, and a load that changed nothing.
After each, the same warehouse is built twice: incrementally into schema `analytics` (as
`make run` does) and with `--full-refresh` into `analytics_full`; every price, customer and
invoice mart must be equal row for row, and the current versions of every history table
must be the rows their source holds now. Each build is of those marts and histories and
what they are built from, with their data tests (`SELECTION`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.integration.conftest import dbt_env as profile_env
from tests.integration.conftest import execute, run_dbt_build
from tests.integration.raw_tables import load_fixture

FIXTURES = Path(__file__).parent / "fixtures" / "dbt"

_spec = importlib.util.spec_from_file_location("dbt_scale_fixture", FIXTURES / "scale.py")
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)

CONSUMER = "4600000000020001"
WHOLESALE_USD = "4600000000020002"
RICE = "4600000000010001"
OIL = "4600000000010002"
TEA = "4600000000010003"
SUGAR = "4600000000010011"

# marts and the columns compared (all but build metadata: product_prices._dlt_load_id is
# the load id the build that wrote the row had read, which differs by design)
MARTS = {
    "products": "*",
    "pricelists": "*",
    "product_prices": "product_id, pricelist_id, price, currency_code, price_source",
    "product_price_coverage": "product_id, coverage_class",
    "price_coverage": "*",
    "customers": "*",
    "invoices": "*",
    "invoice_line_items": "*",
}


def _loads() -> list[tuple[str, Callable[[], str]]]:
    """(name, SQL) of each load, in order; load ids are generated when a load is applied."""

    def lid() -> str:
        return scale.load_id()

    return [
        ("items changed, added and deleted", lambda: scale.change_sql(0.5, seed=3)),
        (
            "list rows: a new one, a removed one, a volume row's brackets",
            lambda: (
                f"""
            insert into zoho_staging.pricebook_items (
                pricebook_id, item_id, pricebook_item_id, pricebook_rate, pricebook_discount,
                pricing_scheme, price_brackets, is_deleted, deleted_at, _dlt_load_id, _dlt_id
            ) values
                ('{CONSUMER}', '{TEA}', '4600000000080012', 3500, '', 'unit', null, false,
                 null, '{(i := lid())}', 'pi12-{i}');
            update zoho_staging.pricebook_items
            set is_deleted = true, deleted_at = now(), _dlt_load_id = '{i}'
            where pricebook_id = '{WHOLESALE_USD}' and item_id = '{RICE}';
            update zoho_staging.pricebook_items
            set price_brackets = '[{{"start_quantity": 1, "pricebook_rate": 4800}}]',
                _dlt_load_id = '{i}'
            where pricebook_id = '{CONSUMER}' and item_id = '{OIL}';
            """
            ),
        ),
        (
            "fixed_percentage sales lists switched on",
            lambda: (
                f"""
            update zoho_staging.pricebooks
            set status = 'active', _dlt_load_id = '{lid()}'
            where pricebook_type = 'fixed_percentage' and sales_or_purchase_type = 'sales';
            """
            ),
        ),
        (
            "organization re-loaded and an item repriced",
            lambda: (
                f"""
            update zoho_staging.organizations set _dlt_load_id = '{(i := lid())}';
            update zoho_staging.items
            set rate = 1300, last_modified_time = now(), _dlt_load_id = '{i}'
            where item_id = '{SUGAR}';
            """
            ),
        ),
        (
            "a list deleted, the others switched off again",
            lambda: (
                f"""
            update zoho_staging.pricebooks
            set is_deleted = true, deleted_at = now(), _dlt_load_id = '{(i := lid())}'
            where pricebook_id = '{WHOLESALE_USD}';
            update zoho_staging.pricebook_items
            set is_deleted = true, deleted_at = now(), _dlt_load_id = '{i}'
            where pricebook_id = '{WHOLESALE_USD}' and not is_deleted;
            update zoho_staging.pricebooks
            set status = 'inactive', _dlt_load_id = '{i}'
            where pricebook_type = 'fixed_percentage' and sales_or_purchase_type = 'sales';
            """
            ),
        ),
        ("more items changed", lambda: scale.change_sql(0.5, seed=8)),
        ("nothing loaded", lambda: "select 1"),
    ]


HISTORIES = ("items_snapshot", "pricebook_items_snapshot", "product_prices_snapshot")
# What each build builds: the marts and histories compared here and everything they are
# built from, with the data tests on them (`cautious`: each test whose every parent is
# built, so a uniqueness or relationship test on a compared mart still fails the build).
# Not the bill, stock and cost marts and their staging, which read raw tables these loads
# never change and which no comparison here reads; not dbt's unit tests, which check SQL
# against fixed inputs whatever the warehouse holds (test_dbt_build runs them).
SELECTION = (
    "--select",
    *(f"+{node}" for node in (*MARTS, *HISTORIES)),
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
)


def dbt_build(env: dict[str, str], schema: str, target: Path, *args: str) -> None:
    result = run_dbt_build({**env, "ANALYTICS_SCHEMA": schema}, target, *SELECTION, *args)
    assert result.returncode == 0, result.stdout + result.stderr


def mart_differences(pg_env: dict[str, str]) -> dict[str, list[tuple]]:
    """Rows of each mart that only one of the two builds has."""
    differences = {}
    for mart, columns in MARTS.items():
        rows = execute(
            pg_env,
            f"""
            (select 'incremental only', {columns} from analytics.{mart}
             except select 'incremental only', {columns} from analytics_full.{mart})
            union all
            (select 'full only', {columns} from analytics_full.{mart}
             except select 'full only', {columns} from analytics.{mart})
            """,
        )
        if rows:
            differences[mart] = rows
    return differences


def history_differences(
    pg_env: dict[str, str], schema: str = "analytics"
) -> dict[str, list[tuple]]:
    """Per history table of the build into `schema`: current versions that differ from what
    exists now, and keys with more than one current version or a repeated dbt_scd_id."""
    histories = {
        "items_snapshot": (
            "product_id",
            "product_id, product_name, sku, status, price, updated_at",
            f"{schema}_staging.stg_zoho_books__items where not is_deleted",
        ),
        "pricebook_items_snapshot": (
            "pricelist_id, product_id",
            "pricelist_id, product_id, currency_code, pricelist_rate, pricing_scheme, "
            "price_brackets::text",
            f"""(select i.*, b.currency_code
                from {schema}_staging.stg_zoho_books__pricebook_items as i
                inner join {schema}_staging.stg_zoho_books__pricebooks as b
                    on i.pricelist_id = b.pricelist_id
                where not i.is_deleted and not b.is_deleted) as live""",
        ),
        "product_prices_snapshot": (
            "product_id, pricelist_id",
            "product_id, pricelist_id, price, currency_code, price_source",
            f"{schema}.product_prices",
        ),
    }
    differences = {}
    for history, (key, columns, source) in histories.items():
        current = f"{schema}_snapshots.{history} where dbt_valid_to is null and not is_deleted"
        rows = execute(
            pg_env,
            f"""
            (select 'history only', {columns} from {current}
             except select 'history only', {columns} from {source})
            union all
            (select 'source only', {columns} from {source}
             except select 'source only', {columns} from {current})
            """,
        )
        rows += execute(
            pg_env,
            f"select 'duplicate dbt_scd_id', dbt_scd_id from {schema}_snapshots.{history} "
            "group by dbt_scd_id having count(*) > 1",
        )
        rows += execute(
            pg_env,
            f"select 'several current versions', {key} from {schema}_snapshots.{history} "
            f"where dbt_valid_to is null group by {key} having count(*) > 1",
        )
        if rows:
            differences[history] = rows
    return differences


@pytest.fixture(scope="module")
def dbt_env(pg_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    load_fixture(pg_env)
    return profile_env(pg_env, tmp_path_factory.mktemp("dbt_profiles"))


def build_both(
    env: dict[str, str], tmp_path: Path, incremental: tuple[str, ...], full: tuple[str, ...]
) -> None:
    """The build into `analytics` and the one into `analytics_full` (with their extra
    arguments), side by side: they share nothing but the raw tables, which both only read."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = [
            pool.submit(dbt_build, env, "analytics", tmp_path / "incremental", *incremental),
            pool.submit(dbt_build, env, "analytics_full", tmp_path / "full", *full),
        ]
        for build in builds:
            build.result()  # its AssertionError (dbt's output) if the build failed


@pytest.mark.start_first  # the longest module of the suite
def test_incremental_builds_equal_full_rebuilds_after_every_load(
    pg_env: dict[str, str], dbt_env: dict[str, str], tmp_path: Path
) -> None:
    build_both(dbt_env, tmp_path, (), ())
    assert mart_differences(pg_env) == {}
    history_rows = execute(pg_env, "select count(*) from analytics_snapshots.items_snapshot")
    for name, load in _loads():
        execute(pg_env, load())
        # more changed products than incremental_max_products: every product is re-priced
        few = ("--vars", "{incremental_max_products: 3}") if name == "more items changed" else ()
        build_both(dbt_env, tmp_path, few, ("--full-refresh",))
        assert mart_differences(pg_env) == {}, name
        assert history_differences(pg_env) == {}, name
        # --full-refresh makes every snapshot compare its whole source
        assert history_differences(pg_env, "analytics_full") == {}, name
    # the loads did change prices and history, so the comparison above compared something
    assert execute(pg_env, "select count(*) from analytics_snapshots.items_snapshot") > (
        history_rows
    )
    closed = execute(
        pg_env,
        "select count(*) from analytics_snapshots.product_prices_snapshot "
        "where dbt_valid_to is not null",
    )
    assert closed[0][0] > 5
    # deletions were recorded as versions in every history, not just compared away
    for history in HISTORIES:
        deleted = execute(
            pg_env,
            f"select count(*) from analytics_snapshots.{history} "
            "where dbt_valid_to is null and is_deleted",
        )
        assert deleted[0][0] > 0, history
