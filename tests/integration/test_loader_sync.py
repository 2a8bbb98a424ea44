"""The loader against the simulator and a real PostgreSQL: what lands, what a quiet run
costs, and how changes, deletions and re-appearances between runs show up."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

import psycopg2
import pytest

from loader.zoho.contract import TABLES
from loader.zoho.resources import pricebooks
from tests.integration.conftest import load
from tests.loader_checks import differences, duplicate_keys, loader_env, unique_indexes
from zoho_sim import ZohoSimulator
from zoho_sim.api import STREAM_THRESHOLD


def per_item_lists(sim: ZohoSimulator) -> int:
    return sum(1 for pb in sim.pricebooks.values() if pb["pricebook_type"] == "per_item")


def test_first_run_lands_every_resource_as_zoho_has_it(sim, pg_query):
    result = load()

    assert result.status == "success" and result.exit_code == 0
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}
    assert pg_query("select currency_code from zoho_staging.organizations") == [("IQD",)]
    assert result.api_calls == sim.counters["api_calls"]
    assert result.tokens_minted == sim.counters["tokens_minted"] == 1


def test_first_run_types_money_as_numeric_ids_as_text_and_keeps_arabic(sim, pg_query):
    load()
    types = dict(
        pg_query(
            "select table_name || '.' || column_name, data_type "
            "from information_schema.columns where table_schema = 'zoho_staging'"
        )
    )
    assert types["items.rate"] == types["invoices.total"] == "numeric"
    assert types["invoice_line_items.quantity"] == "numeric"
    assert types["items.item_id"] == "character varying"
    assert types["items.last_modified_time"] == "timestamp with time zone"
    assert types["invoices.date"] == "date"
    assert types["pricebook_items.price_brackets"] == "jsonb"
    assert types["pricebooks.decimal_place"] == "bigint"
    assert not [c for c in types if "__v_" in c], "a value landed in a variant column"
    item_id, item = next(iter(sim.items.items()))
    stored = pg_query("select name from zoho_staging.items where item_id = %s", (item_id,))
    assert stored == [(item["name"],)]


def test_blank_numbers_land_as_null(sim, pg_query):
    load()
    blank = [i for i, r in sim.items.items() if r["purchase_rate"] == ""]
    assert blank, "the unit data set has items with a blank purchase_rate"
    rows = pg_query(
        "select purchase_rate from zoho_staging.items where item_id = any(%s)", (blank,)
    )
    assert rows == [(None,)] * len(blank)


def test_second_run_calls_each_list_once_when_nothing_changed(sim, pg_query):
    load()
    [(last_load,)] = pg_query("select max(load_id) from zoho_staging._dlt_loads")
    sim.reset_counters()

    result = load()

    assert sim.counters["calls"] == {
        "GET /items": math.ceil(len(sim.items) / 200),
        "GET /contacts": 1,
        "GET /invoices": 1,
        "GET /bills": 1,
        "GET /pricebooks": 1,
        "GET /pricebooks/{id}": per_item_lists(sim),
    }
    assert sim.counters["tokens_minted"] == 0
    assert result.rows_loaded == {}
    newer = pg_query(
        "select count(*) from zoho_staging.items where _dlt_load_id > "
        "(select min(load_id) from zoho_staging._dlt_loads)"
    )
    assert newer == [(0,)]
    runs = pg_query("select status, api_calls from zoho_staging.sync_runs order by started_at")
    assert runs[-1] == ("success", sim.counters["api_calls"])
    # (a table dlt never created holds nothing: no inventory adjustment was sent)
    created = [
        t for t in TABLES if pg_query("select to_regclass(%s)", (f"zoho_staging.{t}",))[0][0]
    ]
    rewritten = {
        table: pg_query(
            f"select count(*) from zoho_staging.{table} where _dlt_load_id > %s", (last_load,)
        )[0][0]
        for table in created
    }
    assert rewritten == dict.fromkeys(created, 0)


def test_changes_between_runs_show_up_exactly(sim, pg_query):
    load()
    sim.advance(120)
    items = list(sim.items)
    invoices = list(sim.invoices)
    contacts = list(sim.contacts)
    pricebooks = [p for p, pb in sim.pricebooks.items() if pb["pricebook_type"] == "per_item"]

    sim.update_item(items[0], rate=123456.75)
    sim.deactivate_item(items[1])
    sim.delete_item(items[2])
    new_item = sim.add_item(name="صنف جديد New item", rate=5000)
    sim.update_contact(contacts[0], email="new.address@example.iq")
    new_contact = sim.add_contact(contact_name="زبون جديد")
    removed_line = sim.invoices[invoices[0]]["line_items"][0]["line_item_id"]
    if len(sim.invoices[invoices[0]]["line_items"]) == 1:
        sim.add_invoice_line(invoices[0], item_id=items[3], quantity=2)
    sim.remove_invoice_line(invoices[0], removed_line)
    sim.add_invoice_line(invoices[1], item_id=items[3], quantity=7)
    sim.update_invoice(invoices[2], status="paid")
    sim.update_pricebook(pricebooks[0], name="Consumer 2026")
    removed_pb_item = sim.pricebooks[pricebooks[1]]["pricebook_items"][0]["item_id"]
    sim.remove_pricebook_item(pricebooks[1], removed_pb_item)
    sim.delete_pricebook(pricebooks[2])
    sim.reset_counters()

    load()

    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}
    assert sim.calls("GET /invoices/{id}") == 3  # only the changed invoices
    deleted = pg_query(
        "select is_deleted, deleted_at is not null from zoho_staging.items where item_id = %s",
        (items[2],),
    )
    assert deleted == [(True, True)]
    status = dict(pg_query("select item_id, status from zoho_staging.items"))
    assert (status[items[1]], status[new_item]) == ("inactive", "active")
    assert pg_query(
        "select count(*) from zoho_staging.invoice_line_items where line_item_id = %s",
        (removed_line,),
    ) == [(0,)]
    assert pg_query(
        "select is_deleted from zoho_staging.pricebooks where pricebook_id = %s", (pricebooks[2],)
    ) == [(True,)]
    assert pg_query(
        "select bool_and(is_deleted) from zoho_staging.pricebook_items where pricebook_id = %s",
        (pricebooks[2],),
    ) == [(True,)]
    assert pg_query(
        "select is_deleted from zoho_staging.pricebook_items "
        "where pricebook_id = %s and item_id = %s",
        (pricebooks[1], removed_pb_item),
    ) == [(True,)]
    assert pg_query(
        "select count(*) from zoho_staging.contacts where contact_id = %s", (new_contact,)
    ) == [(1,)]


def test_deleted_item_that_reappears_is_undeleted(sim, pg_query):
    load()
    item_id = next(iter(sim.items))
    record = sim.items[item_id]
    index = sim.data.items.index_of(item_id)
    sim.delete_item(item_id)
    load()
    assert pg_query("select is_deleted from zoho_staging.items where item_id = %s", (item_id,)) == [
        (True,)
    ]

    sim.data.items.put(index, record)  # restored in Zoho with its old timestamp
    load()

    row = pg_query(
        "select is_deleted, deleted_at, name from zoho_staging.items where item_id = %s",
        (item_id,),
    )
    assert row == [(False, None, record["name"])]
    assert differences(pg_query, sim) == {}


def test_detail_budget_spreads_a_backfill_over_runs_and_reports_what_is_pending(
    sim, pg_query, monkeypatch
):
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__DETAILS_BUDGET", "12")
    total = len(sim.invoices) + len(sim.bills)  # one budget, invoices first
    # stock readings keep a tenth of it (2 calls) while inventory items wait
    stock = sum(1 for r in sim.items.values() if r.get("item_type") == "inventory")
    pending = []
    detail_calls = []
    bill_calls = []
    item_calls = []
    for _ in range(math.ceil((total + stock) / 12)):
        sim.reset_counters()
        result = load()
        pending.append(result.details_pending)
        detail_calls.append(sim.calls("GET /invoices/{id}") + sim.calls("GET /bills/{id}"))
        bill_calls.append(sim.calls("GET /bills/{id}"))
        item_calls.append(sim.calls("GET /items/{id}"))

    every = [d + i for d, i in zip(detail_calls, item_calls, strict=True)]
    left = (total + stock) % 12
    assert every == [12] * ((total + stock) // 12) + ([left] if left else [])
    # while invoices or bills wait after a run, stock took no more than its tenth
    assert all(i <= 2 for p, i in zip(pending, item_calls, strict=True) if p)
    assert sum(detail_calls) == total and sum(item_calls) == stock
    assert pending[-1] == 0 and pending[0] == total - 10
    first_bills = bill_calls.index(next(c for c in bill_calls if c))
    assert sum(bill_calls[:first_bills]) == 0 and 10 * first_bills <= len(sim.invoices)
    logged = pg_query("select details_pending from zoho_staging.sync_runs order by started_at")
    assert [row[0] for row in logged] == pending
    assert differences(pg_query, sim) == {}


def test_cli_budget_option_overrides_the_setting(sim):
    result = load(details_budget=5)
    assert sim.calls("GET /invoices/{id}") == 4
    assert sim.calls("GET /items/{id}") == 1  # stock readings keep a tenth (at least one)
    assert sim.calls("GET /bills/{id}") == 0  # invoices first: they took the rest
    assert result.details_pending == len(sim.invoices) + len(sim.bills) - 4


def test_full_refresh_rewrites_every_row_and_keeps_deletion_marks(sim, pg_query):
    load()
    deleted_item = next(iter(sim.items))
    sim.delete_item(deleted_item)
    load()
    sim.reset_counters()

    result = load(full_refresh=True)

    assert result.rows_loaded["items"] == len(sim.items)
    assert result.rows_loaded["invoices"] == len(sim.invoices)
    assert sim.calls("GET /organizations") == 1
    assert pg_query(
        "select is_deleted from zoho_staging.items where item_id = %s", (deleted_item,)
    ) == [(True,)]
    assert differences(pg_query, sim) == {}
    assert duplicate_keys(pg_query) == {}


def test_only_selected_resources_are_loaded(sim, pg_query):
    load(resources=["items"])
    api_endpoints = {e for e in sim.counters["calls"] if not e.startswith("POST /oauth")}
    assert api_endpoints == {"GET /items"}
    tables = {
        r[0]
        for r in pg_query(
            "select table_name from information_schema.tables where table_schema = 'zoho_staging'"
        )
    }
    assert "items" in tables and "invoices" not in tables


def test_run_log_row_says_what_the_run_did(sim, pg_query):
    before = datetime.now(timezone.utc)
    result = load()
    row = pg_query(
        "select status, started_at, finished_at, rows_loaded, api_calls, tokens_minted, "
        "quota_remaining, details_pending, error from zoho_staging.sync_runs"
    )
    status, started, finished, rows, calls, minted, quota, pending, error = row[0]
    assert status == "success" and error is None
    assert before <= started <= finished
    assert rows["items"] == len(sim.items) and rows == result.rows_loaded
    assert calls == sim.counters["api_calls"] and minted == 1
    assert quota == sim.quota_remaining
    assert pending == 0


def test_price_lists_longer_than_zohos_stream_land_whole_with_one_call_each(
    clean_warehouse, pg_query, tmp_path, monkeypatch
):
    """A list the simulator sends chunked (over STREAM_THRESHOLD rows) is read as it
    arrives and written in chunks: every row lands, the next run writes none of them
    again, and a row gone from the middle of the stream is marked deleted."""
    scale = {"items": 7000, "contacts": 2, "invoices": 2}
    monkeypatch.setattr(pricebooks, "PRICEBOOK_CHUNK_ROWS", 1000)  # several chunks per list
    with ZohoSimulator(scale, seed=3, per_minute=100_000) as big:
        for name, value in loader_env(big, clean_warehouse, tmp_path).items():
            monkeypatch.setenv(name, value)
        longest, pb = max(big.pricebooks.items(), key=lambda kv: len(kv[1]["pricebook_items"]))
        assert len(pb["pricebook_items"]) > STREAM_THRESHOLD

        first = load()

        assert first.rows_loaded["pricebook_items"] == sum(
            len(p["pricebook_items"]) for p in big.pricebooks.values()
        )
        assert big.calls("GET /pricebooks/{id}") == per_item_lists(big)
        assert big.calls("GET /pricebooks/items") == 0
        assert differences(pg_query, big) == {}
        assert duplicate_keys(pg_query) == {}

        quiet = load(resources=["pricebooks", "pricebook_items"])

        assert "pricebook_items" not in quiet.rows_loaded

        rows = big.pricebooks[longest]["pricebook_items"]
        gone, changed = rows[len(rows) // 2]["item_id"], rows[-1]["item_id"]
        big.remove_pricebook_item(longest, gone)
        big.set_pricebook_item(longest, changed, pricebook_rate=4321.5)

        after = load(resources=["pricebooks", "pricebook_items"])

        assert after.rows_loaded["pricebook_items"] == 2
        assert differences(pg_query, big) == {}
        marks = pg_query(
            "select item_id, is_deleted from zoho_staging.pricebook_items "
            "where pricebook_id = %s and item_id = any(%s)",
            (longest, [gone, changed]),
        )
        assert dict(marks) == {gone: True, changed: False}


def test_each_raw_table_refuses_a_second_row_for_its_key(sim, pg_query):
    load()

    assert unique_indexes(pg_query) == {
        "organizations": ["organization_id"],
        # Zoho's ids are unique only within an organization
        "items": ["item_id", "organization_id"],
        "contacts": ["contact_id", "organization_id"],
        "invoices": ["invoice_id", "organization_id"],
        "invoice_details": ["invoice_id", "organization_id"],
        "invoice_line_items": ["line_item_id", "organization_id"],
        "pricebooks": ["organization_id", "pricebook_id"],
        "pricebook_items": ["item_id", "organization_id", "pricebook_id"],
        "bills": ["bill_id", "organization_id"],
        "bill_details": ["bill_id", "organization_id"],
        "bill_line_items": ["line_item_id", "organization_id"],
        "item_stock_readings": ["item_id", "organization_id"],
        "item_locations": ["item_id", "location_id", "organization_id"],
        "sync_runs": ["run_id"],
    }  # the run log's primary key
    with pytest.raises(psycopg2.errors.UniqueViolation):
        pg_query("insert into zoho_staging.items select * from zoho_staging.items limit 1")


def test_repeated_keys_are_reported_and_a_full_refresh_mends_them(sim, pg_query, caplog):
    load()
    # a warehouse from before the unique indexes, holding an item twice
    repeated = next(iter(sim.items))
    pg_query("drop index zoho_staging.items__organization_id_item_id__unique")
    pg_query(
        "create temporary table copied as select * from zoho_staging.items where item_id = %s",
        (repeated,),
    )
    pg_query("update copied set _dlt_id = 'copy'")
    pg_query("insert into zoho_staging.items select * from copied")

    with caplog.at_level(logging.WARNING, logger="loader"):
        result = load(resources=["contacts"])  # a run that does not rewrite the item

    assert result.status == "success"  # what was loaded is kept
    [warning] = [r.getMessage() for r in caplog.records if "cannot enforce" in r.getMessage()]
    assert "zoho_staging" in warning and "items" in warning and "--full-refresh" in warning
    assert "items" not in unique_indexes(pg_query)
    assert duplicate_keys(pg_query) == {"items": 1}

    load(full_refresh=True)

    assert "items" in unique_indexes(pg_query)
    assert duplicate_keys(pg_query) == {}
    assert differences(pg_query, sim) == {}


def test_an_item_renamed_or_repriced_does_not_rewrite_its_price_list_rows(sim, pg_query):
    load()
    item_id = next(
        row["item_id"] for pb in sim.pricebooks.values() for row in pb.get("pricebook_items") or []
    )
    sim.advance(60)
    sim.update_item(item_id, name="Renamed", rate=123456)

    result = load()

    assert result.rows_loaded.get("items") == 1
    assert result.rows_loaded.get("pricebook_items", 0) == 0
    assert differences(pg_query, sim) == {}


def test_bills_land_with_their_lines_and_only_changed_bills_are_read_again(sim, pg_query):
    load()
    assert differences(pg_query, sim) == {}
    vendors = {b["vendor_id"] for b in sim.bills.values()}
    types = dict(pg_query("select contact_id, contact_type from zoho_staging.contacts"))
    assert {types[v] for v in vendors} == {"vendor"}
    sim.advance(120)
    bills = list(sim.bills)
    sim.update_bill(bills[0], status="paid")
    removed = sim.bills[bills[1]]["line_items"][0]["line_item_id"]
    sim.add_bill_line(bills[1], item_id=next(iter(sim.items)), quantity=3)
    sim.remove_bill_line(bills[1], removed)
    sim.delete_bill(bills[2])
    new_bill = sim.add_bill(lines=[{"item_id": "", "quantity": 1, "rate": 50, "name": "Freight"}])
    sim.reset_counters()

    load(resources=["bills", "bill_details", "bill_deletions"])

    # the two edited bills and the new one, and the deleted one's 404 that confirms it
    assert sim.calls("GET /bills/{id}") == 4
    # (the bills moved their goods' stock: items changed too, and were not loaded)
    assert {t: d for t, d in differences(pg_query, sim).items() if t.startswith("bill")} == {}
    assert duplicate_keys(pg_query) == {}
    assert pg_query(
        "select count(*) from zoho_staging.bill_line_items where line_item_id = %s", (removed,)
    ) == [(0,)]
    assert pg_query(
        "select item_id, quantity from zoho_staging.bill_line_items where bill_id = %s",
        (new_bill,),
    ) == [(None, 1)]
    assert pg_query(
        "select b.is_deleted, bool_and(l.is_deleted) from zoho_staging.bills b "
        "join zoho_staging.bill_line_items l using (bill_id) where b.bill_id = %s "
        "group by b.is_deleted",
        (bills[2],),
    ) == [(True, True)]

    sim.reset_counters()
    result = load(resources=["bills", "bill_details"])
    assert sim.counters["calls"] == {"GET /bills": 1}
    assert result.rows_loaded == {}
