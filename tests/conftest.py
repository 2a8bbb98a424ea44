"""Shared pytest configuration: the simulator fixture is available to every test, and no
test reads the operator's configuration.

dlt reads `.dlt/secrets.toml` from its project directory (here: the checkout) and
`SOURCES__*` variables from the environment. Before anything imports dlt, the tests get
a project directory of their own holding only the checked-in `.dlt/config.toml`, an
empty global dlt directory, and no `SOURCES__*` / `DESTINATION__*` variables; a test sets
the settings it needs itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The tests leave nothing in the system's temporary folder. Each test process (pytest, each
# xdist worker) removes its folders in pytest_unconfigure; a process killed on the way (a
# CI timeout's SIGTERM or SIGKILL, a run stopped by hand, a crashed worker) runs no code of
# its own, so a guard process removes them too once it ends. The guard reads the folders'
# paths, one a line, until the test process's end closes the pipe (however it ends), then
# removes them, again a little later for files its children (a worker's PostgreSQL) were
# still writing. It has a session of its own: a signal to the run's process group does not
# stop it.
_GUARD = """
import shutil, sys, time
paths = [line.strip() for line in sys.stdin if line.strip()]
for wait in (0, 2, 10):
    time.sleep(wait)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
"""
_guard = subprocess.Popen(
    [sys.executable, "-c", _GUARD],
    stdin=subprocess.PIPE,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    start_new_session=True,
    text=True,
)


def _remove_when_this_process_ends(path: Path) -> None:
    assert _guard.stdin is not None
    _guard.stdin.write(f"{path}\n")
    _guard.stdin.flush()


_ISOLATED = Path(tempfile.mkdtemp(prefix="loader-tests-dlt-"))
_remove_when_this_process_ends(_ISOLATED)
(_ISOLATED / ".dlt").mkdir()
shutil.copy(ROOT / ".dlt" / "config.toml", _ISOLATED / ".dlt" / "config.toml")
os.environ["DLT_PROJECT_DIR"] = str(_ISOLATED)
os.environ["DLT_DATA_DIR"] = str(_ISOLATED / "global")
for _name in list(os.environ):
    if _name.startswith(("SOURCES__", "DESTINATION__")):
        del os.environ[_name]
# ----- ops: the job's own settings (alerts, health, retention) are operator configuration
for _name in list(os.environ):
    if _name.startswith(("ALERTS__", "HEALTH__", "RETENTION_DAYS")):
        del os.environ[_name]
# ----- end ops -----------------------------------------------------------------------------

pytest_plugins = ["zoho_sim.pytest_plugin"]


def _session_basetemp() -> Path:
    """A temporary folder of this checkout's test session, short (the embedded PostgreSQL's
    socket lives in it, and a unix socket path is limited to 107 bytes however long the
    checkout's path is) and its own: sessions of several checkouts never share one."""
    checkout = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"zb-tests-{checkout}-{os.getpid()}"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """The session's temporary folder (see `_session_basetemp`), unless --basetemp says
    otherwise; pytest-xdist's workers get theirs inside the controller's."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = str(_session_basetemp())
        config.stash[_OWN_BASETEMP] = True
        _remove_when_this_process_ends(Path(config.option.basetemp))


_OWN_BASETEMP = pytest.StashKey[bool]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's temporary folders at the end: nothing is left behind (xdist's
    workers end without running atexit handlers; a killed process leaves them to the
    guard above)."""
    shutil.rmtree(_ISOLATED, ignore_errors=True)
    if config.stash.get(_OWN_BASETEMP, False):
        shutil.rmtree(config.option.basetemp, ignore_errors=True)
    # nothing left for the guard to do
    _guard.kill()
    _guard.wait()
    assert _guard.stdin is not None
    _guard.stdin.close()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks into the test ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for pytest-xdist's `--dist loadgroup` (`make test` runs the suite on several
    workers). Each test module runs whole on one worker (the group is the module's name:
    test ids end in `@<module>`), so its module-scoped fixtures (a database, a dbt build, a
    simulator) are built once; every module using the session-scoped `demo_warehouse` (a
    full demo load + dbt build) is in group `demo_warehouse`, so one worker builds it once.
    A test marked `xdist_group` itself keeps its mark. Without xdist the marks do nothing."""
    module_of = {item: Path(item.nodeid.split("::", 1)[0]).stem for item in items}
    demo_modules = {
        module_of[item] for item in items if "demo_warehouse" in getattr(item, "fixturenames", ())
    }
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            module = module_of[item]
            item.add_marker(
                pytest.mark.xdist_group("demo_warehouse" if module in demo_modules else module)
            )
    # xdist hands out the groups in the order collected (--no-loadscope-reorder): a module
    # marked `start_first` goes first, so that a worker is not left running it alone at
    # the end. The sort is stable and moves whole modules.
    first = {module_of[item] for item in items if item.get_closest_marker("start_first")}
    items.sort(key=lambda item: module_of[item] not in first)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent when xdist is not loaded
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Stop `--dist loadgroup` loudly where it would silently ignore the groups above (each
    worker then builds the demo warehouse and module fixtures again): pytest 9.2 drops the
    group suffix xdist adds to the test ids (pytest-xdist#1386)."""
    if node.config.getoption("dist") == "loadgroup" and ids and not any("@" in i for i in ids):
        pytest.exit(
            "pytest-xdist ignores the xdist_group marks with this pytest (pytest-xdist#1386): "
            "keep pytest below 9.2 in pyproject.toml, or run without -n",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
