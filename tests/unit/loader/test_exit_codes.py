"""The exit codes are declared once (loader/errors.py): the CLI's help and the table in
docs/configuration.md say the same."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from loader import errors
from loader.names import ROOT


def _help(module: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "300"},
    )
    return " ".join(done.stdout.split())


def test_every_exit_code_constant_is_declared_with_its_meaning():
    constants = {v for k, v in vars(errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    declared = [e.code for e in errors.EXIT_CODES]
    assert sorted(declared) == sorted(constants)
    assert len(declared) == len(set(declared))
    assert {5, 10} <= set(declared)
    for exit_code in errors.EXIT_CODES:
        assert exit_code.label and exit_code.meaning and exit_code.action


@pytest.mark.parametrize("module", ["loader", "loader.job"])
def test_the_help_lists_every_declared_exit_code(module):
    shown = _help(module)
    for exit_code in errors.EXIT_CODES:
        assert f"{exit_code.code} {exit_code.label}" in shown


def test_the_configuration_docs_table_is_the_declaration():
    text = (ROOT / "docs" / "configuration.md").read_text()
    section = text.split("## Exit codes", 1)[1]
    table = "\n".join(re.findall(r"^\|.*\|$", section.split("\n\n##", 1)[0], re.MULTILINE))
    assert table == errors.exit_code_table(), (
        "docs/configuration.md's exit-code table differs from loader/errors.py EXIT_CODES: "
        "print loader.errors.exit_code_table() and paste it"
    )


def test_a_stored_reason_is_the_cause_not_the_head_of_a_traceback():
    frames = "".join(
        f'  File "/{"a-very-long-folder-name/" * 8}mod.py", line {i}, in f\n    f()\n'
        for i in range(20)
    )
    text = (
        "Traceback (most recent call last):\n" + frames + "psycopg2.errors.CheckViolation: new "
        'row violates check constraint "no_poison"\nDETAIL:  Failing row contains (1).\n'
    )
    assert errors.one_line(text) == (
        'psycopg2.errors.CheckViolation: new row violates check constraint "no_poison" '
        "DETAIL: Failing row contains (1)."
    )


def test_a_stored_reason_is_bounded_and_names_the_innermost_cause():
    inner = ValueError("the cause " + "x" * 5000)
    outer = RuntimeError("Pipeline execution failed at step=load")
    outer.__cause__ = inner
    reason = errors.reason(outer)
    assert reason.startswith("ValueError: the cause")
    assert len(reason) <= errors.REASON_LIMIT
    assert "\n" not in errors.reason(ValueError("line one\nline two"))
    assert errors.reason(ValueError("line one\nline two")) == "ValueError: line one line two"


def test_the_readmes_summary_names_every_declared_exit_code():
    readme = (ROOT / "README.md").read_text()
    summary = readme.split("- **Exit codes**", 1)[1].split("\n- ", 1)[0]
    named = {int(code) for code in re.findall(r"`(\d+)`", summary)}
    assert named == {e.code for e in errors.EXIT_CODES}
