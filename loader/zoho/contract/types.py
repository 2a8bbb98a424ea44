"""The vocabulary of loader/zoho/contract/: column types (and what dlt and dbt call them), a
column, a table, and `declare` that builds a table from its column list."""

from __future__ import annotations

from dataclasses import dataclass
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
    merge_key: str | None = None
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
