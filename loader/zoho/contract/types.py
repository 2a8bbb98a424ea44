"""The vocabulary of loader/zoho/contract/: column types (and what dlt and dbt call them), a
column, a table, and `declare` that builds a table from its column list."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

ColumnType = Literal["text", "decimal", "bigint", "bool", "timestamp", "date", "json"]
Columns = dict[str, ColumnType]

# our type -> dlt's data_type (the same names) and the type dbt staging casts to
DLT_TYPES: dict[ColumnType, str] = {
    "text": "text",
    "decimal": "decimal",
    "bigint": "bigint",
    "bool": "bool",
    "timestamp": "timestamp",
    "date": "date",
    "json": "json",
}
SQL_TYPES: dict[ColumnType, str] = {
    "text": "text",
    "decimal": "numeric",
    "bigint": "bigint",
    "bool": "boolean",
    "timestamp": "timestamptz",
    "date": "date",
    "json": "jsonb",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str


@dataclass(frozen=True)
class Table:
    """One raw table: what a row is, its key, how a load writes it and its columns."""

    name: str
    description: str
    key: tuple[str, ...]
    """What identifies a row; the loader keeps a UNIQUE index on it."""
    columns: dict[str, Column]
    written: str
    """How a run writes the table (one line, for docs/staging-tables.md)."""
    merge_key: str | tuple[str, ...] | None = None
    """A table replaced per parent: dlt deletes the stored rows of every `merge_key` value
    a load carries, then inserts (invoice lines: a re-read invoice replaces all its lines)."""
    extra_indexes: tuple[tuple[str, ...], ...] = ()
    arrow: bool = False
    """Yielded as pyarrow tables (big listings), loaded through CSV COPY."""
    loaded_by_dlt: bool = True
    late_columns: tuple[str, ...] = ()
    """Columns added after the table's first release: nullable in the database, because
    PostgreSQL cannot add a NOT NULL column to a table that has rows (staging coalesces)."""

    @property
    def types(self) -> Columns:
        return {name: column.type for name, column in self.columns.items()}


def declare(
    name: str,
    description: str,
    key: str | tuple[str, ...],
    written: str,
    columns: list[tuple[str, ColumnType, str]],
    **options: Any,
) -> Table:
    return Table(
        name=name,
        description=description,
        key=(key,) if isinstance(key, str) else key,
        written=written,
        columns={n: Column(n, t, d) for n, t, d in columns},
        **options,
    )


ORGANIZATION_ID = "organization_id"
ORGANIZATION_COLUMN = Column(
    ORGANIZATION_ID,
    "text",
    "The Zoho organization the row belongs to; Zoho's ids are unique only within one.",
)


def per_organization(table: Table) -> Table:
    """`table` with `organization_id` first in its columns, its key, its merge key and its
    indexes: the raw tables hold every configured organization's rows, and Zoho's record
    ids repeat across organizations. A table already keyed by it (organizations) or not
    written by dlt (sync_runs has it as a plain column) is returned as it is."""
    if not table.loaded_by_dlt or table.key[0] == ORGANIZATION_ID:
        return table
    columns = {ORGANIZATION_ID: ORGANIZATION_COLUMN}
    columns.update({n: c for n, c in table.columns.items() if n != ORGANIZATION_ID})
    merge_key = table.merge_key
    if merge_key is not None:
        merge_key = (ORGANIZATION_ID, *((merge_key,) if isinstance(merge_key, str) else merge_key))
    return replace(
        table,
        columns=columns,
        key=(ORGANIZATION_ID, *table.key),
        merge_key=merge_key,
        extra_indexes=tuple((ORGANIZATION_ID, *index) for index in table.extra_indexes),
        # a warehouse loaded before several organizations has rows without it (the
        # upgrade fills them, loader/run/organization_upgrade.py)
        late_columns=(*table.late_columns, ORGANIZATION_ID),
    )
