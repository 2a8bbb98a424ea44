"""Upgrade steps run once, before what relies on them: the webhook tables of a receiver
started on tables of this version take no lock, the loader's upgrade step gives an
earlier receiver's events their organization before a run reads them by organization, and
the pending details of every organization are each organization's own."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from loader.run.dlt_state import make_pipeline
from loader.warehouse import organization_upgrade, webhook_events
from loader.warehouse.catalog import table_columns
from loader.warehouse.webhook_events import Store, modules_applied_since
from loader.zoho.stored import Destination
from tests.integration.conftest import connect
from tests.integration.raw_tables import create_raw_tables
from tests.integration.test_organizations_alerts import PREVIOUS_TABLES


@pytest.fixture
def conn(clean_warehouse):
    connection = connect(clean_warehouse)
    yield connection
    connection.close()


def test_a_receiver_start_does_not_wait_for_a_reader_of_its_events(
    conn, clean_warehouse, monkeypatch
):
    """The events tables are created complete and upgraded once: a start on tables of
    this version runs no DDL, so a health check or report reading webhook_events in an open
    transaction does not hold the receiver's start up (an `alter table` would wait for it,
    and every insert would queue behind the alter)."""
    first = Store(clean_warehouse, size=1)
    try:
        first.ensure("111")
    finally:
        first.close()
    reader = connect(clean_warehouse)
    reader.autocommit = False
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=2s")  # the next start's connections
    again = Store(clean_warehouse, size=1)
    try:
        with reader.cursor() as cur:
            cur.execute("select count(*) from zoho_staging.webhook_events")  # holds its lock
        again.ensure("111")
        assert again.has_due("111") is False
    finally:
        again.close()
        reader.rollback()
        reader.close()
    assert webhook_events.ensure_tables(conn) is False  # nothing to create or upgrade


def test_the_loaders_upgrade_step_gives_an_earlier_receivers_events_their_organization(conn):
    """A receiver of the version before several organizations made the events tables; the
    loader (upgraded, its receiver not restarted yet) runs its upgrade step first, and its
    planner then reads the organization's webhook evidence. Once: the second step alters
    nothing."""
    with conn.cursor() as cur:
        cur.execute(PREVIOUS_TABLES)
    assert organization_upgrade.upgrade(conn) == []  # no raw table to upgrade here
    assert "organization_id" in table_columns(conn, "webhook_events")
    assert "organization_id" in table_columns(conn, "webhook_rejections")
    since = datetime.now(timezone.utc) - timedelta(hours=3)
    assert modules_applied_since(conn, since, "111") == frozenset()
    assert webhook_events.upgrade(conn) is False


def test_pending_details_of_every_organization_are_each_ones_own(clean_warehouse, conn):
    """Zoho's ids are unique within one organization only: invoice 1 of organization A
    waits for its details although organization B holds details of its own invoice 1."""
    create_raw_tables(clean_warehouse)
    modified = datetime(2025, 10, 31, 11, 41, 13, tzinfo=timezone.utc)
    with conn.cursor() as cur:
        for org in ("A", "B"):
            cur.execute(
                "insert into zoho_staging.invoices (organization_id, invoice_id,"
                " last_modified_time, is_deleted, _dlt_load_id, _dlt_id)"
                " values (%s, '1', %s, false, 'l', %s)",
                (org, modified, f"i{org}"),
            )
        cur.execute(
            "insert into zoho_staging.invoice_details (organization_id, invoice_id,"
            " last_modified_time, is_deleted, _dlt_load_id, _dlt_id)"
            " values ('B', '1', %s, false, 'l', 'dB')",
            (modified,),
        )
    with tempfile.TemporaryDirectory(prefix="pending-dlt-") as pipelines_dir:
        pipeline = make_pipeline(clean_warehouse, Path(pipelines_dir), "pending_check")
        assert Destination(pipeline.sql_client()).count_pending_details() == 1
        assert list(Destination(pipeline.sql_client(), "A").pending_invoices(10)) == [
            ("1", modified)
        ]
        assert Destination(pipeline.sql_client(), "B").count_pending_details() == 0
