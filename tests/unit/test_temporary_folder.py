"""The tests leave nothing behind in the system's temporary folder (tests/conftest.py): not
after a run on xdist workers as `make test` runs them, and not after a run that is killed.
Each check runs pytest in a process of its own with its own temporary folder (TMPDIR)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider")


def environment(tmp: Path) -> dict[str, str]:
    """This environment without the outer run's pytest and xdist variables, TMPDIR `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return {**env, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}


def test_a_run_on_two_workers_leaves_nothing_in_the_temporary_folder(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    done = subprocess.run(
        [
            *PYTEST,
            *("-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder", "-q"),
            "tests/unit/ops/test_operator_isolation.py",  # it uses the isolated dlt folder
        ],
        cwd=ROOT,
        env=environment(tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert sorted(p.name for p in tmp.iterdir()) == []


BLOCKS = """
import os
import time
from pathlib import Path


def test_blocks(tmp_path):  # the session folder (tests/conftest.py) holds tmp_path
    Path(__file__).with_name("running.txt").write_text(os.environ["DLT_PROJECT_DIR"])
    time.sleep(600)
"""


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_killed_run_leaves_nothing_in_the_temporary_folder(tmp_path):
    """SIGKILL: the test process runs no code of its own after it (no atexit, no pytest
    hook); its folders still go."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp_path / "test_blocks.py").write_text(BLOCKS)
    running = tmp_path / "running.txt"
    with open(tmp_path / "output.txt", "w") as output:
        run = subprocess.Popen(
            [
                *PYTEST,
                *("-p", "tests.conftest", "--rootdir", str(tmp_path), "-c", os.devnull),
                str(tmp_path / "test_blocks.py"),
            ],
            cwd=tmp_path,
            env=environment(tmp),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: running.exists() or run.poll() is not None)
        assert running.exists(), (tmp_path / "output.txt").read_text()[-3000:]
        # the run's dlt folder and its session folder exist while it runs
        isolated = Path(running.read_text())
        assert isolated.parent == tmp and (isolated / ".dlt" / "config.toml").exists()
        assert sorted(p.name.split("-")[0] for p in tmp.iterdir()) == ["loader", "zb"]
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)

    wait_for(lambda: not list(tmp.iterdir()), 60)
    assert sorted(p.name for p in tmp.iterdir()) == []
