"""The real `dbt build` on a small Zoho data set (fixtures/dbt/zoho_staging.sql), three times:

1. the fixture as landed: per_item lists only, so the default fill has work to do;
2. after Zoho changes: Black Tea gains a Consumer price, Tomato Paste is deactivated, Dish
   Soap's price changes;
3. after the four fixed_percentage sales lists are switched on.

Each build runs as a subprocess with its own profiles dir, target and log paths, against the
module's fresh database; the marts are read right after each build and asserted row by row.
The first build runs dbt's unit tests too; the later ones leave them out, as the job does:
they check the SQL against fixed inputs, which no change in the warehouse changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2.errors
import pytest

from tests.integration.conftest import ROOT, connect, execute, run_dbt_build
from tests.integration.conftest import dbt_env as profile_env
from tests.integration.raw_tables import load_fixture

ONE_SECOND = timedelta(seconds=1)
SNAPSHOTS = ("items_snapshot", "pricebook_items_snapshot", "product_prices_snapshot")

CONSUMER = "4600000000020001"
WHOLESALE_USD = "4600000000020002"
RAMADAN = "4600000000020006"  # +12.5%, round_to_dollor, 0 decimals
CLEARANCE = "4600000000020007"  # -7.5%, round_to_half_dollar_minus_01, 2 decimals
STAFF = "4600000000020008"  # -3.3%, no_rounding, 0 decimals
EXPORT = "4600000000020009"  # +0.5%, round_to_dollar_minus_01, 2 decimals

RICE = "4600000000010001"
OIL = "4600000000010002"
TEA = "4600000000010003"
SOAP = "4600000000010004"
WRAPPING = "4600000000010005"  # price 0
DELIVERY = "4600000000010006"  # no price
TOMATO = "4600000000010007"
BISCUITS = "4600000000010008"  # inactive
JUICE = "4600000000010009"  # deleted
MILK = "4600000000010010"
SUGAR = "4600000000010011"

COVERAGE_COLUMNS = (
    "active_products",
    "with_pricelist_price",
    "filled_by_default",
    "without_price",
    "without_price_zero_price",
    "without_price_no_price",
    "coverage_percent",
    "coverage_target_percent",
)

SECOND_LOAD = f"""
insert into zoho_staging.pricebook_items (
    pricebook_id, item_id, pricebook_item_id, pricebook_rate, pricebook_discount,
    pricing_scheme, price_brackets, is_deleted, deleted_at, _dlt_load_id, _dlt_id
) values
    ('{CONSUMER}', '{TEA}', '4600000000080012', 3500, '', 'unit', null, false, null,
     '1762000000.1', 'pi12');
update zoho_staging.items
set status = 'inactive', last_modified_time = '2025-11-02T09:00:00+0300',
    _dlt_load_id = '1762000000.1'
where item_id = '{TOMATO}';
update zoho_staging.items
set rate = 2000, last_modified_time = '2025-11-02T09:05:00+0300', _dlt_load_id = '1762000000.1'
where item_id = '{SOAP}';
"""

THIRD_LOAD = """
update zoho_staging.pricebooks
set status = 'active', _dlt_load_id = '1762100000.1'
where pricebook_type = 'fixed_percentage' and sales_or_purchase_type = 'sales';
"""


@dataclass
class Build:
    """What one `dbt build` printed and left in the marts."""

    returncode: int
    output: str
    statuses: dict[str, str]  # unique_id -> status, from run_results.json
    prices: dict[tuple[str, str], tuple[Decimal, str, str]]  # (product, list) -> row
    coverage: dict[str, int | Decimal | None]  # the one row of price_coverage
    target: Path  # the build's target directory (manifest.json, logs/dbt.log)

    def non_passing(self) -> dict[str, str]:
        return {
            uid: status
            for uid, status in self.statuses.items()
            if status not in ("success", "pass", "no-op")  # no-op: an exposure's entry
        }


@pytest.fixture(scope="module")
def dbt_env(pg_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return profile_env(
        pg_env, tmp_path_factory.mktemp("dbt_profiles"), ANALYTICS_SCHEMA="analytics"
    )


def dbt_build(pg_env: dict[str, str], env: dict[str, str], target: Path, *args: str) -> Build:
    result = run_dbt_build(env, target, *args)
    run_results = target / "run_results.json"
    statuses = (
        {r["unique_id"]: r["status"] for r in json.loads(run_results.read_text())["results"]}
        if run_results.exists()
        else {}
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        return Build(result.returncode, output, statuses, {}, {}, target)
    rows = execute(
        pg_env,
        "select product_id, pricelist_id, price, currency_code, price_source "
        "from analytics.product_prices",
    )
    prices = {(row[0], row[1]): row[2:] for row in rows}
    [coverage_row] = execute(
        pg_env, f"select {', '.join(COVERAGE_COLUMNS)} from analytics.price_coverage"
    )
    coverage = dict(zip(COVERAGE_COLUMNS, coverage_row, strict=True))
    return Build(result.returncode, output, statuses, prices, coverage, target)


@pytest.fixture(scope="module")
def first_build(pg_env, dbt_env, tmp_path_factory) -> Build:
    load_fixture(pg_env)
    return dbt_build(pg_env, dbt_env, tmp_path_factory.mktemp("dbt_target_1"))


SNAPSHOT_INDEXES = """
select indexname, indexdef like '% WHERE (dbt_valid_to IS NULL)' from pg_indexes
where schemaname = 'analytics_snapshots' and tablename = '{}'
"""

# the rule unit tests (docs/decisions.md), each by name: one missing is a rule untested
RULE_UNIT_TESTS = {
    "active_sales_list_is_an_active_undeleted_sales_list",
    "sellable_products_are_active_and_priced_above_zero",
    "default_pricelist_matched_by_trimmed_case_insensitive_name",
    "default_pricelist_matched_by_id",
    "default_pricelist_prefers_default_currency_then_lowest_id",
    "synthetic_default_pricelist_when_no_sales_list_matches",
    "per_item_list_prices_active_listed_products_at_list_rate",
    "per_item_volume_pricing_uses_lowest_start_quantity_bracket",
    "fixed_percentage_no_rounding_to_decimal_place_halves_up",
    "fixed_percentage_round_to_dollar_halves_up_both_spellings",
    "fixed_percentage_round_to_dollar_minus_01",
    "fixed_percentage_round_to_half_dollar_and_minus_01",
    "fixed_percentage_markdown_when_is_increase_is_false",
    "fixed_percentage_only_active_priced_products_base_currency",
    "default_fill_prices_active_products_without_list_price",
    "default_fill_uses_the_synthetic_default_pricelist",
    "default_pricelist_chosen_in_each_organization",
    "default_fill_in_each_organizations_own_default_list",
    "product_stock_per_location_read_else_listing_total",
    "stock_moves_by_bills_in_invoices_out_and_adjustments",
    "product_costs_count_sales_below_the_last_cost",
    "cost_coverage_counts_products_by_their_last_cost",
}


# the builds after the first (see the module's docstring)
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


@pytest.fixture(scope="module")
def second_build(first_build, pg_env, dbt_env, tmp_path_factory) -> Build:
    execute(pg_env, SECOND_LOAD)
    return dbt_build(pg_env, dbt_env, tmp_path_factory.mktemp("dbt_target_2"), *NO_UNIT_TESTS)


@pytest.fixture(scope="module")
def third_build(second_build, pg_env, dbt_env, tmp_path_factory) -> Build:
    execute(pg_env, THIRD_LOAD)
    return dbt_build(pg_env, dbt_env, tmp_path_factory.mktemp("dbt_target_3"), *NO_UNIT_TESTS)


# ---- build 1: the fixture as landed ----------------------------------------------------


def test_build_passes_with_only_the_price_coverage_warning(first_build: Build) -> None:
    assert first_build.returncode == 0, first_build.output
    assert first_build.non_passing() == {
        "test.zoho_books.assert_price_coverage_meets_target": "warn"
    }, first_build.output
    unit_tests = {
        uid.rsplit(".", 1)[-1] for uid in first_build.statuses if uid.startswith("unit_test.")
    }
    assert RULE_UNIT_TESTS - unit_tests == set()


def test_product_prices_match_the_rules_row_by_row(first_build: Build) -> None:
    assert first_build.prices == {
        # per_item lists: the list's rate, in the list's currency
        (RICE, CONSUMER): (Decimal("13000"), "IQD", "pricelist"),
        (RICE, WHOLESALE_USD): (Decimal("8.5"), "USD", "pricelist"),
        # volume pricing: the bracket starting at quantity 1, not the list rate 5000
        (OIL, CONSUMER): (Decimal("4900"), "IQD", "pricelist"),
        (TOMATO, CONSUMER): (Decimal("1750"), "IQD", "pricelist"),
        (MILK, WHOLESALE_USD): (Decimal("6.25"), "USD", "pricelist"),
        # default fill: no list price anywhere -> own price in Consumer
        (TEA, CONSUMER): (Decimal("3250"), "IQD", "default"),
        (SOAP, CONSUMER): (Decimal("1875"), "IQD", "default"),
        # its Consumer row was removed from the list (is_deleted)
        (SUGAR, CONSUMER): (Decimal("1200"), "IQD", "default"),
    }


def test_default_fill_row_is_in_the_default_list_at_the_products_own_price(
    first_build: Build, pg_env: dict[str, str]
) -> None:
    assert first_build.prices[(TEA, CONSUMER)] == (Decimal("3250"), "IQD", "default")
    assert execute(pg_env, "select pricelist_id from analytics.pricelists where is_default") == [
        (CONSUMER,)
    ]


def test_zero_price_and_missing_price_products_are_excluded_and_counted(
    first_build: Build,
) -> None:
    priced_products = {product for product, _ in first_build.prices}
    assert WRAPPING not in priced_products
    assert DELIVERY not in priced_products
    assert first_build.coverage == {
        "active_products": 9,
        "with_pricelist_price": 4,
        "filled_by_default": 3,
        "without_price": 2,
        "without_price_zero_price": 1,
        "without_price_no_price": 1,
        "coverage_percent": Decimal("77.8"),
        "coverage_target_percent": 95,
    }


def test_inactive_deleted_and_purchase_side_data_gets_no_prices(first_build: Build) -> None:
    priced_products = {product for product, _ in first_build.prices}
    priced_lists = {pricelist for _, pricelist in first_build.prices}
    assert BISCUITS not in priced_products  # inactive, though listed in Consumer
    assert JUICE not in priced_products  # deleted in Zoho, though listed in Consumer
    assert priced_lists == {CONSUMER, WHOLESALE_USD}  # no purchases, inactive or deleted list


def test_invoice_marts_carry_keys_and_reconcile(first_build: Build, pg_env) -> None:
    lines = execute(
        pg_env,
        "select line_item_id, invoice_id, customer_id, product_id, item_total, currency_code "
        "from analytics.invoice_line_items where invoice_id = '4600000000040002' "
        "order by item_order",
    )
    assert lines == [
        ("4600000000050003", "4600000000040002", "4600000000030002", RICE, Decimal("807.5"), "USD"),
        ("4600000000050004", "4600000000040002", "4600000000030002", None, Decimal("25"), "USD"),
    ]
    invoices = execute(
        pg_env,
        "select invoice_number, sub_total, total, has_current_details "
        "from analytics.invoices order by invoice_number",
    )
    assert invoices == [
        ("INV-000101", Decimal("72000"), Decimal("77000"), True),
        ("INV-000102", Decimal("832.5"), Decimal("832"), True),
        # edited after its detail was read: the list total is newer than the breakdown
        ("INV-000103", Decimal("3250"), Decimal("6500"), False),
    ]
    reconciliation = "test.zoho_books.assert_invoice_sub_total_equals_its_line_items"
    assert first_build.statuses[reconciliation] == "pass"


def test_bill_marts_carry_vendor_and_base_currency_and_keep_unknown_items(
    first_build: Build, pg_env
) -> None:
    lines = execute(
        pg_env,
        "select product_id, zoho_item_id, is_unknown_item, vendor_id, quantity, "
        "rate_in_base_currency, item_total_in_base_currency "
        "from analytics.bill_line_items where bill_id = '4600000000060002' order by item_order",
    )
    vendor = "4600000000030003"
    assert lines == [
        (RICE, RICE, False, vendor, Decimal("10"), Decimal("10480"), Decimal("104800")),
        (TEA, TEA, False, vendor, Decimal("5"), Decimal("3602.5"), Decimal("18012.5")),
        (None, None, False, vendor, Decimal("1"), Decimal("52400"), Decimal("52400")),
        (None, "4600000000019999", True, vendor, Decimal("1"), Decimal("1310"), Decimal("1310")),
    ]
    bills = execute(
        pg_env, "select bill_number, total_in_base_currency from analytics.bills order by 1"
    )
    assert bills == [("GP-2025-091", Decimal("235000")), ("GP-2025-102", Decimal("176522.5"))]
    assert execute(pg_env, "select vendor_id, vendor_name from analytics.vendors") == [
        (vendor, "Gulf Packaging Supplies")
    ]


def test_last_purchase_cost_is_the_newest_bill_line_and_margin_uses_the_selling_price(
    first_build: Build, pg_env
) -> None:
    costs = execute(
        pg_env,
        "select product_id, last_purchase_cost, price, margin, is_priced_below_cost "
        "from analytics.product_costs order by product_id",
    )
    assert costs == [
        # the USD bill of 2025-10-20 is newer than the IQD one of 2025-09-20 (9800)
        (RICE, Decimal("10480"), Decimal("12500"), Decimal("2020"), False),
        (OIL, Decimal("3900"), Decimal("4750"), Decimal("850"), False),
        (TEA, Decimal("3602.5"), Decimal("3250"), Decimal("-352.5"), True),
    ]


def test_product_stock_per_location_read_else_listing_total(first_build: Build, pg_env) -> None:
    rows = execute(
        pg_env,
        "select product_id, location_name, stock_on_hand, available_stock, stock_source "
        "from analytics.product_stock order by product_id, location_name",
    )
    stock = {(r[0], r[1]): r[2:] for r in rows}
    # rice's reading has two locations: one row each, no total row
    assert stock[(RICE, "Baghdad Main Store")] == (Decimal("300"), Decimal("292"), "item_detail")
    assert stock[(RICE, "Erbil Warehouse")] == (Decimal("40"), Decimal("38"), "item_detail")
    assert (RICE, None) not in stock
    # oil was read with no location, tea never: the listing's totals
    assert stock[(OIL, None)] == (Decimal("1200"), None, "items_listing")
    assert stock[(TEA, None)] == (Decimal("85"), None, "items_listing")
    assert not any(product == WRAPPING for product, _ in stock)  # a service has no stock


def test_stock_movements_hold_adjustments_bills_in_and_invoices_out(
    first_build: Build, pg_env
) -> None:
    moves = execute(
        pg_env,
        "select movement_type, document_id, quantity from analytics.stock_movements "
        f"where product_id = '{RICE}' order by document_created_at",
    )
    assert moves == [
        ("bill", "4600000000060001", Decimal("20")),
        ("invoice", "4600000000040001", Decimal("-2")),
        ("invoice", "4600000000040002", Decimal("-100")),
        ("bill", "4600000000060002", Decimal("10")),
        ("adjustment", "4600000000110001", Decimal("-8")),
    ]
    reconciliation = "test.zoho_books.assert_stock_movements_reconcile_with_stock_readings"
    assert first_build.statuses[reconciliation] == "pass"


@pytest.mark.parametrize(
    "mart",
    ["pricelists", "customers", "invoices", "invoice_line_items", "bills", "bill_line_items"],
)
def test_a_mart_refuses_a_second_row_with_its_key(first_build: Build, pg_env, mart) -> None:
    assert first_build.returncode == 0, first_build.output
    with pytest.raises(psycopg2.errors.UniqueViolation):
        execute(pg_env, f"insert into analytics.{mart} select * from analytics.{mart} limit 1")


# ---- build 2: Zoho changes -------------------------------------------------------------


def test_product_gaining_a_list_price_loses_its_default_row(second_build: Build) -> None:
    assert second_build.returncode == 0, second_build.output
    assert second_build.prices[(TEA, CONSUMER)] == (Decimal("3500"), "IQD", "pricelist")
    assert [key for key in second_build.prices if key[0] == TEA] == [(TEA, CONSUMER)]
    # the others without a list price keep theirs
    assert second_build.prices[(SUGAR, CONSUMER)] == (Decimal("1200"), "IQD", "default")


def test_deactivated_product_loses_all_rows(second_build: Build) -> None:
    assert [key for key in second_build.prices if key[0] == TOMATO] == []


def test_default_row_follows_the_products_new_price(second_build: Build) -> None:
    assert second_build.prices[(SOAP, CONSUMER)] == (Decimal("2000"), "IQD", "default")
    assert len(second_build.prices) == 7


@pytest.mark.parametrize(
    "snapshot", ["items_snapshot", "pricebook_items_snapshot", "product_prices_snapshot"]
)
def test_snapshots_find_current_versions_by_partial_indexes(
    second_build: Build, pg_env, snapshot
) -> None:
    assert second_build.returncode == 0, second_build.output
    assert dict(execute(pg_env, SNAPSHOT_INDEXES.format(snapshot))) == {
        f"{snapshot}__dlt_load_id": False,
        f"{snapshot}__unique_key": False,
        f"{snapshot}__current": True,
        f"{snapshot}__dbt_scd_id_current": True,
    }


def test_descriptions_are_in_postgresql_comments(second_build: Build, pg_env) -> None:
    assert second_build.returncode == 0, second_build.output
    [(table, column)] = execute(
        pg_env,
        """
        select
            obj_description('analytics.product_prices'::regclass, 'pg_class'),
            col_description('analytics.product_prices'::regclass, attnum)
        from pg_attribute
        where attrelid = 'analytics.product_prices'::regclass and attname = 'price_source'
        """,
    )
    assert table.startswith("One row per")
    assert "default" in column and "pricelist" in column


def test_snapshots_keep_the_history_of_prices(second_build: Build, pg_env) -> None:
    soap_versions = execute(
        pg_env,
        f"select price, dbt_valid_to is null from analytics_snapshots.items_snapshot "
        f"where product_id = '{SOAP}' order by dbt_valid_from",
    )
    assert soap_versions == [(Decimal("1875"), False), (Decimal("2000"), True)]
    tomato_prices = execute(
        pg_env,
        f"select price, is_deleted, dbt_valid_to is null "
        f"from analytics_snapshots.product_prices_snapshot "
        f"where product_id = '{TOMATO}' order by dbt_valid_from",
    )
    # deactivated: the price version closes and a version marking the removal is current
    assert tomato_prices == [(Decimal("1750"), False, False), (Decimal("1750"), True, True)]
    tea_consumer = execute(
        pg_env,
        f"select pricelist_rate from analytics_snapshots.pricebook_items_snapshot "
        f"where product_id = '{TEA}' and pricelist_id = '{CONSUMER}' and dbt_valid_to is null",
    )
    assert tea_consumer == [(Decimal("3500"),)]


def test_price_history_has_one_row_per_version_and_the_price_at_an_instant(
    first_build: Build, second_build: Build, pg_env
) -> None:
    """SOAP's default-filled Consumer price followed its new rate in build 2: two
    versions, the first ending where the second begins; TOMATO, deactivated, has no
    current price (its removal version is not a price)."""
    soap = execute(
        pg_env,
        f"select price, price_source, valid_from, valid_to, is_current "
        f"from analytics.product_price_history "
        f"where product_id = '{SOAP}' and pricelist_id = '{CONSUMER}' order by valid_from",
    )
    old, new = first_build.prices[(SOAP, CONSUMER)][0], second_build.prices[(SOAP, CONSUMER)][0]
    assert old != new
    assert [(price, source, current) for price, source, _, _, current in soap] == [
        (old, "default", False),
        (new, "default", True),
    ]
    (_, _, first_from, first_to, _), (_, _, second_from, second_to, _) = soap
    assert first_to == second_from and second_to is None
    price_at = (
        "select price from analytics.product_price_history "
        f"where product_id = '{SOAP}' and pricelist_id = '{CONSUMER}' "
        "and valid_from <= %(t)s and (valid_to is null or valid_to > %(t)s)"
    )
    conn = connect(pg_env)
    try:
        with conn.cursor() as cur:
            answers = []
            for t in (first_from - ONE_SECOND, first_from, second_from - ONE_SECOND, second_from):
                cur.execute(price_at, {"t": t})
                answers.append(cur.fetchall())
    finally:
        conn.close()
    assert answers == [[], [(old,)], [(old,)], [(new,)]]
    tomato = execute(
        pg_env,
        "select count(*), count(*) filter (where is_current) "
        f"from analytics.product_price_history where product_id = '{TOMATO}'",
    )
    assert tomato == [(1, 0)]


def test_overlapping_price_versions_fail_the_history_test(
    second_build: Build, pg_env, dbt_env, tmp_path
) -> None:
    """The no_overlapping_versions test on product_price_history catches a version that
    starts while another of the same product and list is in force."""
    snapshot = "analytics_snapshots.product_prices_snapshot"
    execute(
        pg_env,
        f"insert into {snapshot} select organization_id, product_id, pricelist_id, price, "
        "currency_code, price_source, is_deleted, _dlt_load_id, changed_at, 'overlap', "
        f"dbt_updated_at, dbt_valid_from + interval '1 second', null from {snapshot} "
        f"where product_id = '{SOAP}' and pricelist_id = '{CONSUMER}' "
        "order by dbt_valid_from limit 1",
    )
    try:
        result = run_dbt_build(dbt_env, tmp_path, "--select", "product_price_history")
    finally:
        execute(pg_env, f"delete from {snapshot} where dbt_scd_id = 'overlap'")
    assert result.returncode != 0
    assert re.search(r"FAIL 2 no_overlapping_versions_product_price_history", result.stdout), (
        result.stdout
    )


# ---- build 3: fixed_percentage lists switched on ---------------------------------------


def test_fixed_percentage_prices_are_marked_up_and_rounded(third_build: Build) -> None:
    assert third_build.returncode == 0, third_build.output

    def list_prices(pricelist: str) -> dict[str, Decimal]:
        return {
            product: price
            for (product, pl), (price, currency, source) in third_build.prices.items()
            if pl == pricelist and currency == "IQD" and source == "pricelist"
        }

    # +12.5%, round_to_dollor (Zoho's spelling), halves up: 14062.5 -> 14063
    assert list_prices(RAMADAN) == {
        RICE: Decimal("14063"), OIL: Decimal("5344"), TEA: Decimal("3656"),
        SOAP: Decimal("2250"), MILK: Decimal("10125"), SUGAR: Decimal("1350"),
    }  # fmt: skip
    # -7.5% (is_increase false), to the half unit halves up, minus 0.01: 3006.25 -> 3006.49
    assert list_prices(CLEARANCE) == {
        RICE: Decimal("11562.49"), OIL: Decimal("4393.99"), TEA: Decimal("3006.49"),
        SOAP: Decimal("1849.99"), MILK: Decimal("8324.99"), SUGAR: Decimal("1109.99"),
    }  # fmt: skip
    # -3.3%, no rounding, then to 0 decimal places halves up: 12087.5 -> 12088
    assert list_prices(STAFF) == {
        RICE: Decimal("12088"), OIL: Decimal("4593"), TEA: Decimal("3143"),
        SOAP: Decimal("1934"), MILK: Decimal("8703"), SUGAR: Decimal("1160"),
    }  # fmt: skip
    # +0.5%, to the whole unit minus 0.01: 12562.5 -> 12562.99
    assert list_prices(EXPORT) == {
        RICE: Decimal("12562.99"), OIL: Decimal("4773.99"), TEA: Decimal("3265.99"),
        SOAP: Decimal("2009.99"), MILK: Decimal("9044.99"), SUGAR: Decimal("1205.99"),
    }  # fmt: skip


def test_default_rows_vanish_once_every_priced_product_has_a_list_price(
    third_build: Build,
) -> None:
    assert [key for key, row in third_build.prices.items() if row[2] == "default"] == []
    assert third_build.coverage["filled_by_default"] == 0
    assert third_build.coverage["with_pricelist_price"] == 6


# ---- after the builds: a priced product without prices -----------------------------------


def test_invariant_fails_on_an_active_priced_product_without_prices(
    third_build: Build, pg_env, dbt_env, tmp_path_factory
) -> None:
    assert third_build.returncode == 0, third_build.output
    # Rice's prices gone, as a broken price rule would leave them; its coverage recomputed
    execute(pg_env, f"delete from analytics.product_prices where product_id = '{RICE}'")
    broken = dbt_build(
        pg_env,
        dbt_env,
        tmp_path_factory.mktemp("dbt_target_4"),
        "--full-refresh",
        "--select",
        "product_price_coverage",
        "assert_every_priced_active_product_has_a_price",
    )
    assert broken.returncode == 1
    assert broken.non_passing() == {
        "test.zoho_books.assert_every_priced_active_product_has_a_price": "fail"
    }, broken.output


def test_incremental_scope_covers_every_input_in_the_lineage(second_build: Build) -> None:
    """The products an incremental build re-prices come from every model upstream of
    product_prices that reads a raw table: a rule that gains an input is covered without
    a hand-kept list to update (docs/decisions.md, "Incremental builds")."""
    assert second_build.returncode == 0, second_build.output
    parents = json.loads((second_build.target / "manifest.json").read_text())["parent_map"]
    inputs, pending = set(), ["model.zoho_books.product_prices"]
    while pending:
        node = pending.pop()
        if any(parent.startswith("source.") for parent in parents[node]):
            inputs.add(node.rsplit(".", 1)[-1])
        pending += [parent for parent in parents[node] if parent.startswith("model.")]
    log = (second_build.target / "logs" / "dbt.log").read_text()
    [scope] = set(re.findall(r"product_prices: incremental scope from \S+ inputs; (.*)", log))
    per_product, every_product = re.fullmatch(
        r"per product: (.*); every product: (.*)", scope.strip()
    ).groups()
    assert set(per_product.split(", ")) | set(every_product.split(", ")) == inputs
    assert per_product == "stg_zoho_books__items, stg_zoho_books__pricebook_items"


def test_an_item_back_from_a_deletion_gets_a_new_current_version(
    third_build: Build, pg_env, dbt_env, tmp_path_factory
) -> None:
    """Zoho's last_modified_time does not move when an item is (falsely) deleted and comes
    back: the snapshot still records both."""
    assert third_build.returncode == 0, third_build.output
    target = tmp_path_factory.mktemp("dbt_target_undelete")
    for load_id, deleted in (("1762200000.1", "true"), ("1762300000.1", "false")):
        execute(
            pg_env,
            f"""
            update zoho_staging.items
            set is_deleted = {deleted},
                deleted_at = case when {deleted} then to_timestamp(1762200000) end,
                _dlt_load_id = '{load_id}'
            where item_id = '{MILK}'
            """,
        )
        result = run_dbt_build(dbt_env, target, "--select", "items_snapshot")
        assert result.returncode == 0, result.stdout
    versions = execute(
        pg_env,
        f"select is_deleted, dbt_valid_to is null from analytics_snapshots.items_snapshot "
        f"where product_id = '{MILK}' order by dbt_valid_from",
    )
    assert versions == [(False, False), (True, False), (False, True)]


def test_a_numeric_var_that_is_not_a_number_stops_the_build_naming_it(
    third_build: Build, dbt_env, tmp_path
) -> None:
    result = run_dbt_build(
        dbt_env,
        tmp_path,
        "--select",
        "price_coverage",
        "--vars",
        '{price_coverage_target_percent: "(select 1)"}',
    )
    assert result.returncode != 0
    assert 'var price_coverage_target_percent must be a number, not "(select 1)"' in (result.stdout)


def test_a_string_var_reaches_sql_as_written_whatever_the_server_settings(
    third_build: Build, pg_env, dbt_env, tmp_path
) -> None:
    name = "O'Brien's \\ list \\' end"
    result = run_dbt_build(
        {**dbt_env, "PGOPTIONS": "-c standard_conforming_strings=off"},
        tmp_path,
        "--select",
        "int_pricelists_unioned",
        "--resource-type",
        "model",
        "--vars",
        json.dumps({"default_pricelist": name}),
    )
    assert result.returncode == 0, result.stdout
    assert execute(
        pg_env,
        "select pricelist_name from analytics_intermediate.int_pricelists_unioned "
        "where pricelist_id = 'default'",
    ) == [(name,)]


# ---- last: the CHANGELOG's upgrade of a history written the old way ---------------------


def changelog_upgrade_sql() -> str:
    """The SQL block of CHANGELOG.md's "Upgrading: convert the snapshot history"."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    section = changelog.split("#### Upgrading: convert the snapshot history", 1)[1]
    return re.search(r"```sql\n(.*?)```", section, flags=re.S).group(1)


def test_the_changelog_upgrade_turns_old_snapshot_times_into_the_same_instants(
    third_build: Build, pg_env, dbt_env, tmp_path
) -> None:
    """Runs last: it sets the database's time zone. The history is first rewritten as
    earlier versions of this project wrote it on a server whose TimeZone is
    Asia/Baghdad: dbt-postgres's check-strategy clock `now()::timestamp without time
    zone` and items_snapshot's `cast(... as timestamp)`, i.e. Baghdad wall-clock times,
    and no changed_at in the check-strategy snapshots. The CHANGELOG's block must give
    every version back its instant (a conversion assuming UTC would move them by three
    hours), keep every row, change nothing when run again, and let the next build
    continue the history."""
    times = "dbt_scd_id, dbt_valid_from, dbt_valid_to, dbt_updated_at"
    before = {
        name: execute(pg_env, f"select {times} from analytics_snapshots.{name} order by 1")
        for name in SNAPSHOTS
    }
    database = pg_env["PGDATABASE"]
    execute(pg_env, f"alter database \"{database}\" set timezone = 'Asia/Baghdad'")
    history_view = (
        "create view analytics.product_price_history as select dbt_valid_from as valid_from, "
        "dbt_valid_to as valid_to from analytics_snapshots.product_prices_snapshot"
    )
    try:
        execute(pg_env, "drop view analytics.product_price_history")
        for name in SNAPSHOTS:
            columns = ["dbt_valid_from", "dbt_valid_to", "dbt_updated_at"]
            if name == "items_snapshot":
                columns.append("changed_at")
            else:
                execute(pg_env, f"alter table analytics_snapshots.{name} drop column changed_at")
            execute(
                pg_env,
                f"alter table analytics_snapshots.{name} "
                + ", ".join(
                    f"alter column {c} type timestamp using {c} at time zone 'Asia/Baghdad'"
                    for c in columns
                ),
            )
        naive = (
            "select count(*) from information_schema.columns "
            "where table_schema = 'analytics_snapshots' "
            "and data_type = 'timestamp without time zone'"
        )
        assert execute(pg_env, naive) == [(10,)]
        # as if a build of this version ran before the upgrade: its view reads the columns
        execute(pg_env, history_view)

        upgrade = changelog_upgrade_sql()
        execute(pg_env, upgrade)
        execute(pg_env, upgrade)  # a second run changes nothing

        assert execute(pg_env, naive) == [(0,)]
        after = {
            name: execute(pg_env, f"select {times} from analytics_snapshots.{name} order by 1")
            for name in SNAPSHOTS
        }
        assert after == before
        assert execute(
            pg_env,
            "select count(*) from analytics_snapshots.product_prices_snapshot "
            "where changed_at is distinct from dbt_valid_from",
        ) == [(0,)]

        # the upgrade's next step, a build with --full-refresh (its session in Baghdad
        # time; it also restores the prices an earlier test deleted), continues the history
        execute(
            pg_env,
            f"update zoho_staging.items set rate = 2100, _dlt_load_id = '1762400000.1', "
            f"last_modified_time = '2025-11-03T09:00:00+0300' where item_id = '{SOAP}'",
        )
        build = dbt_build(pg_env, dbt_env, tmp_path, "--full-refresh", *NO_UNIT_TESTS)
        assert build.returncode == 0, build.output
        # SOAP's Ramadan price (its rate + 12.5 %) had one version since build 3
        versions = execute(
            pg_env,
            "select price, valid_from, valid_to from analytics.product_price_history "
            f"where product_id = '{SOAP}' and pricelist_id = '{RAMADAN}' order by valid_from",
        )
        assert [price for price, _, _ in versions] == [Decimal("2250"), Decimal("2363")]
        (_, first_from, first_to), (_, second_from, second_to) = versions
        assert first_from < first_to == second_from and second_to is None
        assert second_from > max(row[1] for row in before["product_prices_snapshot"])
    finally:
        execute(pg_env, f'alter database "{database}" reset timezone')
