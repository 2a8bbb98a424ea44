"""The dbt command line, built in one place: the job's build and freshness check, the
webhook worker's rebuild, the docs site and the analyses all run dbt as a process of this
virtualenv's `dbt`, from the project root (dbt_project.yml)."""

from __future__ import annotations

import sys
from pathlib import Path

# The production build: models, data tests and snapshots. dbt's unit tests check the SQL
# of the pricing rules against fixed inputs, which the data cannot change: they run in
# `make test` (CI), as dbt advises, not at every job or webhook batch.
BUILD = ("build", "--exclude-resource-type", "unit_test")
FRESHNESS = ("source", "freshness")


def executable() -> str:
    """The `dbt` beside this Python (the project's virtualenv), whatever PATH cron has."""
    return str(Path(sys.executable).with_name("dbt"))


def command(*args: str) -> list[str]:
    """`dbt <args>` as an argv."""
    return [executable(), *args]
