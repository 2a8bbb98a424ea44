"""README's "Layout" is the map of loader/: every package in the tree is named there."""

from __future__ import annotations

import re

from loader.names import ROOT


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_every_loader_package_is_named_in_the_readme_layout():
    layout = _layout_block()
    named = set(re.findall(r"(?:^|\s)([a-z_]+)/", layout))
    packages = {
        path.parent.name
        for path in (ROOT / "loader").rglob("__init__.py")
        if path.parent != ROOT / "loader"
    }
    assert packages - named == set(), "packages missing from README's Layout"


def test_every_top_level_module_is_named_in_the_readme_layout():
    layout = _layout_block()
    modules = {path.name for path in (ROOT / "loader").glob("*.py") if path.name != "__init__.py"}
    assert {name for name in modules if name not in layout} == set()
