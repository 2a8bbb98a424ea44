"""Deleted contacts and invoices: a complete ID listing compared with what is stored.

Zoho has no deleted-records endpoint. A record deleted in Zoho is simply missing from a
complete listing of its kind, so the planner (loader/run/budget/) schedules such a listing
for contacts and invoices (200 IDs a call, daily where the budget allows) and this module
compares it with the stored rows:

- stored, not marked deleted, and not listed → deleted in Zoho: `is_deleted = true`,
  `deleted_at` = the run's start (the line items of a deleted invoice are flagged too);
- stored as deleted and listed again → it reappeared (an undo, or a restore): undeleted;
- listed but not stored at all → the incremental listing missed it: fetch it.

Only a listing that ran to its last page may be compared: a listing cut short (quota,
network) would "delete" everything behind the cut. The comparison keeps (key, deleted)
in flat arrays (loader/zoho/stored.py `Snapshot`, about 18 bytes a stored row), so 100k
stored invoices cost a few megabytes, not a dict of Python strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loader.zoho.stored import Snapshot, Verdict


@dataclass(frozen=True)
class Reconciliation:
    to_delete: list[str]  # stored as present, gone from Zoho
    to_undelete: list[str]  # stored as deleted, listed again
    unknown: list[str]  # listed, never stored

    @property
    def changes(self) -> int:
        return len(self.to_delete) + len(self.to_undelete) + len(self.unknown)


def compare_ids(
    listed: Iterable[Sequence[str]], stored: Iterable[tuple[str, bool]]
) -> Reconciliation:
    """Compare a COMPLETE listing (pages of IDs, repeats allowed: Zoho repeats records
    across page boundaries) with the stored (id, is_deleted) rows."""
    snapshot = Snapshot.from_rows((record_id, None, deleted) for record_id, deleted in stored)
    undelete: list[str] = []
    unknown: list[str] = []
    for page in listed:
        for record_id in page:
            verdict = snapshot.classify(str(record_id), None)
            if verdict is Verdict.REAPPEARED:
                undelete.append(str(record_id))
            elif verdict is Verdict.NEW:
                unknown.append(str(record_id))
    return Reconciliation(sorted(snapshot.missing()), sorted(undelete), sorted(set(unknown)))
