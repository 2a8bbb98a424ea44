"""`make run`'s job end to end: the real loader CLI, the real `dbt build` and freshness,
on the simulator and a real PostgreSQL, over several runs with changes in Zoho between
them. The marts are asserted row by row against what the simulator holds."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.conftest import job_environment, run_job
from zoho_sim import ZohoSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    with ZohoSimulator(scale="unit", seed=3, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def job_env(sim, pg_env, tmp_path_factory) -> dict[str, str]:
    return job_environment(sim, pg_env, tmp_path_factory.mktemp("job"), DETAILS_BUDGET="1000")


def expected_prices(sim: ZohoSimulator) -> dict[tuple[str, str], tuple[Decimal, str]]:
    """(product, list) -> (price, source) from the simulator, by the rules in
    docs/decisions.md. The unit data set's active sales lists are all per_item."""
    active_items = {i: r for i, r in sim.items.items() if r["status"] == "active"}
    sales_lists = {
        p: pb
        for p, pb in sim.pricebooks.items()
        if pb["status"] == "active" and pb["sales_or_purchase_type"] == "sales"
    }
    assert all(pb["pricebook_type"] == "per_item" for pb in sales_lists.values())
    prices: dict[tuple[str, str], tuple[Decimal, str]] = {}
    for pricebook_id, pb in sales_lists.items():
        for row in pb["pricebook_items"]:
            if row["item_id"] in active_items:
                brackets = row.get("price_brackets") or []
                rate = (
                    min(brackets, key=lambda b: float(b["start_quantity"]))["pricebook_rate"]
                    if row.get("pricing_scheme") == "volume" and brackets
                    else row["pricebook_rate"]
                )
                prices[(row["item_id"], pricebook_id)] = (Decimal(str(rate)), "pricelist")
    (consumer,) = [p for p, pb in sales_lists.items() if pb["name"].strip().lower() == "consumer"]
    priced = {product for product, _ in prices}
    for item_id, item in active_items.items():
        rate = Decimal(str(item["rate"] or 0))
        if item_id not in priced and rate > 0:
            prices[(item_id, consumer)] = (rate, "default")
    return prices


def mart_prices(pg_query) -> dict[tuple[str, str], tuple[Decimal, str]]:
    rows = pg_query(
        "select product_id, pricelist_id, price, price_source from analytics.product_prices"
    )
    return {(p, pl): (price.normalize(), source) for p, pl, price, source in rows}


def normalized(prices):
    return {k: (v.normalize(), s) for k, (v, s) in prices.items()}


def test_first_job_builds_marts_that_match_zoho_and_prints_coverage(sim, job_env, pg_query):
    result = run_job(job_env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    summary = sim.summary()
    coverage = pg_query(
        "select active_products, with_pricelist_price, filled_by_default, without_price "
        "from analytics.price_coverage"
    )
    assert coverage == [
        (
            summary["active_items"],
            summary["active_in_active_sales_lists"],
            summary["active_in_no_list_rate_positive"],
            summary["active_in_no_list_rate_zero"],
        )
    ]
    assert re.search(
        rf"^  price coverage: .* of {summary['active_items']} active products", result.stdout, re.M
    )
    # the purchases and stock line (make demo prints it): Zoho's bills, its inventory items
    inventory = sum(
        1
        for r in sim.items.values()
        if r.get("item_type") == "inventory" and r.get("stock_on_hand") not in ("", None)
    )  # an inventory item Zoho keeps no stock figure for has no row
    assert re.search(
        rf"^  purchases and stock: {len(sim.bills):,} bills .* stock of {inventory:,} products "
        r"at \d+ locations",
        result.stdout,
        re.M,
    ), result.stdout[-2000:]
    assert mart_prices(pg_query) == normalized(expected_prices(sim))
    products = dict(pg_query("select product_id, is_active from analytics.products"))
    assert products == {i: r["status"] == "active" for i, r in sim.items.items()}
    assert_job_recorded_each_step(pg_query, job_env)


def assert_job_recorded_each_step(pg_query, job_env) -> None:
    """zoho_staging.job_runs: the job, its steps and their counts from the loader's
    sync_runs and dbt's artifacts; what it created locally is owner-only."""
    ((status, code, failed_step, steps),) = pg_query(
        "select status, exit_code, failed_step, steps from zoho_staging.job_runs"
    )
    assert (status, code, failed_step) == ("success", 0, None)
    load, build = steps["load"], steps["dbt_build"]
    (calls,) = pg_query("select sum(api_calls) from zoho_staging.sync_runs")[0]
    assert load["status"] == "ok" and load["counts"]["rows"] > 0
    assert load["counts"]["api_calls"] == calls > 0
    assert build["status"] in ("ok", "warn")
    assert build["counts"]["tests_passed"] > 20 and build["counts"]["tests_failed"] == 0
    assert steps["snapshots"]["status"] == "ok"
    assert steps["snapshots"]["counts"]["snapshots_ok"] == 3
    assert steps["freshness"]["status"] == "ok"
    assert steps["freshness"]["counts"]["data_age_seconds"] < 600
    dlt_dir = Path(job_env["DLT_PIPELINES_DIR"])
    private = [dlt_dir, *dlt_dir.rglob("*")]
    assert private and not [p for p in private if p.stat().st_mode & 0o077]


def test_changes_in_zoho_move_prices_between_default_and_list_on_the_next_job(
    sim, job_env, pg_query
):
    consumer = next(p for p, pb in sim.pricebooks.items() if pb["name"] == "Consumer")
    before = mart_prices(pg_query)
    defaulted = sorted(p for (p, _), (_, s) in before.items() if s == "default")
    listed = sorted({p for (p, _), (_, s) in before.items() if s == "pricelist"})
    gains_list_price, repriced = defaulted[0], defaulted[1]
    deactivated, deleted = listed[0], listed[1]

    sim.advance(120)
    sim.set_pricebook_item(consumer, gains_list_price, pricebook_rate=4321)
    sim.update_item(repriced, rate=9999.5)
    sim.deactivate_item(deactivated)
    sim.delete_item(deleted)
    new_item = sim.add_item(name="منتج جديد New product 🎉", rate=1500)
    sim.advance(120)

    result = run_job(job_env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    after = mart_prices(pg_query)
    assert after == normalized(expected_prices(sim))
    assert after[(gains_list_price, consumer)] == (Decimal("4321"), "pricelist")
    assert after[(repriced, consumer)] == (Decimal("9999.5"), "default")
    assert after[(new_item, consumer)] == (Decimal("1500"), "default")
    assert not [key for key in after if key[0] in (deactivated, deleted)]
    flags = dict(
        pg_query(
            "select product_id, (is_active, is_deleted) from analytics.products "
            "where product_id in (%s, %s, %s)",
            (deactivated, deleted, new_item),
        )
    )
    assert flags == {deactivated: "(f,f)", deleted: "(f,t)", new_item: "(t,f)"}


def test_a_job_with_nothing_changed_loads_no_rows_and_keeps_the_marts(sim, job_env, pg_query):
    before = mart_prices(pg_query)
    sim.reset_counters()

    result = run_job(job_env)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sim.counters["tokens_minted"] == 0
    (rows_loaded,) = pg_query(
        "select rows_loaded from zoho_staging.sync_runs order by started_at desc limit 1"
    )[0]
    assert not any(rows_loaded.values()), rows_loaded
    assert mart_prices(pg_query) == before
    lines = result.stdout.splitlines() + result.stderr.splitlines()
    assert len(lines) <= 20 and "\x1b[" not in result.stdout + result.stderr, lines
    assert [line.split()[:2] for line in lines if "rows 0," in line] == [["load", "ok"]]
    # the summary line says what retention pruned (nothing is 90 days old here)
    assert lines[-1].endswith("; retention 90 days: nothing to prune"), lines[-1]


def last_build(pg_query) -> tuple[str, dict]:
    ((status, build),) = pg_query(
        "select status, steps -> 'dbt_build' from zoho_staging.job_runs"
        " order by started_at desc limit 1"
    )
    return status, build


def test_a_job_with_nothing_changed_skips_the_build_and_checks_freshness_without_dbt(
    sim, job_env, pg_query
):
    result = run_job(job_env)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    status, build = last_build(pg_query)
    assert status == "success" and build["status"] == "unchanged", build
    assert build["counts"]["tests_failed"] == 0  # the last real build's tests, kept
    last_line = result.stdout.strip().splitlines()[-1]
    assert "success, exit 0" in last_line and "dbt build skipped: nothing changed" in last_line
    assert "freshness  ok" in result.stdout
    assert not (Path(job_env["JOB_OUTPUT_DIR"]) / "target" / "sources.json").exists()


def test_a_price_change_after_ten_skipped_builds_is_versioned_when_zoho_changed_it(
    sim, job_env, pg_query
):
    product = next(i for i, r in sorted(sim.items.items()) if r["status"] == "active")
    versions = "select count(*) from analytics_snapshots.items_snapshot where product_id = %s"
    (before,) = pg_query(versions, (product,))[0]
    for _ in range(10):
        sim.advance(900)
        assert run_job(job_env).returncode == 0
        assert last_build(pg_query)[1]["status"] == "unchanged"

    sim.advance(900)
    sim.update_item(product, rate=7777.25)
    changed_at = datetime.strptime(sim.items[product]["last_modified_time"], "%Y-%m-%dT%H:%M:%S%z")
    sim.advance(3 * 3600)  # the job runs hours after the change
    result = run_job(job_env)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert last_build(pg_query)[1]["status"] in ("ok", "warn")
    (after,) = pg_query(versions, (product,))[0]
    assert after == before + 1  # the skipped builds stored nothing; the change one version
    ((price, valid_from_is_zoho_time, updated_at),) = pg_query(
        "select s.price, s.dbt_valid_from = i.updated_at, i.updated_at"
        " from analytics_snapshots.items_snapshot as s"
        " join analytics_staging.stg_zoho_books__items as i using (product_id)"
        " where s.product_id = %s and s.dbt_valid_to is null",
        (product,),
    )
    assert price == Decimal("7777.25")
    assert updated_at == changed_at and valid_from_is_zoho_time
    ((closed,),) = pg_query(
        "select count(*) from analytics_snapshots.items_snapshot"
        " where product_id = %s and dbt_valid_to = %s",
        (product, changed_at),
    )
    assert closed == 1  # the version before ends when the new one begins
