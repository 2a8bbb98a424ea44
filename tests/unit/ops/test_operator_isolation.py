"""Tests never read the operator's configuration (issue 15): with credentials configured
as the README says (.dlt/secrets.toml, SOURCES__* variables), the tests see none of it."""

from __future__ import annotations

import os
from pathlib import Path

import dlt

ROOT = Path(__file__).resolve().parents[3]


def test_dlt_reads_only_the_committed_config_and_no_operator_variable():
    project = Path(os.environ["DLT_PROJECT_DIR"])

    assert project != ROOT
    assert sorted(p.name for p in (project / ".dlt").iterdir()) == ["config.toml"]
    assert not [name for name in os.environ if name.startswith(("SOURCES__", "ALERTS__"))]
    assert dlt.config.get("sources.zoho_books.organization_id") is None
    assert dlt.config.get("sources.zoho_books.max_calls_per_minute") == 90  # config.toml
