"""Zoho records -> typed rows: UTC timestamps, dates, decimals, `""` as null, JSON.

Two shapes come out of here. Big listings (items, contacts, invoices) become one pyarrow
table per page, built column by column with vectorised parsing, because dlt normalises
arrow tables several times faster than dicts. Small resources stay dicts, cleaned per row.
Both follow the declared columns of loader/zoho/contract/, and both keep fields Zoho adds
later: an unknown field gets a type once per run (from dlt's schema when the column
already exists, else from its values) and keeps it, so it never splits into variant
columns halfway through a listing.

This is also the one place where what PostgreSQL cannot store is dealt with: a NUL
character or a lone surrogate (in text, and inside JSON) becomes U+FFFD, the Unicode
replacement character; a record that still cannot become a row (a time that is not a time,
a number beyond numeric(38, 9), a missing or unindexably long key) is left out and noted
in the run's `Quarantine` (loader/zoho/quarantine.py), so one record never blocks a load.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loader.errors import one_line
from loader.zoho.contract import TABLES
from loader.zoho.contract.types import DLT_TYPES, Columns, ColumnType
from loader.zoho.quarantine import Quarantine

log = logging.getLogger(__name__)

DECIMAL_PRECISION, DECIMAL_SCALE = 38, 9
_QUANTUM = Decimal(1).scaleb(-DECIMAL_SCALE)
_DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE)
ZOHO_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# PostgreSQL's btree index entries hold at most ~2700 bytes: 500 characters of 4 bytes fit.
MAX_KEY_CHARS = 500
# Characters PostgreSQL text cannot hold (NUL) and that UTF-8 cannot encode (a surrogate
# not part of a pair: Zoho's JSON may carry one as an escape, `"\ud800"`).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"

# What a value that cannot be shaped raises: parsing (ValueError, decimal's
# InvalidOperation is an ArithmeticError), arrow's conversions, odd types.
UNSHAPEABLE = (ValueError, TypeError, ArithmeticError, pa.ArrowInvalid, pa.ArrowTypeError)

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
def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (PostgreSQL refuses both)."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable_json(value: Any) -> Any:
    """A JSON value with every string (keys too) made storable; jsonb refuses `\\u0000`."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_json(v) for v in value]
    return value


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
    except InvalidOperation:  # quarantined with its record, not loaded as null
        raise ValueError(f"{str(value)[:80]!r} is not a number") from None
    if not number.is_finite():
        return None
    if abs(number) >= _DECIMAL_LIMIT:
        raise ValueError(f"number {number} does not fit numeric(38, 9)")
    return number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


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
        return storable_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return to_json_text(value)
    return storable_text(str(value))


def to_json_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        text = orjson.dumps(value)  # keeps Arabic as is, like ensure_ascii=False
    except TypeError:  # Decimal and other types orjson does not know, lone surrogates
        return json.dumps(
            storable_json(value), ensure_ascii=False, default=str, separators=(",", ":")
        )
    if b"\\u0000" in text:  # a NUL inside: jsonb refuses it
        text = orjson.dumps(storable_json(value))
    return text.decode()


def to_json(value: Any) -> Any:
    """A JSON value for the dict path (dlt serialises it), storable."""
    return None if value == "" else storable_json(value)


_CONVERTERS = {
    "text": to_text,
    "decimal": to_decimal,
    "bigint": to_int,
    "bool": to_bool,
    "timestamp": parse_zoho_timestamp,
    "date": parse_zoho_date,
    "json": to_json,
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
    # surrogatepass: a lone surrogate (cleaned only when stored) must not stop the digest
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# ----- columns of a table -----------------------------------------------------------------
class TableShape:
    """The column types of one table for this run: declared ones, plus unknown fields
    typed the first time they are seen."""

    def __init__(
        self,
        table: str,
        declared: Columns,
        existing: Mapping[str, ColumnType] | None = None,
        quarantine: Quarantine | None = None,
    ) -> None:
        self.table = table
        self.types: dict[str, ColumnType] = dict(declared)
        self._existing = dict(existing or {})
        self.quarantine = quarantine if quarantine is not None else Quarantine()
        # Zoho's part of the key: `organization_id` is the loader's, stamped on every row
        # after shaping (loader/zoho/source.py), never in Zoho's record
        key = TABLES[table].key if table in TABLES else ()
        self.key: tuple[str, ...] = tuple(k for k in key if k != "organization_id") or key

    def learn(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Type the fields of `rows` not seen before; returns their names in page order."""
        new: list[str] = []
        seen = set(self.types)
        for row in rows:
            if seen.issuperset(row):  # the usual row: no new field (a C-level check)
                continue
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

    # bad records ------------------------------------------------------------------------
    def _record_id(self, row: Mapping[str, Any]) -> str:
        parts = [to_text(row.get(name)) or "" for name in self.key]
        return "/".join(parts)

    def key_problem(self, row: Mapping[str, Any]) -> str | None:
        """Why `row` cannot be keyed (its key is missing or too long to index), or None."""
        for name in self.key:
            value = to_text(row.get(name))
            if value is None or not value.strip():
                return f"no {name}"
            if len(value) > MAX_KEY_CHARS:
                return f"{name} longer than {MAX_KEY_CHARS} characters (cannot be indexed)"
        return None

    def _reject(self, row: Mapping[str, Any], reason: str) -> None:
        self.quarantine.add(self.table, self._record_id(row)[: MAX_KEY_CHARS * 4], row, reason)

    def keyed(self, rows: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        """`rows` without those whose key cannot be stored (quarantined)."""
        if all(self.key_problem(row) is None for row in rows):
            return rows
        kept = []
        for row in rows:
            problem = self.key_problem(row)
            if problem is None:
                kept.append(row)
            else:
                self._reject(row, problem)
        return kept

    # dict path --------------------------------------------------------------------------
    def shape_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A typed copy of `row` (unknown fields typed as learned); raises for a value
        that cannot be shaped (see `shape_rows`)."""
        self.learn([row])
        return {name: _CONVERTERS[self.types[name]](value) for name, value in row.items()}

    def shape_rows(self, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Typed copies of `rows`; a row that cannot be shaped is quarantined, not raised."""
        shaped = []
        for row in rows:
            problem = self.key_problem(row)
            if problem is None:
                try:
                    shaped.append(self.shape_row(row))
                    continue
                except UNSHAPEABLE as exc:
                    problem = one_line(f"{type(exc).__name__}: {exc}") or type(exc).__name__
            self._reject(row, problem)
        return shaped

    # arrow path -------------------------------------------------------------------------
    def arrow_table(self, rows: Sequence[Mapping[str, Any]], **constants: Any) -> pa.Table:
        """One pyarrow table for a page: every known column (all-null when absent), typed.

        `constants` set a column to one value for every row (e.g. is_deleted=False). A row
        that cannot be shaped is quarantined and left out; the others are kept."""
        return self.arrow_rows(rows, **constants)[1]

    def arrow_rows(
        self, rows: Sequence[Mapping[str, Any]], **constants: Any
    ) -> tuple[Sequence[Mapping[str, Any]], pa.Table]:
        """`arrow_table`, and the rows it kept (row i of the table is kept[i])."""
        self.learn(rows)
        kept = self.keyed(rows)
        try:
            return kept, self._arrow_table(kept, constants)
        except UNSHAPEABLE:
            pass
        good = []
        for row in kept:  # only for a page with a bad record: find it
            try:
                self._arrow_table([row], constants)
            except UNSHAPEABLE as exc:
                self._reject(row, one_line(f"{type(exc).__name__}: {exc}") or type(exc).__name__)
                continue
            good.append(row)
        return good, self._arrow_table(good, constants)

    def _arrow_table(
        self, rows: Sequence[Mapping[str, Any]], constants: dict[str, Any]
    ) -> pa.Table:
        arrays, fields = [], []
        for name, kind in self.types.items():
            if name in constants:
                values = [constants[name]] * len(rows)
            else:
                values = [row.get(name) for row in rows]
            arrays.append(build_array(values, kind))
            fields.append(pa.field(name, ARROW_TYPES[kind]))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _storable_strings(array: pa.Array) -> pa.Array:
    """NUL -> U+FFFD, vectorised (lone surrogates never get here: arrow cannot encode
    them, so their column takes the per-value path of `build_array`). The values' bytes are
    searched at once first (a NUL is rare; a substring search per value cost 0.5 s of a
    100k-item listing)."""
    data = array.buffers()[2]
    if data is None or b"\x00" not in data.to_pybytes():
        return array
    if pc.any(pc.match_substring(array, "\x00")).as_py():
        return pc.replace_substring(array, "\x00", REPLACEMENT)
    return array


def build_array(values: list[Any], kind: ColumnType) -> pa.Array:
    """A typed arrow array; vectorised for the usual shapes, per value for the odd ones."""
    target = ARROW_TYPES[kind]
    try:
        if kind == "text":
            return _storable_strings(pa.array([None if v == "" else v for v in values], target))
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
