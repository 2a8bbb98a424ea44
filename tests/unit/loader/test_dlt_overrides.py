"""Each override of loader/run/dlt_overrides.py against the real dlt it was checked with."""

from __future__ import annotations

import logging
from importlib.metadata import version

import dlt
import pyarrow as pa
import pytest

from loader.run import dlt_overrides


def _extract_arrow_with_json_hint(tmp_path) -> None:
    @dlt.resource(name="rows", columns={"doc": {"data_type": "json"}}, file_format="csv")
    def rows():
        yield pa.table({"id": ["1"], "doc": ['{"a": 1}']})

    pipeline = dlt.pipeline("override_check", pipelines_dir=str(tmp_path), destination=None)
    pipeline.extract(rows())


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def dlt_warnings():
    """Warnings on dlt's own logger (it does not propagate to the root logger)."""
    captured = _Captured()
    logging.getLogger("dlt").addHandler(captured)
    yield captured.messages
    logging.getLogger("dlt").removeHandler(captured)


def test_checked_dlt_version_is_the_installed_one():
    assert version("dlt") == dlt_overrides.DLT_VERSION_CHECKED, (
        "dlt was upgraded: re-check loader/run/dlt_overrides.py and update DLT_VERSION_CHECKED"
    )


def test_dlt_still_warns_with_the_text_the_filter_matches(tmp_path, dlt_warnings):
    logger = logging.getLogger("dlt")
    logger.removeFilter(dlt_overrides._FILTER)
    try:
        _extract_arrow_with_json_hint(tmp_path)
    finally:
        dlt_overrides.install()
    warnings = dlt_warnings
    assert any(dlt_overrides.ARROW_HINT_WARNING in w for w in warnings), (
        f"dlt no longer logs the warning ArrowJsonHintFilter drops; remove the filter: {warnings}"
    )


def test_the_filter_drops_that_warning_and_nothing_else(tmp_path, dlt_warnings):
    dlt_overrides.install()
    _extract_arrow_with_json_hint(tmp_path)
    logging.getLogger("dlt").warning("another dlt warning")
    assert dlt_warnings == ["another dlt warning"]
