"""Records the loader could not shape into storable rows: kept aside, never blocking.

loader/zoho/records.py cleans what PostgreSQL cannot store (NUL characters and lone surrogates
become U+FFFD). A record that still cannot become a row (a time that is not a time, a
number beyond numeric(38, 9), a key that is missing or too long to index) is left out of
the load and noted here; the run (loader/run/pipeline.py) and the webhook worker write the
notes into `zoho_staging.quarantine` (its owner: loader/warehouse/quarantine.py) and the
run counts them in its `sync_runs` row. The record is read
again when Zoho changes it (cursors move past it otherwise; items are listed every run),
and a fixed record loads like any other.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loader.names import RAW_SCHEMA
from loader.warehouse import quarantine as quarantine_table

log = logging.getLogger(__name__)

PAYLOAD_MAX_CHARS = 1_000_000  # a 100k-character field still fits; a runaway one does not


@dataclass(frozen=True)
class Rejected:
    """One record left out of a load, and why."""

    table: str
    record_id: str
    payload: str
    reason: str


def payload_text(record: Mapping[str, Any]) -> str:
    """The raw record as ASCII JSON: NUL and lone surrogates stay visible as `\\u` escapes
    and still fit a text column."""
    text = json.dumps(record, ensure_ascii=True, default=str, sort_keys=True)
    return text if len(text) <= PAYLOAD_MAX_CHARS else text[:PAYLOAD_MAX_CHARS] + "...(cut)"


class Quarantine:
    """The records one run left out (shared by the run's resources and threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[Rejected] = []

    def __len__(self) -> int:
        return len(self.records)

    def add(self, table: str, record_id: str, record: Mapping[str, Any], reason: str) -> None:
        """Note a record left out; `record_id` must already be storable text."""
        log.warning(
            "%s: record %s cannot be stored and is quarantined: %s",
            table,
            record_id[:100] or "(no id)",
            reason,
        )
        with self._lock:
            self.records.append(Rejected(table, record_id, payload_text(record), reason))

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for record in self.records:
            found[record.table] = found.get(record.table, 0) + 1
        return found

    def save(self, conn: Any, run_id: str, schema: str = RAW_SCHEMA) -> int:
        """Write the run's records into `<schema>.quarantine` (its owner:
        loader/warehouse/quarantine.py); returns how many."""
        return quarantine_table.save(
            conn,
            ((r.table, r.record_id, r.payload, r.reason) for r in self.records),
            run_id,
            schema,
        )
