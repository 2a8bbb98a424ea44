"""Zoho records -> typed rows: UTC timestamps, dates, decimals, `""` as null, JSON.

Two shapes come out of here. Big listings (items, contacts, invoices) become one pyarrow
table per page, built column by column with vectorised parsing, because dlt normalises
arrow tables several times faster than dicts. Small resources stay dicts, cleaned per row.
Both follow the declared columns of loader/contract.py, and both keep fields Zoho adds
later: an unknown field gets a type once per run (from dlt's schema when the column
already exists, else from its values) and keeps it, so it never splits into variant
columns halfway through a listing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loader.contract import DLT_TYPES, Columns, ColumnType

log = logging.getLogger(__name__)

DECIMAL_PRECISION, DECIMAL_SCALE = 38, 9
_QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)
ZOHO_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "text": pa.string(),
    "decimal": pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    # pyarrow's CSV writer (how dlt loads arrow into postgres) takes no nested types, so
    # JSON travels as text and the `json` column hint makes the column jsonb.
    "json": pa.string(),
}


# ----- single values ----------------------------------------------------------------------
def blank_to_none(value: Any) -> Any:
    """Zoho sends missing numbers (and other missing values) as `""`."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    return value


def parse_zoho_timestamp(value: Any) -> datetime | None:
    """`2025-10-31T14:41:13+0300` -> the UTC instant `2025-10-31 11:41:13+00:00`.

    Zoho stamps times in the organization's offset, so as strings they sort wrongly
    across offsets and daylight-saving changes: they are compared only as instants."""
    value = blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+0000"
        try:
            parsed = datetime.strptime(text, ZOHO_TS_FORMAT)
        except ValueError:
            parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"Zoho timestamp without an offset: {value!r}")
    return parsed.astimezone(timezone.utc)


def parse_zoho_date(value: Any) -> date | None:
    value = blank_to_none(value)
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def to_decimal(value: Any) -> Decimal | None:
    """A money/quantity value as an exact decimal (via its shortest text form, so the
    float 19.99 stays 19.99), `""` as null."""
    value = blank_to_none(value)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        log.warning("dropping a non-numeric value where Zoho sends numbers: %r", value)
        return None
    return number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN) if number.is_finite() else None


def to_int(value: Any) -> int | None:
    value = blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value) if isinstance(value, int) else int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


def to_bool(value: Any) -> bool | None:
    value = blank_to_none(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def to_text(value: Any) -> str | None:
    """Text as is, except `""` -> null: dlt loads arrow tables into postgres through CSV
    COPY with FORCE_NULL, where an empty string cannot survive, so every path stores
    Zoho's empty values the same way, as null."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return to_json_text(value)
    return str(value)


def to_json_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()  # keeps Arabic as is, like ensure_ascii=False
    except TypeError:  # Decimal and other types orjson does not know
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


_CONVERTERS = {
    "text": to_text,
    "decimal": to_decimal,
    "bigint": to_int,
    "bool": to_bool,
    "timestamp": parse_zoho_timestamp,
    "date": parse_zoho_date,
    "json": lambda v: None if v == "" else v,
}


def infer_type(values: Iterable[Any]) -> ColumnType:
    """Type of an unknown field from a page of values: numbers -> decimal (a later
    fraction must not land in a variant column), dicts/lists -> json, else text."""
    kinds = set()
    for value in values:
        if blank_to_none(value) is None:
            continue
        if isinstance(value, bool):
            kinds.add("bool")
        elif isinstance(value, (int, float, Decimal)):
            kinds.add("decimal")
        elif isinstance(value, (dict, list)):
            kinds.add("json")
        else:
            kinds.add("text")
    if len(kinds) == 1:
        return kinds.pop()  # type: ignore[return-value]
    return "text"


def content_hash(record: Mapping[str, Any], ignore: Iterable[str] = ()) -> str:
    """A stable digest of a record's content: price lists carry no timestamps, so this is
    how a run tells a changed list row from an unchanged one."""
    skip = set(ignore)
    payload = {k: v for k, v in record.items() if k not in skip}
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ----- columns of a table -----------------------------------------------------------------
class TableShape:
    """The column types of one table for this run: declared ones, plus unknown fields
    typed the first time they are seen."""

    def __init__(
        self,
        table: str,
        declared: Columns,
        existing: Mapping[str, ColumnType] | None = None,
    ) -> None:
        self.table = table
        self.types: dict[str, ColumnType] = dict(declared)
        self._existing = dict(existing or {})

    def learn(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Type the fields of `rows` not seen before; returns their names in page order."""
        new: list[str] = []
        seen = set(self.types)
        for row in rows:
            for name in row:
                if name not in seen:
                    seen.add(name)
                    new.append(name)
        for name in new:
            known = self._existing.get(name)
            self.types[name] = known or infer_type(r.get(name) for r in rows)
            if known is None:
                log.info("%s: new Zoho field %r kept as %s", self.table, name, self.types[name])
        return new

    def dlt_columns(self, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """dlt column hints for `names` (default: all known columns)."""
        chosen = self.types if names is None else {n: self.types[n] for n in names}
        return {name: {"data_type": DLT_TYPES[kind]} for name, kind in chosen.items()}

    # dict path --------------------------------------------------------------------------
    def shape_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A typed copy of `row` (unknown fields typed as learned)."""
        self.learn([row])
        return {name: _CONVERTERS[self.types[name]](value) for name, value in row.items()}

    # arrow path -------------------------------------------------------------------------
    def arrow_table(self, rows: Sequence[Mapping[str, Any]], **constants: Any) -> pa.Table:
        """One pyarrow table for a page: every known column (all-null when absent), typed.

        `constants` set a column to one value for every row (e.g. is_deleted=False)."""
        self.learn(rows)
        arrays, fields = [], []
        for name, kind in self.types.items():
            if name in constants:
                values = [constants[name]] * len(rows)
            else:
                values = [row.get(name) for row in rows]
            arrays.append(build_array(values, kind))
            fields.append(pa.field(name, ARROW_TYPES[kind]))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def build_array(values: list[Any], kind: ColumnType) -> pa.Array:
    """A typed arrow array; vectorised for the usual shapes, per value for the odd ones."""
    target = ARROW_TYPES[kind]
    try:
        if kind == "text":
            return pa.array([None if v == "" else v for v in values], pa.string())
        if kind == "json":
            return pa.array([None if v in (None, "") else to_json_text(v) for v in values], target)
        # "" is Zoho's empty number/date; inline rather than blank_to_none() per value:
        # this runs for every cell of a million-row listing.
        blanked = [None if v == "" else v for v in values]
        if kind == "timestamp":
            return _timestamps(blanked)
        if kind == "date":
            return pc.cast(pa.array(blanked, pa.string()), pa.date32())
        if kind == "decimal":
            return _decimals(blanked)
        return pa.array(blanked, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        pass
    return pa.array([_CONVERTERS[kind](v) for v in values], target)


def _timestamps(values: list[Any]) -> pa.Array:
    texts = pa.array(values, pa.string())
    return pc.strptime(texts, format=ZOHO_TS_FORMAT, unit="us").cast(ARROW_TYPES["timestamp"])


def _decimals(values: list[Any]) -> pa.Array:
    """Floats -> decimal(38, 9) through their shortest text form: a direct float cast
    would turn 1234567890.12 into 1234567890.119999886."""
    floats = pa.array(values, pa.float64())
    texts = pc.cast(pc.round(floats, DECIMAL_SCALE), pa.string())
    return pc.cast(texts, ARROW_TYPES["decimal"])
