"""loader/zoho/contract/ is the one declaration of the raw tables: the files generated from it
(dbt's sources YAML, docs/staging-tables.md) and the run log's DDL must agree with it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from loader.warehouse.sync_runs import SYNC_RUNS_DDL
from loader.zoho.contract import SYNC_RUNS, TABLES
from loader.zoho.contract import docs as contract_docs
from loader.zoho.contract.types import SQL_TYPES


def test_generated_files_match_the_contract() -> None:
    stale = [str(p) for p in contract_docs.stale_files(write=False)]
    assert stale == [], f"run `{contract_docs.COMMAND}`"


def test_sources_yaml_describes_every_column_with_its_staging_type() -> None:
    [source] = yaml.safe_load(contract_docs.SOURCES_YAML.read_text())["sources"]
    read = {
        table["name"]: [
            (c["name"], c["data_type"], c["description"].strip()) for c in table["columns"]
        ]
        for table in source["tables"]
    }
    declared = {t.name: contract_docs.table_columns(t) for t in contract_docs.all_tables()}
    assert read == declared
    assert read["items"][-2:] == [
        ("_dlt_load_id", "text", "{{ doc('dlt_load_id') }}"),
        ("_dlt_id", "text", contract_docs.DLT_ID_DESCRIPTION),
    ]


def test_sources_yaml_keeps_its_freshness_and_tests_each_key() -> None:
    [source] = yaml.safe_load(contract_docs.SOURCES_YAML.read_text())["sources"]
    assert "sync_runs" in source["config"]["loaded_at_query"]
    assert source["config"]["freshness"]["error_after"] == {"count": 26, "period": "hour"}
    keys = {
        table["name"]: test["unique_key"]["arguments"]["columns"]
        for table in source["tables"]
        for test in table.get("data_tests", [])
    }
    assert keys == {name: list(table.key) for name, table in TABLES.items()}
    assert keys["pricebook_items"] == ["organization_id", "pricebook_id", "item_id"]


def test_every_table_dlt_writes_is_keyed_by_organization() -> None:
    """Zoho's ids repeat across organizations: every raw table has `organization_id`
    first in its columns, its key, its merge key and its indexes (a table declared later
    gets it from per_organization too)."""
    for name, table in TABLES.items():
        assert table.key[0] == "organization_id", name
        assert "organization_id" in table.columns, name
        if table.merge_key is not None:
            assert table.merge_key[0] == "organization_id", name
        assert all(index[0] == "organization_id" for index in table.extra_indexes), name
    assert TABLES["invoice_line_items"].merge_key == ("organization_id", "invoice_id")
    assert TABLES["items"].key == ("organization_id", "item_id")
    assert TABLES["organizations"].key == ("organization_id",)


def test_check_fails_and_write_repairs_a_file_that_disagrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(contract_docs, "ROOT", tmp_path)
    copies = []
    for path, render in contract_docs.GENERATED:
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        copies.append((copy, render))
    monkeypatch.setattr(contract_docs, "GENERATED", tuple(copies))
    yaml_copy, doc_copy = (copy for copy, _ in copies)
    original = yaml_copy.read_text()
    yaml_copy.write_text(original.replace("data_type: numeric", "data_type: text", 1))
    doc_copy.write_text(doc_copy.read_text().replace("| `rate` | numeric |", "| `rate` | text |"))

    assert contract_docs.main(["--check"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {name} does not match loader/zoho/contract/: run `{contract_docs.COMMAND}`"
        for name in (yaml_copy.name, doc_copy.name)
    ]
    assert contract_docs.main(["--write"]) == 0
    assert yaml_copy.read_text() == original
    assert contract_docs.main(["--check"]) == 0


def test_run_log_creates_the_declared_sync_runs_columns() -> None:
    created = dict(re.findall(r"^ +(\w+) (\w+)", SYNC_RUNS_DDL, re.MULTILINE))
    assert created == {c.name: SQL_TYPES[c.type] for c in SYNC_RUNS.columns.values()}
