"""organizations: the configured organization (for its base `currency_code`), once a day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dlt

from loader.errors import ConfigError
from loader.zoho.constants import ORGANIZATION_REFRESH_SECONDS, env_var
from loader.zoho.http import ZohoClient
from loader.zoho.modules import ORGANIZATIONS
from loader.zoho.resources.common import Counters, table_shape

MODULE = ORGANIZATIONS
NAME = MODULE.name


def list_organizations(
    client: ZohoClient,
    organization_id: str,
    counters: Counters,
    started_at: datetime,
    full_refresh: bool = False,
) -> Iterator[dict[str, Any]]:
    """One call, skipped when the last read (in the resource's state) is under a day old."""
    state = dlt.current.resource_state()
    now = started_at.timestamp()
    if not full_refresh and now - float(state.get("fetched_at", 0)) < (
        ORGANIZATION_REFRESH_SECONDS
    ):
        counters.progress.done(NAME, "read within the last day, skipped")
        return
    shape = table_shape(NAME, counters)
    with counters.quota_guard(NAME):
        organizations = client.get(MODULE.endpoint, MODULE.list_key) or []
        counters.progress.page(NAME, len(organizations), 1)
        match = [o for o in organizations if str(o.get("organization_id")) == organization_id]
        if not match:
            known = ", ".join(str(o.get("organization_id")) for o in organizations) or "none"
            raise ConfigError(
                f"{env_var('organization_id')}={organization_id} is not an organization of "
                f"this Zoho account (it has: {known})"
            )
        yield from shape.shape_rows(match[:1])
        state["fetched_at"] = now
    counters.progress.done(NAME)
