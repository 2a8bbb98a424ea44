"""The one dbt override left (dbt_project/macros/overrides/) against the dbt installed.

`postgres__snapshot_staging_table` narrows dbt's snapshot comparison by naming dbt's source
CTE `snapshot_query`; it was checked against the versions below. A dbt upgrade fails here
first, with what to re-check, rather than in a build."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import dbt.include.global_project

CHECKED = {"dbt-core": "1.11.", "dbt-adapters": "1.24.", "dbt-postgres": "1.11.0"}
OVERRIDE = (
    Path(__file__).resolve().parents[2]
    / "dbt_project/macros/overrides/snapshot_staging_table_override.sql"
)


def test_dbt_is_the_version_the_override_was_checked_against() -> None:
    installed = {name: importlib.metadata.version(name) for name in CHECKED}
    assert {name: v.startswith(CHECKED[name]) for name, v in installed.items()} == dict.fromkeys(
        CHECKED, True
    ), f"re-check {OVERRIDE.name} against {installed}, then update CHECKED"


def test_dbts_snapshot_comparison_still_names_its_source_snapshot_query() -> None:
    helpers = (
        Path(dbt.include.global_project.__file__).parent
        / "macros/materializations/snapshots/helpers.sql"
    ).read_text()
    [default] = re.findall(
        r"{% macro default__snapshot_staging_table\(strategy, source_sql, target_relation\)"
        r".*?{% endmacro %}",
        helpers,
        flags=re.S,
    )
    assert re.search(r"with snapshot_query as \(\s*{{ source_sql }}", default)
    # the history it compares with is the relation the override narrows
    assert "from {{ target_relation }}" in default
    assert "snapshot_query" in OVERRIDE.read_text()
