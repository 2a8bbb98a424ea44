"""Correctness while Zoho is edited during a run, and with records PostgreSQL cannot store
as sent (issue 14, items 1 and 2).

Listings are read 10 records a page here (the simulator's `max_per_page`), so the 40 unit
items take 4 pages and an edit between two page calls shifts the rest of the listing."""

from __future__ import annotations

import pytest

from loader.zoho.resources import items as items_resource
from tests.integration.conftest import load
from tests.loader_checks import duplicate_keys, loader_env
from zoho_sim import HOSTILE_VALUES, ZohoSimulator

PAGE = 10


@pytest.fixture
def sim(zoho_sim, clean_warehouse, tmp_path, monkeypatch) -> ZohoSimulator:
    zoho_sim.configure(per_minute=100_000, max_per_page=PAGE)
    for name, value in loader_env(zoho_sim, clean_warehouse, tmp_path).items():
        monkeypatch.setenv(name, value)
    return zoho_sim


def by_name(sim: ZohoSimulator) -> list[str]:
    """Item IDs in the order GET /items lists them (name, then ID)."""
    return sorted(sim.items, key=lambda i: (sim.items[i]["name"] or "", int(i)))


def live_items_differ(pg_query, sim: ZohoSimulator) -> set[tuple]:
    """Live items (ID, name) that Zoho and the warehouse do not agree on."""
    stored = set(pg_query("select item_id, name from zoho_staging.items where not is_deleted"))
    return stored ^ {(i, r["name"]) for i, r in sim.items.items()}


def live(pg_query, item_id: str) -> list[tuple]:
    return pg_query(
        "select not is_deleted, name from zoho_staging.items where item_id = %s", (item_id,)
    )


# ----- 1. no false deletions ----------------------------------------------------------------
def test_item_deleted_on_a_page_already_read_marks_no_live_item_deleted(sim, pg_query):
    load(resources=["items"])
    sim.advance(60)
    order = by_name(sim)
    deleted, shifted = order[0], order[2 * PAGE]  # page 3 starts one item later
    sim.after_call("GET /items", 2, sim.delete_item, deleted)
    sim.reset_counters()

    load(resources=["items"])

    assert live(pg_query, shifted) == [(True, sim.items[shifted]["name"])]
    assert live(pg_query, deleted)[0][0] is True  # seen on page 1: gone only since then
    # one confirmation: the shifted item was asked for and found
    assert sim.counters["calls"] == {"GET /items": 4, "GET /items/{id}": 1}

    sim.reset_counters()
    load(resources=["items"])

    assert live(pg_query, deleted)[0][0] is False  # missing, and Zoho says it is gone
    assert sim.counters["calls"] == {"GET /items": 4, "GET /items/{id}": 1}
    assert live_items_differ(pg_query, sim) == set()


@pytest.mark.parametrize("moved", ["first_to_the_end", "later_to_the_front"])
def test_item_renamed_across_pages_stays_live_with_its_new_name(sim, pg_query, moved):
    load(resources=["items"])
    sim.advance(60)
    order = by_name(sim)
    if moved == "first_to_the_end":  # everything after it moves up one: page 2 skips one
        item_id, name, after = order[0], "\uffee last by name", 2
        skipped = order[PAGE + 1]
    else:  # renamed onto page 1 after it was read: never seen at either place
        item_id, name, after = order[2 * PAGE + 5], "!!! first by name", 1
        skipped = item_id
    sim.after_call("GET /items", after, sim.update_item, item_id, name=name)
    sim.reset_counters()

    load(resources=["items"])

    assert live(pg_query, skipped)[0][0] is True
    assert live(pg_query, item_id) == [(True, name)]
    assert sim.calls("GET /items/{id}") == 1  # the one item no page showed
    assert live_items_differ(pg_query, sim) == set()


def test_many_missing_items_wait_for_a_second_listing_instead_of_a_call_each(
    sim, pg_query, monkeypatch
):
    monkeypatch.setattr(items_resource, "CONFIRM_CALLS_MAX", 0)
    load(resources=["items"])
    order = by_name(sim)
    deleted, shifted = order[0], order[2 * PAGE]
    sim.after_call("GET /items", 2, sim.delete_item, deleted)
    load(resources=["items"])
    assert live(pg_query, shifted)[0][0] is True  # missing once: a candidate only

    load(resources=["items"])  # seen again: no longer a candidate; `deleted` missing once
    assert live(pg_query, shifted)[0][0] is True
    assert live(pg_query, deleted)[0][0] is True

    sim.reset_counters()
    load(resources=["items"])  # missing from two complete listings in a row

    assert live(pg_query, deleted)[0][0] is False
    assert sim.calls("GET /items/{id}") == 0


def test_price_list_deleted_between_listing_pages_marks_no_live_list_deleted(sim, pg_query):
    sim.configure(max_per_page=5)  # 12 price lists: 3 pages
    load(resources=["pricebooks", "pricebook_items"])
    order = sorted(sim.pricebooks, key=lambda p: (sim.pricebooks[p]["name"], int(p)))
    deleted, shifted = order[0], order[5]
    sim.after_call("GET /pricebooks", 1, sim.delete_pricebook, deleted)
    sim.reset_counters()

    load(resources=["pricebooks", "pricebook_items"])

    assert pg_query(
        "select is_deleted from zoho_staging.pricebooks where pricebook_id = %s", (shifted,)
    ) == [(False,)]
    assert pg_query(
        "select count(*) from zoho_staging.pricebook_items where pricebook_id = %s and is_deleted",
        (shifted,),
    ) == [(0,)]
    gone = "select is_deleted from zoho_staging.pricebooks where pricebook_id = %s"
    assert pg_query(gone, (deleted,)) == [(False,)]  # listed on page 1 of the first read
    assert sim.calls("GET /pricebooks") == 2 * 3  # more than one page: read twice

    load(resources=["pricebooks", "pricebook_items"])

    assert pg_query(gone, (deleted,)) == [(True,)]
    live_lists = pg_query("select pricebook_id from zoho_staging.pricebooks where not is_deleted")
    assert {row[0] for row in live_lists} == set(sim.pricebooks)


# ----- 2. no poison record ------------------------------------------------------------------
TEXT_VALUES = ["nul", "lone_surrogate", "long_string", "bidi_controls", "sql_and_markup"]


def test_hostile_values_are_stored_cleaned_and_the_run_succeeds(sim, pg_query):
    load()
    sim.advance(60)
    ids = list(sim.items)
    named = {}
    for n, key in enumerate(TEXT_VALUES):
        sim.update_item(ids[n], name=HOSTILE_VALUES[key])
        named[key] = ids[n]
    sim.update_item(ids[10], name=None)
    sim.update_item(ids[11], rate=HOSTILE_VALUES["number_as_string"])
    sim.update_item(ids[12], rate=HOSTILE_VALUES["empty_number"])
    sim.update_item(ids[13], custom_fields=[{"label": "note", "value": "a\u0000b \ud800"}])
    huge = sim.add_item(item_id=HOSTILE_VALUES["huge_id"], name="huge id")
    contact = next(iter(sim.contacts))
    sim.update_contact(contact, contact_name=HOSTILE_VALUES["nul"])
    invoice = next(iter(sim.invoices))
    sim.update_invoice(invoice, notes="\ud800 and \u0000", customer_name=HOSTILE_VALUES["nul"])

    result = load()

    assert result.status == "success"
    names = dict(pg_query("select item_id, name from zoho_staging.items"))
    assert names[named["nul"]] == "H12 NUL \ufffd inside"
    assert names[named["lone_surrogate"]] == "bad \ufffd surrogate"
    for key in ("long_string", "bidi_controls", "sql_and_markup"):
        assert names[named[key]] == HOSTILE_VALUES[key]
    assert names[ids[10]] is None and names[huge] == "huge id"
    rates = dict(pg_query("select item_id, rate from zoho_staging.items"))
    assert (rates[ids[11]], rates[ids[12]]) == (12.5, None)
    assert pg_query(
        "select custom_fields -> 0 ->> 'value' from zoho_staging.items where item_id = %s",
        (ids[13],),
    ) == [("a\ufffdb \ufffd",)]
    assert pg_query(
        "select contact_name from zoho_staging.contacts where contact_id = %s", (contact,)
    ) == [("H12 NUL \ufffd inside",)]
    assert pg_query(
        "select notes from zoho_staging.invoice_details where invoice_id = %s", (invoice,)
    ) == [("\ufffd and \ufffd",)]
    assert duplicate_keys(pg_query) == {}

    sim.advance(60)
    sim.update_item(named["nul"], name="H12 fixed")
    load()
    assert live(pg_query, named["nul"]) == [(True, "H12 fixed")]


def test_records_that_cannot_be_stored_are_quarantined_and_load_once_fixed(sim, pg_query, capsys):
    from loader.__main__ import main

    load()
    sim.advance(60)
    items, invoices = list(sim.items), list(sim.invoices)
    sim.update_item(items[0], rate=1e40)  # beyond numeric(38, 9)
    long_id = sim.add_item(item_id="1" * 600, name="id too long to index")
    sim.update_invoice(invoices[0], date="31/12/2025")
    sim.update_item(items[1], rate=7750)  # an ordinary change beside them

    assert main(["run"]) == 0

    out = capsys.readouterr().out
    assert "records quarantined (cannot be stored as Zoho sent them): 3" in out
    assert pg_query("select rate from zoho_staging.items where item_id = %s", (items[1],)) == [
        (7750,)
    ]
    assert pg_query("select count(*) from zoho_staging.items where item_id = %s", (long_id,)) == [
        (0,)
    ]
    quarantined = pg_query(
        "select table_name, record_id, reason, payload::jsonb ->> 'date', times_seen "
        "from zoho_staging.quarantine order by table_name, record_id"
    )
    assert [(t, r[:20], d, n) for t, r, _, d, n in quarantined] == [
        ("invoices", invoices[0], "31/12/2025", 1),
        ("items", "1" * 20, None, 1),
        ("items", items[0], None, 1),
    ]
    assert "numeric(38, 9)" in quarantined[2][2]
    assert pg_query(
        "select status, quarantined from zoho_staging.sync_runs order by started_at desc limit 1"
    ) == [("success", 3)]
    assert main(["status"]) == 0
    assert "records quarantined: 3" in capsys.readouterr().out

    sim.advance(60)
    sim.update_item(items[0], rate=1000)
    sim.update_invoice(invoices[0], date="2025-10-30")
    load()

    assert pg_query("select rate from zoho_staging.items where item_id = %s", (items[0],)) == [
        (1000,)
    ]
    assert pg_query(
        "select date::text from zoho_staging.invoices where invoice_id = %s", (invoices[0],)
    ) == [("2025-10-30",)]
    assert pg_query(
        "select count(*) from zoho_staging.invoice_details where invoice_id = %s", (invoices[0],)
    ) == [(1,)]
    assert pg_query("select quarantined from zoho_staging.sync_runs order by started_at desc")[
        0
    ] == (1,)  # the long ID is still listed, still quarantined


def test_a_load_the_warehouse_refuses_is_dropped_and_its_records_read_again(sim, pg_query):
    load()
    # A data error no cleaning foresees: the warehouse refuses one value.
    pg_query(
        "alter table zoho_staging.invoices add constraint no_poison check (status <> 'poison')"
    )
    sim.advance(60)
    invoice, contact = next(iter(sim.invoices)), next(iter(sim.contacts))
    sim.update_invoice(invoice, status="poison")
    sim.update_contact(contact, email="changed.in.the.failed.run@example.iq")

    with pytest.raises(Exception, match="no_poison"):
        load()

    assert pg_query(
        "select status, quarantined from zoho_staging.sync_runs order by started_at desc limit 1"
    ) == [("failed", 1)]
    assert pg_query(
        "select table_name, reason like '%no_poison%', reason like '%File \"%' "
        "from zoho_staging.quarantine"
    ) == [("invoices", True, False)]  # the warehouse's own message, not a traceback

    sim.advance(60)
    sim.update_invoice(invoice, status="paid")  # fixed in Zoho
    result = load()

    assert result.status == "success"
    assert pg_query(
        "select status from zoho_staging.invoices where invoice_id = %s", (invoice,)
    ) == [("paid",)]
    # the contacts cursor went back with the dropped package: the edit is read again
    assert pg_query(
        "select email from zoho_staging.contacts where contact_id = %s", (contact,)
    ) == [("changed.in.the.failed.run@example.iq",)]
