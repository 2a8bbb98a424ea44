"""The job's freshness check without starting dbt: the same heartbeat and thresholds as
`dbt source freshness`, read directly.

Every raw source shares one `loaded_at_query` (the sources YAML: the last successful loader
run in `zoho_staging.sync_runs`) and one `warn_after` / `error_after`, so dbt's answer is one
age compared with two limits. Reading the limits from the sources YAML keeps dbt's
declaration the only one (`dbt source freshness` still works by hand and agrees); asking
the run log directly saves starting dbt (about 2.5 s on every job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]  # PyYAML: from dlt and dbt

from loader.names import ROOT
from loader.warehouse.sync_runs import RunLog

SOURCES_YAML = (
    ROOT / "dbt_project" / "models" / "staging" / "zoho_books" / "_zoho_books__sources.yml"
)
PERIOD_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Limits:
    warn_seconds: float | None
    error_seconds: float | None
    tables: int


def _seconds(limit: dict[str, Any] | None) -> float | None:
    if not limit or limit.get("count") is None:
        return None
    return float(limit["count"]) * PERIOD_SECONDS[str(limit.get("period", "hour"))]


def limits(path: Path = SOURCES_YAML) -> Limits:
    """`warn_after` / `error_after` of the Zoho source (its `config.freshness`)."""
    (source,) = [
        s for s in yaml.safe_load(path.read_text())["sources"] if s["name"] == "zoho_books"
    ]
    freshness = (source.get("config") or {}).get("freshness") or source.get("freshness") or {}
    return Limits(
        _seconds(freshness.get("warn_after")),
        _seconds(freshness.get("error_after")),
        len(source.get("tables") or []),
    )


def judge(last_load: datetime | None, now: datetime, rules: Limits) -> tuple[dict[str, Any], str]:
    """(counts, worst status) in the shape of `freshness_outcome` (dbt's sources.json):
    every source table has the same age, so all get the same status."""
    if last_load is None:
        return {f"sources_{'error'}": rules.tables}, "error"
    age = (now - last_load).total_seconds()
    status = "pass"
    if rules.error_seconds is not None and age > rules.error_seconds:
        status = "error"
    elif rules.warn_seconds is not None and age > rules.warn_seconds:
        status = "warn"
    return {f"sources_{status}": rules.tables, "data_age_seconds": round(age)}, status


def check(conn: Any, now: datetime) -> tuple[dict[str, Any], str]:
    """The warehouse's freshness now: the run log's last success against the limits."""
    return judge(RunLog(conn).last_success(), now, limits())
