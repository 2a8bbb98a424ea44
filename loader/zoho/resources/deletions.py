"""contact_deletions, invoice_deletions: contacts and invoices deleted in Zoho.

Zoho has no deleted-records endpoint, so a complete listing of each (200 a call) is
compared with the stored ids (loader/zoho/reconcile.py) at the cadence the API budget planner
gives it (daily where it fits; docs/decisions.md, "Deleted contacts and invoices"). A
stored row missing from it is deleted once Zoho confirms it, as for items
(docs/decisions.md, "Deletions are confirmed"; `confirm_missing`: its detail answers
"not found", or the previous check missed it too): it is re-written with `is_deleted` and
`deleted_at`. A deleted row listed again is re-written undeleted. A deleted invoice's
details and line items are flagged the same way. A listing cut short (daily quota)
compares nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import dlt

from loader.zoho.contract.hints import load_hints
from loader.zoho.http import ZohoClient
from loader.zoho.modules import Module
from loader.zoho.reconcile import compare_ids
from loader.zoho.resources.common import (
    Counters,
    StoredRows,
    confirm_missing,
    existing_types,
    table_shape,
)

# Detail calls a check may spend confirming missing records (as for items); more wait for
# the next check, where a record missing twice in a row is deleted without a call.
CONFIRM_CALLS_MAX = 20


@dataclass(frozen=True)
class Kind:
    """One module's deletion check, from its declaration (loader/zoho/modules.py)."""

    resource: str
    table: str
    id_column: str
    path: str
    list_key: str
    singular: str  # the detail's envelope key
    params: dict[str, str]
    children: tuple[str, ...] = ()  # tables keyed by the same id that follow its fate


def kind_of(module: Module) -> Kind:
    check = module.deletion_check
    if check is None:
        raise ValueError(f"module {module.name} declares no deletion check")
    return Kind(
        resource=check.name,
        table=module.tables[0],
        id_column=module.id_column,
        path=module.endpoint,
        list_key=module.list_key,
        singular=module.singular,
        params=dict(check.params),
        children=check.children,
    )


def check_deletions(
    kind: Kind,
    client: ZohoClient,
    counters: Counters,
    stored_ids: Sequence[tuple[str, bool]],
    stored_rows: StoredRows | None,
    deleted_at: datetime,
) -> Iterator[Any]:
    """Compare a complete listing of `kind` with `stored_ids` (id, is_deleted), read
    before extraction, and yield the rows whose deletion mark changes."""
    complete = False
    with counters.quota_guard(kind.resource):
        result = compare_ids(_listed_ids(kind, client, counters), stored_ids)
        complete = True
    if not complete:
        counters.progress.done(kind.resource, "listing incomplete, nothing compared")
        return
    checked = confirm_missing(
        result.to_delete,
        dlt.current.resource_state(),
        lambda record_id: client.get(f"{kind.path}/{record_id}", kind.singular),
        CONFIRM_CALLS_MAX,
    )
    if checked.quota_hit:
        counters.note_quota_stop(kind.resource)
    for table in (kind.table, *kind.children):
        for ids, when in ((checked.gone, deleted_at), (result.to_undelete, None)):
            yield from _marked(table, kind.id_column, ids, stored_rows, when, counters)
    counters.progress.done(
        kind.resource,
        f"{len(checked.gone)} marked deleted, {len(checked.waiting)} to confirm, "
        f"{len(result.to_undelete)} back"
        + (f", {len(result.unknown)} not loaded yet" if result.unknown else ""),
    )


def _listed_ids(kind: Kind, client: ZohoClient, counters: Counters) -> Iterator[list[str]]:
    for page in client.pages(kind.path, kind.list_key, kind.params, prefetch=True):
        counters.progress.page(kind.resource, len(page), 0)
        yield [str(record[kind.id_column]) for record in page]


def _marked(
    table: str,
    id_column: str,
    ids: list[str],
    stored_rows: StoredRows | None,
    deleted_at: datetime | None,
    counters: Counters,
) -> Iterator[Any]:
    """The stored rows of `ids` in `table` re-written deleted (`deleted_at` set) or back
    (None): a delete-insert merge replaces whole rows, so the mark carries the row along."""
    if stored_rows is None or not ids or not existing_types(table):  # not loaded yet
        return
    shape = table_shape(table, counters)
    stamped = "deleted_at" in shape.types  # invoice_details keeps only the flag
    for chunk in stored_rows.rows_by_id(table, id_column, ids):
        for row in chunk:
            row["is_deleted"] = deleted_at is not None
            if stamped:
                row["deleted_at"] = deleted_at
        if chunk:
            # the table's own hints, its merge included (a row only named for its table
            # would take the disposition its table's first load left: append)
            yield dlt.mark.with_hints(
                shape.arrow_table(chunk),
                dlt.mark.make_hints(**load_hints(table)),
                create_table_variant=True,
            )
