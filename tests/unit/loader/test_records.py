"""Zoho values -> typed rows: timestamps as UTC instants, "" as null, exact decimals."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from loader.zoho.contract import columns
from loader.zoho.records import (
    TableShape,
    build_array,
    content_hash,
    parse_zoho_timestamp,
    to_decimal,
    to_text,
)

ITEM_COLUMNS = columns("items")


def test_zoho_timestamp_becomes_the_utc_instant():
    parsed = parse_zoho_timestamp("2025-10-31T14:41:13+0300")
    assert parsed == datetime(2025, 10, 31, 11, 41, 13, tzinfo=timezone.utc)
    assert parsed.utcoffset().total_seconds() == 0


def test_timestamps_compare_as_instants_not_as_strings():
    # As strings the Baghdad time sorts after the UTC one; as instants it is earlier.
    baghdad, utc = "2025-10-31T14:00:00+0300", "2025-10-31T12:00:00+0000"
    assert baghdad > utc
    assert parse_zoho_timestamp(baghdad) < parse_zoho_timestamp(utc)


@pytest.mark.parametrize("text", ["2025-10-31T11:41:13+00:00", "2025-10-31T11:41:13Z"])
def test_other_offset_spellings_parse_to_the_same_instant(text):
    assert parse_zoho_timestamp(text) == datetime(2025, 10, 31, 11, 41, 13, tzinfo=timezone.utc)


def test_empty_timestamp_is_null():
    assert parse_zoho_timestamp("") is None
    assert parse_zoho_timestamp(None) is None


def test_timestamp_without_offset_is_refused():
    with pytest.raises(ValueError, match="offset"):
        parse_zoho_timestamp("2025-10-31T11:41:13")


@pytest.mark.parametrize("value", ["", "  ", None])
def test_empty_number_is_null(value):
    assert to_decimal(value) is None


def test_float_money_keeps_its_written_digits():
    assert to_decimal(19.99) == Decimal("19.99")
    assert to_decimal(1234567890.12) == Decimal("1234567890.12")
    assert to_decimal("12.50") == Decimal("12.5")


def test_empty_text_is_null_but_arabic_text_is_intact():
    assert to_text("") is None
    assert to_text("زيت زيتون Extra Virgin 🌶️") == "زيت زيتون Extra Virgin 🌶️"


def test_arrow_decimals_are_exact_and_blank_is_null():
    array = build_array([1234567890.12, "", 0.1, None, 250], "decimal")
    assert array.type == pa.decimal128(38, 9)
    assert array.to_pylist() == [
        Decimal("1234567890.120000000"),
        None,
        Decimal("0.100000000"),
        None,
        Decimal("250.000000000"),
    ]


def test_arrow_decimals_fall_back_for_text_numbers():
    assert build_array(["12.5", 3], "decimal").to_pylist() == [Decimal("12.5"), Decimal("3")]


def test_arrow_timestamps_are_utc_and_blank_is_null():
    array = build_array(["2025-10-31T14:41:13+0300", ""], "timestamp")
    assert array.to_pylist() == [datetime(2025, 10, 31, 11, 41, 13, tzinfo=timezone.utc), None]


def test_arrow_timestamps_accept_stored_datetimes():
    stamp = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert build_array([stamp, None], "timestamp").to_pylist() == [stamp, None]


def test_arrow_dates_parse_and_blank_is_null():
    assert build_array(["2025-10-31", ""], "date").to_pylist() == [date(2025, 10, 31), None]


def test_page_table_has_every_declared_column_even_when_zoho_omits_it():
    shape = TableShape("items", ITEM_COLUMNS)
    table = shape.arrow_table([{"item_id": "1", "rate": 5}], is_deleted=False)
    assert set(ITEM_COLUMNS) <= set(table.column_names)
    assert table.column("sku").to_pylist() == [None]
    assert table.column("is_deleted").to_pylist() == [False]


def test_ids_stay_text_with_all_their_digits():
    shape = TableShape("items", ITEM_COLUMNS)
    table = shape.arrow_table([{"item_id": "2155127100000000001"}])
    assert table.column("item_id").to_pylist() == ["2155127100000000001"]


def test_unknown_fields_are_kept_with_a_type_chosen_once():
    shape = TableShape("items", ITEM_COLUMNS)
    first = shape.arrow_table([{"item_id": "1", "brand_rank": 3, "extra": {"a": 1}}])
    assert first.schema.field("brand_rank").type == pa.decimal128(38, 9)
    assert first.column("extra").to_pylist() == ['{"a":1}']
    assert shape.dlt_columns(["extra"]) == {"extra": {"data_type": "json"}}
    # a later page with a fraction and a blank keeps the decimal column, no variant
    later = shape.arrow_table(
        [{"item_id": "2", "brand_rank": 2.5}, {"item_id": "3", "brand_rank": ""}]
    )
    assert later.column("brand_rank").to_pylist() == [Decimal("2.5"), None]


def test_unknown_field_uses_the_type_the_schema_already_has():
    shape = TableShape("items", ITEM_COLUMNS, existing={"legacy_code": "text"})
    table = shape.arrow_table([{"item_id": "1", "legacy_code": 42}])
    assert table.column("legacy_code").to_pylist() == ["42"]


def test_dict_rows_are_typed_like_arrow_rows():
    shape = TableShape("items", ITEM_COLUMNS)
    row = shape.shape_row(
        {"item_id": "1", "rate": "", "sku": "", "last_modified_time": "2025-10-31T14:41:13+0300"}
    )
    assert row["rate"] is None and row["sku"] is None
    assert row["last_modified_time"] == datetime(2025, 10, 31, 11, 41, 13, tzinfo=timezone.utc)


def test_content_hash_ignores_key_order_and_sees_value_changes():
    assert content_hash({"a": 1, "b": "x"}) == content_hash({"b": "x", "a": 1})
    assert content_hash({"a": 1, "b": "x"}) != content_hash({"a": 2, "b": "x"})
