"""invoices (and bills): Zoho's server-side `last_modified_time >= cursor` filter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import dlt
import pyarrow as pa

from loader.zoho.http import ZohoClient
from loader.zoho.modules import INVOICES, Module
from loader.zoho.resources.common import ArrowBatch, Counters, ListingCursor, table_shape

MODULE = INVOICES
NAME = MODULE.name


def zoho_filter_time(value: datetime) -> str:
    """Zoho's `last_modified_time` filter format, in UTC: `2025-10-31T11:41:13+0000`
    (requests URL-encodes the `+`)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def list_invoices(
    client: ZohoClient, counters: Counters, full_refresh: bool = False
) -> Iterator[Any]:
    """Invoices modified at or after the cursor (Zoho's filter is inclusive; the cursor
    skips the unchanged records stamped at it)."""
    yield from list_modified(MODULE, client, counters, full_refresh)


def list_modified(
    module: Module, client: ZohoClient, counters: Counters, full_refresh: bool = False
) -> Iterator[Any]:
    """`module`'s records modified at or after the resource's cursor, through Zoho's
    `last_modified_time` filter (invoices, bills)."""
    cursor = ListingCursor(dlt.current.resource_state(), full_refresh)
    since = (
        {"last_modified_time": zoho_filter_time(cursor.start)}
        if cursor.start is not None and module.modified_filter
        else {}
    )
    params = module.list_params(**since)
    shape = table_shape(module.name, counters)
    batch = ArrowBatch(shape)
    complete = False
    with counters.quota_guard(module.name):
        for page in client.pages(module.endpoint, module.list_key, params, prefetch=True):
            new_fields = shape.learn(page)
            kept, table = shape.arrow_rows(
                page, is_deleted=False, deleted_at=None
            )  # without quarantined records
            fresh = cursor.fresh(kept, table.column("last_modified_time"))
            counters.progress.page(module.name, len(page), sum(fresh))
            yield from batch.add(table.filter(pa.array(fresh, pa.bool_())), new_fields)
        complete = True
    yield from batch.flush()
    if complete:
        cursor.complete()
    counters.progress.done(module.name, "" if complete else "listing incomplete, cursor kept")
