"""Deleted contacts and invoices, found by the planned complete ID listings (the loader
against the simulator): flagged in raw with their invoice's details and lines, and
undeleted when they are listed again."""

from __future__ import annotations

import pytest

from loader.run.pipeline import RunOptions, RunResult, run_sync
from tests.loader_checks import loader_env
from zoho_sim import ZohoSimulator

CHECKS = ["contact_deletions", "invoice_deletions"]


@pytest.fixture
def sim(zoho_sim, clean_warehouse, tmp_path, monkeypatch) -> ZohoSimulator:
    zoho_sim.configure(per_minute=100_000)
    for name, value in loader_env(zoho_sim, clean_warehouse, tmp_path).items():
        monkeypatch.setenv(name, value)
    run_sync(RunOptions())  # everything loaded, as after a first run
    return zoho_sim


def load(sim: ZohoSimulator, **options) -> RunResult:
    sim.reset_counters()
    return run_sync(RunOptions(**options))


def flags(pg_query, table: str, key: str, record_id: str) -> list[tuple]:
    return pg_query(
        f"select is_deleted, deleted_at is not null from zoho_staging.{table} where {key} = %s",
        (record_id,),
    )


def test_a_planned_day_flags_a_deleted_invoice_and_contact_with_its_lines(
    sim, pg_query, monkeypatch
):
    invoice_id = next(i for i, inv in sim.invoices.items() if inv.get("line_items"))
    customer = sim.invoices[invoice_id]["customer_id"]
    contact_id = next(c for c in sim.contacts if c != customer)
    sim.delete_invoice(invoice_id)
    sim.delete_contact(contact_id)
    monkeypatch.setenv("SOURCES__ZOHO_BOOKS__DAILY_CALL_BUDGET", "1000")

    first = load(sim)  # the checks were never run: due now

    assert set(CHECKS) <= set(first.refreshed)
    assert flags(pg_query, "contacts", "contact_id", contact_id) == [(True, True)]
    assert flags(pg_query, "invoices", "invoice_id", invoice_id) == [(True, True)]
    lines = flags(pg_query, "invoice_line_items", "invoice_id", invoice_id)
    assert lines and set(lines) == {(True, True)}
    details = pg_query(
        "select is_deleted from zoho_staging.invoice_details where invoice_id = %s",
        (invoice_id,),
    )
    assert details == [(True,)]
    others = pg_query(
        "select count(*) from zoho_staging.invoices where is_deleted and invoice_id <> %s",
        (invoice_id,),
    )
    assert others == [(0,)]

    second = load(sim)  # daily: not due again within the day

    assert not set(CHECKS) & set(second.refreshed)
    assert sim.calls("GET /contacts") == 1 and sim.calls("GET /invoices") == 1


def test_a_record_listed_again_is_undeleted(sim, pg_query):
    contact_id = next(iter(sim.contacts))
    invoice_id = next(i for i, inv in sim.invoices.items() if inv.get("line_items"))
    for table, key, record in (
        ("contacts", "contact_id", contact_id),
        ("invoices", "invoice_id", invoice_id),
        ("invoice_line_items", "invoice_id", invoice_id),
    ):
        pg_query(
            f"update zoho_staging.{table} set is_deleted = true, deleted_at = now() "
            f"where {key} = %s",
            (record,),
        )

    load(sim, resources=CHECKS)

    assert flags(pg_query, "contacts", "contact_id", contact_id) == [(False, False)]
    assert flags(pg_query, "invoices", "invoice_id", invoice_id) == [(False, False)]
    assert {(False, False)} == set(flags(pg_query, "invoice_line_items", "invoice_id", invoice_id))


def test_a_check_cut_short_by_the_quota_marks_nothing(sim, pg_query):
    sim.delete_contact(next(iter(sim.contacts)))
    sim.configure(daily_quota=sim.quota_usage["used_today"])

    result = load(sim, resources=CHECKS)

    assert result.status == "quota_exhausted"
    assert pg_query("select count(*) from zoho_staging.contacts where is_deleted") == [(0,)]
