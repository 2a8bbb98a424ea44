"""contacts: newest first, stopping at the first page that reaches below the cursor (one
call when nothing changed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa

from loader.zoho.http import ZohoClient
from loader.zoho.modules import CONTACTS
from loader.zoho.resources.common import (
    Counters,
    ListingCursor,
    count_at_or_after,
    table_shape,
    with_json_hints,
)

MODULE = CONTACTS
NAME = MODULE.name


def list_contacts(
    client: ZohoClient, counters: Counters, full_refresh: bool = False
) -> Iterator[Any]:
    cursor = ListingCursor(dlt.current.resource_state(), full_refresh)
    shape = table_shape(NAME, counters)
    complete = False
    with counters.quota_guard(NAME):
        for page in client.pages(MODULE.endpoint, MODULE.list_key, MODULE.list_params()):
            new_fields = shape.learn(page)
            kept, table = shape.arrow_rows(
                page, is_deleted=False, deleted_at=None
            )  # without quarantined records
            times = table.column("last_modified_time")
            fresh = cursor.fresh(kept, times)
            counters.progress.page(NAME, len(page), sum(fresh))
            yield with_json_hints(table.filter(pa.array(fresh, pa.bool_())), shape, new_fields)
            if cursor.start is not None and count_at_or_after(times, cursor.start) < len(page):
                break  # sorted newest first: every later page is older than the cursor
        complete = True
    if complete:
        cursor.complete()
    counters.progress.done(NAME, "" if complete else "listing incomplete, cursor kept")
