"""The files generated from loader/zoho/contract/, and the check that they are current.

    python -m loader.zoho.contract --write     # regenerate after editing loader/zoho/contract/
    python -m loader.zoho.contract --check     # exit 1 naming a stale file (part of `make lint`)

- dbt's sources YAML: everything from the GENERATED marker on (the `tables:` list: every
  column of every raw table with its description and the type staging casts it to, and
  each table's `unique_key` test). Above the marker the file is hand-written (source-level
  description, schema, freshness) and kept as it is. dbt's `select_source_columns` selects
  exactly these columns, so a column declared in the contract reaches the staging views'
  source rows (and the docs site) without another edit.
- docs/staging-tables.md: the part between the BEGIN and END markers (one table per raw
  table, one row per column); the prose around it is hand-written.

The output is a pure function of the contract (its declaration order, no timestamps), so
`--check` is meaningful in CI.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from loader.names import ROOT
from loader.zoho.contract import DLT_LOAD_ID_DESCRIPTION, SYNC_RUNS, TABLES
from loader.zoho.contract.types import SQL_TYPES, Table

SOURCES_YAML = (
    ROOT / "dbt_project" / "models" / "staging" / "zoho_books" / "_zoho_books__sources.yml"
)
STAGING_DOC = ROOT / "docs" / "staging-tables.md"
COMMAND = "python -m loader.zoho.contract --write"

YAML_MARKER = f"    # Generated from loader/zoho/contract/ by `{COMMAND}`; edit it there."
DOC_BEGIN = f"<!-- BEGIN generated from loader/zoho/contract/ by `{COMMAND}` -->"
DOC_END = "<!-- END generated -->"

LINE = 100
DLT_ID_DESCRIPTION = "dlt's id of the row, unique in the table (not a Zoho id)."


def all_tables() -> tuple[Table, ...]:
    """Every raw table in `zoho_staging`: the ones dlt writes, in load order, then the run log."""
    return (*TABLES.values(), SYNC_RUNS)


def table_columns(table: Table) -> list[tuple[str, str, str]]:
    """(name, SQL type, description) of every column the table has, dlt's own last."""
    rows = [(c.name, SQL_TYPES[c.type], c.description) for c in table.columns.values()]
    if table.loaded_by_dlt:
        rows += [
            ("_dlt_load_id", "text", DLT_LOAD_ID_DESCRIPTION),
            ("_dlt_id", "text", DLT_ID_DESCRIPTION),
        ]
    return rows


def _plain(text: str) -> bool:
    """Whether YAML reads `text` back unchanged as a plain (unquoted) scalar."""
    return (
        re.fullmatch(r"[A-Za-z(][^\n]*[^\s:]", text) is not None
        and ": " not in text
        and " #" not in text
    )


def _yaml_scalar(key: str, text: str, indent: int) -> list[str]:
    """`key: text` as YAML lines: plain when safe, else double-quoted (a JSON string is a
    YAML one), else (too long for a line) a folded block wrapped at LINE columns.
    tests/unit/loader/test_contract.py reads the file back with a YAML parser."""
    pad = " " * indent
    for value in (text, json.dumps(text)):
        line = f"{pad}{key}: {value}"
        if len(line) <= LINE and (value != text or _plain(text)):
            return [line]
    body = textwrap.wrap(
        text, width=LINE - indent - 2, break_long_words=False, break_on_hyphens=False
    )
    return [f"{pad}{key}: >", *(f"{pad}  {part}" for part in body)]


def sources_tables_yaml() -> str:
    """The generated end of the sources YAML, from the marker on."""
    lines = [YAML_MARKER, "    tables:"]
    for table in all_tables():
        lines.append(f"      - name: {table.name}")
        lines += _yaml_scalar("description", table.description, 8)
        if table.loaded_by_dlt:
            # the run log has a primary key (loader/warehouse/sync_runs.py): nothing to test there
            lines += [
                "        data_tests:",
                "          - unique_key:",
                "              arguments:",
                f"                columns: [{', '.join(table.key)}]",
            ]
        lines.append("        columns:")
        for name, sql_type, description in table_columns(table):
            lines.append(f"          - name: {name}")
            lines += _yaml_scalar("description", description, 12)
            lines.append(f"            data_type: {sql_type}")
        lines.append("")
    return "\n".join(lines[:-1]) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def staging_tables_markdown() -> str:
    """The generated part of docs/staging-tables.md, markers included."""
    lines = [
        DOC_BEGIN,
        "",
        "| table | key | written how | what a row is |",
        "|---|---|---|---|",
    ]
    for table in all_tables():
        key = ", ".join(f"`{k}`" for k in table.key)
        key = f"({key})" if len(table.key) > 1 else key
        lines.append(
            f"| [`{table.name}`](#{table.name}) | {key} | {_cell(table.written)} | "
            f"{_cell(table.description)} |"
        )
    for table in all_tables():
        lines += ["", f"### {table.name}", "", table.description, ""]
        lines += ["| column | type | description |", "|---|---|---|"]
        for name, sql_type, description in table_columns(table):
            if description == DLT_LOAD_ID_DESCRIPTION:
                description = "The dlt load that wrote the row (see `_dlt_load_id` below)."
            lines.append(f"| `{name}` | {sql_type} | {_cell(description)} |")
    lines += ["", DOC_END]
    return "\n".join(lines) + "\n"


def render_sources_yaml(current: str) -> str:
    """`current` with everything from the marker on regenerated."""
    head, marker, _ = current.partition(YAML_MARKER)
    if not marker:
        raise ValueError(f"{SOURCES_YAML.name}: no line {YAML_MARKER.strip()!r}")
    return head + sources_tables_yaml()


def render_staging_doc(current: str) -> str:
    """`current` with the part between the markers regenerated."""
    head, begin, rest = current.partition(DOC_BEGIN)
    _, end, tail = rest.partition(DOC_END + "\n")
    if not begin or not end:
        raise ValueError(f"{STAGING_DOC.name}: no {DOC_BEGIN} ... {DOC_END} section")
    return head + staging_tables_markdown() + tail


GENERATED = ((SOURCES_YAML, render_sources_yaml), (STAGING_DOC, render_staging_doc))


def stale_files(write: bool) -> list[Path]:
    """The generated files that differ from the contract (rewritten when `write`)."""
    stale = []
    for path, render in GENERATED:
        current = path.read_text()
        wanted = render(current)
        if wanted != current:
            stale.append(path)
            if write:
                path.write_text(wanted)
    return stale


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader.zoho.contract",
        description="Regenerate or check the files generated from loader/zoho/contract/.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the stale files")
    mode.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(None if argv is None else list(argv))
    stale = stale_files(write=args.write)
    for path in stale:
        relative = path.relative_to(ROOT)
        if args.write:
            print(f"rewrote {relative}")
        else:
            print(
                f"error: {relative} does not match loader/zoho/contract/: run `{COMMAND}`",
                file=sys.stderr,
            )
    return 1 if stale and args.check else 0
