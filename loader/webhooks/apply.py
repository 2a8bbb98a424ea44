"""Stored events -> rows of the raw tables the scheduled sync writes, through dlt.

The same tables, hints, keys and merge (delete-insert on the primary key) as the sync
(loader/zoho/source.py), so dbt reads one source of truth:

- items, contacts, invoices: the payload's record, reduced to the table's columns (the
  contract's plus those the sync already added), written like a listing row;
- an invoice's payload carries its line items, so its `invoice_details` and
  `invoice_line_items` rows are written exactly as the sync's detail call writes them
  (no detail call);
- a `deleted` event marks the record as the sync's deletion check does
  (loader/zoho/resources/deletions.py): its row in `items`, `contacts` or `invoices` gets
  `is_deleted`/`deleted_at` (= when the event was received; the row keeps the record's
  last fields, from the payload), and a deleted invoice's stored `invoice_details` and
  `invoice_line_items` rows are re-written flagged too. A later `created`/`edited`
  event of the record writes it back with `is_deleted` false (undeleted);
- a payload without the record's `last_modified_time` (or an invoice without its
  `line_items`), or an event of a record the raw tables have never held, is completed by
  one API call for that record (GET /{module}/{id}): an id Zoho does not have is ignored;
- one bad event never sinks its round: an event that cannot be applied (no record, a
  record id or time that is not Zoho's: loader/webhooks/payload.py) is dead-lettered
  alone with its reason, and a failed load is retried event by event;
- ordering (docs/decisions.md, "Webhook ordering"): per record only the newest event of
  a round is written, and only when the table does not already hold a newer version
  (`last_modified_time`): an older event never overwrites newer data; at the same time
  a delete wins, within a round and across rounds;
- each organization's events are applied by its own applier: its rows only (every row
  written names it, every stored row read is its own), through its own dlt pipeline and
  staging dataset (as its scheduled pipeline's, under the same lock).

What the warehouse holds is read through loader/warehouse/catalog.py (tables, columns,
stored versions) and loader/zoho/stored.py: no query of its own here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dlt

from loader import warehouse
from loader.errors import RecordNotFound
from loader.names import RAW_SCHEMA
from loader.run import dlt_overrides
from loader.warehouse.catalog import stored_versions, table_columns
from loader.warehouse.webhook_events import Store
from loader.webhooks.config import APPLIED_MODULES
from loader.webhooks.payload import record_of, record_problem
from loader.webhooks.worker import Outcome
from loader.zoho.contract import TABLES, columns
from loader.zoho.contract.hints import dlt_hints
from loader.zoho.contract.types import ColumnType
from loader.zoho.organizations import Organization, identifier
from loader.zoho.progress import Progress
from loader.zoho.quarantine import Quarantine
from loader.zoho.records import TableShape, parse_zoho_timestamp
from loader.zoho.resources.common import Counters
from loader.zoho.resources.invoice_details import (
    InvoiceDocument,
    invoice_detail_rows,
    invoice_line_item_rows,
)
from loader.zoho.source import organization_stamp
from loader.zoho.stored import Destination

dlt_overrides.install()

log = logging.getLogger("loader.webhooks.apply")

EARLIEST = datetime.min.replace(tzinfo=timezone.utc)

PIPELINE_NAME = "zoho_books_webhooks"


class BadEvent(ValueError):
    """An event that cannot be applied whatever the retries: dead-lettered alone."""


# Rows keyed by an invoice's id that follow its deletion (loader/zoho/resources/deletions.py).
INVOICE_CHILDREN = ("invoice_details", "invoice_line_items")
_PG_KINDS: dict[str, ColumnType] = {
    "text": "text",
    "character varying": "text",
    "numeric": "decimal",
    "double precision": "decimal",
    "bigint": "bigint",
    "integer": "bigint",
    "boolean": "bool",
    "timestamp with time zone": "timestamp",
    "timestamp without time zone": "timestamp",
    "date": "date",
    "jsonb": "json",
    "json": "json",
}


def is_complete(module: str, event_type: str, record: dict[str, Any]) -> bool:
    """Whether the payload has what the tables need without an API call."""
    if not record.get("last_modified_time"):
        return False
    return not (module == "invoices" and event_type != "deleted" and "line_items" not in record)


class DltApplier:
    """Applies a round of events (the worker's `Applier`)."""

    def __init__(
        self,
        store: Store,
        pg: dict[str, str],
        pipelines_dir: Path,
        client_factory: Callable[[], Any],
        organization: Organization | None = None,
    ) -> None:
        self.store = store
        # the organization whose events these are: every row it writes names it
        self.organization_id = None if organization is None else organization.key
        self.pg = pg
        self.client_factory = client_factory
        self._client: Any = None
        self.api_calls = 0  # GETs made to complete events (the worker logs and counts them)
        options: dict[str, Any] = {}
        name = PIPELINE_NAME
        if organization is not None:
            # its own staging dataset, its scheduled pipeline's (the same lock guards
            # both): two organizations merging at once never share one (dlt-hub/dlt#4297)
            options["staging_dataset_name_layout"] = organization.staging_dataset_layout
            if not organization.legacy:
                name = f"{PIPELINE_NAME}_{identifier(organization.key)}"
        self.pipeline = dlt.pipeline(
            pipeline_name=name,
            destination=dlt.destinations.postgres(warehouse.dlt_credentials(pg), **options),
            dataset_name=RAW_SCHEMA,
            pipelines_dir=str(pipelines_dir),
        )
        # A round killed before its load leaves a package behind; loading it later could
        # write older data over newer. Its events are still pending and are re-planned.
        self.pipeline.abort_packages()

    def client(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def __call__(self, events: list[dict[str, Any]]) -> tuple[dict[int, Outcome], set[str]]:
        outcomes: dict[int, Outcome] = {}
        records: dict[int, dict[str, Any]] = {}
        known = self._known(events)
        for event in events:
            try:
                record = self._prepare(event, known)
            except RecordNotFound:
                outcomes[event["id"]] = Outcome(
                    "ignored", "not in Zoho (GET: not found; a stored one is marked by the sync)"
                )
                continue
            except BadEvent as exc:  # set aside alone: a retry would fail the same way
                outcomes[event["id"]] = Outcome("dead", str(exc))
                continue
            except Exception as exc:
                outcomes[event["id"]] = Outcome("failed", f"completing the record: {exc}")
                continue
            records[event["id"]] = record
        winners = self._newest_per_record(events, records, outcomes)
        try:
            changed = self._write(list(winners), records, outcomes)
        except Exception as exc:
            if len(winners) <= 1:
                raise
            # One event's rows failed the load: apply each alone, so that only it retries.
            log.warning("a round of %d events failed (%s); applying them one by one",
                        len(winners), _one_line(exc))  # fmt: skip
            self.pipeline.drop_pending_packages()
            changed = set()
            for event in winners:
                try:
                    changed |= self._write([event], records, outcomes)
                except Exception as alone:
                    self.pipeline.drop_pending_packages()
                    outcomes[event["id"]] = Outcome("failed", _one_line(alone))
        return outcomes, changed

    def _known(self, events: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """(module, id) of the events' records the raw tables already hold."""
        by_module: dict[str, list[str]] = {}
        for event in events:
            if event.get("entity_id") is not None:
                by_module.setdefault(event["module"], []).append(event["entity_id"])
        return {
            (module, record_id)
            for module, ids in by_module.items()
            for record_id in self._stored_versions(module, ids)
        }

    def _prepare(self, event: dict[str, Any], known: set[tuple[str, str]]) -> dict[str, Any]:
        """The event's record, completed by one GET when the payload lacks fields or the
        warehouse has never seen the record; BadEvent when it cannot be applied."""
        module, singular = event["module"], APPLIED_MODULES[event["module"]]
        try:
            record = record_of(event)
        except ValueError as exc:
            raise BadEvent(str(exc)) from None
        problem = record_problem(module, singular, record)
        if problem is not None or str(record.get(f"{singular}_id", "")) != event["entity_id"]:
            raise BadEvent(problem or "the payload's record id is not the event's")
        unseen = (module, event["entity_id"]) not in known and event["event_type"] != "deleted"
        if unseen or not is_complete(module, event["event_type"], record):
            # A record never listed (a `created` event, or one for an id Zoho does not
            # have) is checked with Zoho before it becomes an active row.
            record = self._complete(event, record)
            self.api_calls += 1
            problem = record_problem(module, singular, record)
            if problem is not None:
                raise BadEvent(f"{problem} (in the record Zoho answered)")
        return record

    def _write(
        self,
        winners: list[dict[str, Any]],
        records: dict[int, dict[str, Any]],
        outcomes: dict[int, Outcome],
    ) -> set[str]:
        """Load `winners` (those not older than the stored rows); the tables changed."""
        self._drop_older_than_stored(winners, records, outcomes)
        rows, documents = self._rows(winners, records, outcomes)
        if rows or documents:
            counters = Counters(progress=Progress())
            self.pipeline.run(self._resources(rows, documents, counters))
            self._quarantined(winners, counters.quarantine, outcomes)
        for event in winners:
            outcomes.setdefault(event["id"], Outcome("applied"))
        return set(rows) | ({"invoice_details", "invoice_line_items"} if documents else set())

    # ----- planning ----------------------------------------------------------------------
    def _complete(self, event: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        """One GET for the record; a deleted record keeps what the payload had."""
        module, singular = event["module"], APPLIED_MODULES[event["module"]]
        fetched = self.client().get(f"/{module}/{event['entity_id']}", singular)
        if not isinstance(fetched, dict):
            raise ValueError(f"GET /{module}/{{id}} answered without {singular!r}")
        return fetched if event["event_type"] != "deleted" else {**fetched, **record}

    @staticmethod
    def _newest_per_record(
        events: list[dict[str, Any]],
        records: dict[int, dict[str, Any]],
        outcomes: dict[int, Outcome],
    ) -> list[dict[str, Any]]:
        """Per record, the event with the newest last_modified_time (then the latest
        received); the others are superseded."""
        best: dict[tuple[str, str], dict[str, Any]] = {}

        def order(event: dict[str, Any]) -> tuple[datetime, int, int]:
            modified = parse_zoho_timestamp(records[event["id"]].get("last_modified_time"))
            # at the same time a delete wins: nothing follows a deletion
            deleted = int(event["event_type"] == "deleted")
            return (modified or EARLIEST, deleted, event["id"])

        for event in events:
            if event["id"] not in records:
                continue
            key = (event["module"], event["entity_id"])
            current = best.get(key)
            if current is None or order(event) > order(current):
                if current is not None:
                    outcomes[current["id"]] = Outcome("ignored", f"superseded by {event['id']}")
                best[key] = event
            else:
                outcomes[event["id"]] = Outcome("ignored", f"superseded by {current['id']}")
        return list(best.values())

    def _drop_older_than_stored(
        self,
        winners: list[dict[str, Any]],
        records: dict[int, dict[str, Any]],
        outcomes: dict[int, Outcome],
    ) -> None:
        by_module: dict[str, list[dict[str, Any]]] = {}
        for event in winners:
            by_module.setdefault(event["module"], []).append(event)
        for module, module_events in by_module.items():
            stored = self._stored_versions(module, [e["entity_id"] for e in module_events])
            for event in module_events:
                mine = parse_zoho_timestamp(records[event["id"]].get("last_modified_time"))
                theirs, deleted = stored.get(event["entity_id"], (None, False))
                if theirs is None or mine is None:
                    continue
                if theirs > mine:
                    outcomes[event["id"]] = Outcome(
                        "ignored", f"older than stored ({theirs.isoformat()})"
                    )
                elif deleted and theirs == mine and event["event_type"] != "deleted":
                    # at the same time a delete wins, across rounds as within one
                    outcomes[event["id"]] = Outcome(
                        "ignored", f"the record was deleted at {theirs.isoformat()}"
                    )
        winners[:] = [e for e in winners if e["id"] not in outcomes]

    def _stored_versions(self, table: str, ids: list[str]) -> dict[str, tuple[datetime, bool]]:
        """Per stored id of this organization: (its last_modified_time, whether it is
        marked deleted)."""
        with self.store.cursor() as cur:
            return stored_versions(
                cur.connection, table, f"{APPLIED_MODULES[table]}_id", ids, self.organization_id
            )

    def _existing_kinds(self, table: str) -> dict[str, ColumnType]:
        """The types of the columns `table` has now (the sync may have added some); empty
        when it does not exist yet."""
        with self.store.cursor() as cur:
            found = table_columns(cur.connection, table)
        return {
            name: _PG_KINDS.get(kind, "text")
            for name, kind in found.items()
            if not name.startswith("_dlt_")
        }

    def _rows(
        self,
        winners: list[dict[str, Any]],
        records: dict[int, dict[str, Any]],
        outcomes: dict[int, Outcome],
    ) -> tuple[dict[str, list[dict[str, Any]]], list[InvoiceDocument]]:
        rows: dict[str, list[dict[str, Any]]] = {}
        documents: list[InvoiceDocument] = []
        deleted_invoices: dict[str, datetime] = {}
        for event in winners:
            module, record = event["module"], records[event["id"]]
            deleted = event["event_type"] == "deleted"
            modified = parse_zoho_timestamp(record.get("last_modified_time"))
            if module == "invoices" and deleted:
                deleted_invoices[event["entity_id"]] = event["received_at"]
            elif module == "invoices":
                assert modified is not None
                documents.append(InvoiceDocument(event["entity_id"], modified, record))
            deleted_at = event["received_at"] if deleted else None
            rows.setdefault(module, []).append(
                {**record, "is_deleted": deleted, "deleted_at": deleted_at}
            )
        winners[:] = [e for e in winners if e["id"] not in outcomes]
        for table in INVOICE_CHILDREN:
            marked = self._stored_marked(table, deleted_invoices)
            if marked:
                rows[table] = marked
        return rows, documents

    def _stored_marked(self, table: str, deleted: dict[str, datetime]) -> list[dict[str, Any]]:
        """The stored rows of the deleted invoices in `table`, flagged (and stamped where
        the table has `deleted_at`): a delete-insert merge replaces whole rows, so the
        mark carries the row along, as in the sync (loader/zoho/resources/deletions.py)."""
        if not deleted or not self._existing_kinds(table):
            return []
        stamped = "deleted_at" in columns(table)  # invoice_details keeps only the flag
        marked = []
        for chunk in Destination(self.pipeline.sql_client(), self.organization_id).rows_by_id(
            table, "invoice_id", sorted(deleted)
        ):
            for row in chunk:
                row["is_deleted"] = True
                if stamped:
                    row["deleted_at"] = deleted[row["invoice_id"]]
                marked.append(row)
        return marked

    # ----- the dlt source ----------------------------------------------------------------
    def _quarantined(
        self,
        winners: list[dict[str, Any]],
        quarantine: Quarantine,
        outcomes: dict[int, Outcome],
    ) -> None:
        """Events whose record (or one of an invoice's lines) could not be stored: noted in
        `zoho_staging.quarantine` as the sync notes its own, and `ignored` (a retry would
        fail the same way; Zoho's next change of the record comes as a new event)."""
        if not len(quarantine):
            return
        reasons: dict[tuple[str, str], str] = {}
        for rejected in quarantine.records:
            module = "invoices" if rejected.table.startswith("invoice") else rejected.table
            record_id = rejected.record_id
            if rejected.table == "invoice_line_items":
                record_id = str(json.loads(rejected.payload).get("invoice_id"))
            reasons[(module, record_id)] = f"{rejected.table}: {rejected.reason}"
        for event in winners:
            reason = reasons.get((event["module"], event["entity_id"]))
            if reason is not None:
                outcomes[event["id"]] = Outcome("ignored", f"quarantined ({reason})")
        with self.store.cursor() as cur:
            quarantine.save(cur.connection, f"webhooks-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")

    def _resources(
        self,
        rows: dict[str, list[dict[str, Any]]],
        documents: list[InvoiceDocument],
        counters: Counters,
    ) -> list[Any]:
        """dlt resources writing `rows` and the invoices' details and lines; records that
        cannot be stored go to `counters.quarantine`, as in the sync."""
        resources = []
        for table, records in rows.items():
            # The table's columns: the contract's and those the sync added since (a record's
            # other fields are not invented as columns here; absent ones are null, as in a
            # listing row without them).
            kinds = {**self._existing_kinds(table), **columns(table)}
            shape = TableShape(table, kinds, None, counters.quarantine)
            keep = [{k: v for k, v in r.items() if k in kinds} for r in records]
            hints = resource_hints(table)
            if table in INVOICE_CHILDREN:  # deleted invoices' rows, beside the documents'
                hints["name"] = f"{table}_of_deleted_invoices"
            hints["columns"] = {**shape.dlt_columns(), **hints["columns"]}
            resources.append(dlt.resource([shape.arrow_table(keep)], **hints))
        if documents:
            feed = dlt.resource(_one(documents), name="invoice_documents", selected=False)
            resources += [
                feed,
                dlt.transformer(
                    invoice_detail_rows, data_from=feed, **resource_hints("invoice_details")
                )(counters),
                dlt.transformer(
                    invoice_line_item_rows,
                    data_from=feed,
                    **resource_hints("invoice_line_items"),
                )(counters),
            ]
        if self.organization_id is None:
            return resources
        stamp = organization_stamp(self.organization_id)
        return [r if r.name == "invoice_documents" else r.add_map(stamp) for r in resources]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def resource_hints(table: str) -> dict[str, Any]:
    """dlt.resource arguments for `table`, as the sync's source gives them: the
    contract's hints, csv load files for the tables it yields as arrow."""
    hints = {"name": table, **dlt_hints(table)}
    if TABLES[table].arrow:
        hints["file_format"] = "csv"
    return hints


def _one(documents: list[InvoiceDocument]) -> Iterator[list[InvoiceDocument]]:
    yield documents
