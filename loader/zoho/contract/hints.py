"""The dlt hints of each raw table, derived from its declaration in loader/zoho/contract/, so a
column's type never depends on the first page dlt happens to see."""

from __future__ import annotations

from typing import Any

from dlt.common.schema.typing import TDeleteInsertStrategyDict

from loader.zoho.contract import TABLES
from loader.zoho.contract.types import DLT_TYPES

MERGE: TDeleteInsertStrategyDict = {"disposition": "merge", "strategy": "delete-insert"}


def dlt_columns(table: str) -> dict[str, dict[str, Any]]:
    """dlt column hints: declared types, `is_deleted` not null, and for keyed tables the
    newest `last_modified_time` wins among rows of one key in a load (Zoho has listed the
    same record twice within one listing)."""
    spec = TABLES[table]
    hints: dict[str, dict[str, Any]] = {
        name: {"data_type": DLT_TYPES[column.type]} for name, column in spec.columns.items()
    }
    if "last_modified_time" in hints and spec.merge_key is None:
        hints["last_modified_time"]["dedup_sort"] = "desc"
    if "is_deleted" in hints and "is_deleted" not in spec.late_columns:
        hints["is_deleted"]["nullable"] = False
    return hints


def dlt_hints(table: str) -> dict[str, Any]:
    """Keyword arguments for `dlt.resource(...)` / `dlt.mark.make_hints(...)` writing
    `table`: name, write disposition (delete-insert merge), keys and column types.

    A table with a `merge_key` gets it as its only key: dlt's delete-insert then deletes
    the stored rows of each merge-key value in one statement and inserts the new ones (the
    loader's UNIQUE index on the table's `key` still refuses a repeated row)."""
    spec = TABLES[table]
    hints: dict[str, Any] = {
        "table_name": spec.name,
        "write_disposition": dict(MERGE),
        "columns": dlt_columns(table),
    }
    if spec.merge_key is not None:
        merge_key = spec.merge_key
        hints["merge_key"] = list(merge_key) if isinstance(merge_key, tuple) else merge_key
    else:
        hints["primary_key"] = list(spec.key) if len(spec.key) > 1 else spec.key[0]
    return hints


def load_hints(table: str) -> dict[str, Any]:
    """`dlt_hints`, and csv load files for the tables yielded as arrow (postgres loads
    arrow fastest through COPY): what a resource, or a row marked for another table, gives
    dlt for `table`."""
    hints = dlt_hints(table)
    if TABLES[table].arrow:
        hints["file_format"] = "csv"
    return hints


def first_load_hints(table: str) -> dict[str, Any]:
    """`apply_hints` arguments for a keyed table's first load, written straight into the
    table (loader/run/pipeline.py): dlt's append, and no `dedup_sort` (a merge's hint, which
    dlt warns about under append); the loader's unique index keeps the newest row instead."""
    hints: dict[str, Any] = {"write_disposition": "append"}
    sorted_by = [name for name, column in dlt_columns(table).items() if "dedup_sort" in column]
    if sorted_by:  # (an empty `columns` would drop every column's declared type)
        hints["columns"] = {name: {"name": name, "dedup_sort": None} for name in sorted_by}
    return hints
