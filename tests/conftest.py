"""Shared pytest configuration: the simulator fixture is available to every test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

pytest_plugins = ["zoho_sim.pytest_plugin"]


# ----- ops: tests never read the operator's configuration ---------------------------------
# An operator's .dlt/secrets.toml, ~/.dlt and SOURCES__* / ALERTS__* variables would
# otherwise reach every test (and every loader, job and dbt process a test starts): dlt is
# pointed at a project dir holding only the committed .dlt/config.toml, and its global dir
# at an empty one. Done in pytest_configure, before any test module imports dlt.
OPERATOR_PREFIXES = ("SOURCES__", "ALERTS__", "DESTINATION__", "RETENTION_DAYS")
_ISOLATED: list[str] = []


def pytest_configure(config) -> None:
    root = Path(__file__).resolve().parent.parent
    project = Path(tempfile.mkdtemp(prefix="zoho-tests-dlt-"))
    (project / ".dlt").mkdir()
    shutil.copy(root / ".dlt" / "config.toml", project / ".dlt" / "config.toml")
    (project / "global").mkdir()
    for name in [n for n in os.environ if n.startswith(OPERATOR_PREFIXES)]:
        del os.environ[name]
    os.environ["DLT_PROJECT_DIR"] = str(project)
    os.environ["DLT_DATA_DIR"] = str(project / "global")
    _ISOLATED.append(str(project))


def pytest_unconfigure(config) -> None:
    for path in _ISOLATED:
        shutil.rmtree(path, ignore_errors=True)


# ----- end ops -----------------------------------------------------------------------------
