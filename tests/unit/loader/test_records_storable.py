"""What PostgreSQL cannot store is cleaned where records are shaped, and a record that
still cannot become a row is quarantined instead of failing its page."""

from __future__ import annotations

from loader.zoho.contract import columns
from loader.zoho.records import TableShape, to_json_text, to_text

NUL_NAME = "H12 NUL \u0000 inside"


def shape(table: str = "items") -> TableShape:
    return TableShape(table, columns(table))


def test_nul_and_lone_surrogates_become_replacement_characters_in_text_and_json():
    assert to_text(NUL_NAME) == "H12 NUL \ufffd inside"
    assert to_text("bad \ud800 surrogate") == "bad \ufffd surrogate"
    assert (
        to_json_text({"v": "a\u0000b", "k\ud800": ["\udfff"]})
        == '{"v":"a\ufffdb","k\ufffd":["\ufffd"]}'
    )
    assert to_text("زيت \U0001f336 ok") == "زيت \U0001f336 ok"  # real pairs untouched


def test_arrow_page_with_a_nul_keeps_every_row_cleaned():
    rows = [{"item_id": "1", "name": NUL_NAME}, {"item_id": "2", "name": "bad \ud800"}]
    table = shape().arrow_table(rows)
    assert table.column("name").to_pylist() == ["H12 NUL \ufffd inside", "bad \ufffd"]


def test_a_record_that_cannot_be_shaped_is_quarantined_and_the_page_kept():
    s = shape()
    rows = [
        {"item_id": "1", "rate": 1e40},
        {"item_id": "2", "rate": "12.50", "last_modified_time": "2025-10-31T14:41:13+0300"},
        {"item_id": "3", "last_modified_time": "yesterday"},
        {"item_id": None, "name": "no id"},
        {"item_id": "9" * 501},
    ]
    kept, table = s.arrow_rows(rows)
    assert table.column("item_id").to_pylist() == ["2"] and kept == [rows[1]]
    assert [(r.table, r.record_id[:3]) for r in s.quarantine.records] == [
        ("items", ""),
        ("items", "999"),
        ("items", "1"),
        ("items", "3"),
    ]
    assert "numeric(38, 9)" in s.quarantine.records[2].reason
    assert '"rate": 1e+40' in s.quarantine.records[2].payload


def test_dict_rows_that_cannot_be_shaped_are_quarantined():
    s = shape("invoice_details")
    rows = s.shape_rows(
        [
            {"invoice_id": "1", "notes": NUL_NAME},
            {"invoice_id": "2", "last_modified_time": "yesterday"},
        ]
    )
    assert rows == [{"invoice_id": "1", "notes": "H12 NUL \ufffd inside"}]
    assert [r.record_id for r in s.quarantine.records] == ["2"]
