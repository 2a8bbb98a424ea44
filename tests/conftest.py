"""Shared pytest configuration: the simulator fixture is available to every test, and no
test reads the operator's configuration.

dlt reads `.dlt/secrets.toml` from its project directory (here: the checkout) and
`SOURCES__*` variables from the environment. Before anything imports dlt, the tests get
a project directory of their own holding only the checked-in `.dlt/config.toml`, an
empty global dlt directory, and no `SOURCES__*` / `DESTINATION__*` variables; a test sets
the settings it needs itself.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_ISOLATED = Path(tempfile.mkdtemp(prefix="loader-tests-dlt-"))
(_ISOLATED / ".dlt").mkdir()
shutil.copy(ROOT / ".dlt" / "config.toml", _ISOLATED / ".dlt" / "config.toml")
os.environ["DLT_PROJECT_DIR"] = str(_ISOLATED)
os.environ["DLT_DATA_DIR"] = str(_ISOLATED / "global")
for _name in list(os.environ):
    if _name.startswith(("SOURCES__", "DESTINATION__")):
        del os.environ[_name]
# ----- ops: the job's own settings (alerts, retention) are operator configuration too ----
for _name in list(os.environ):
    if _name.startswith(("ALERTS__", "RETENTION_DAYS")):
        del os.environ[_name]
# ----- end ops -----------------------------------------------------------------------------

pytest_plugins = ["zoho_sim.pytest_plugin"]
