"""The health report opened from disk in headless Chromium: its charts draw (plotly
renders svg) with no server and no network."""

from __future__ import annotations

import os
import subprocess
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.browser.conftest import ROOT, save_screenshot


def test_report_charts_draw_from_a_file(browser, demo_warehouse, tmp_path):
    out = tmp_path / "report.html"
    subprocess.run(
        [sys.executable, "-m", "loader.ops.report", "--out", str(out)],
        env={**os.environ, **demo_warehouse, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    browser.get(out.as_uri())
    WebDriverWait(browser, 60).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".plotly-graph-div .main-svg")) > 0
    )
    charts = browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div")
    drawn = [c for c in charts if c.find_elements(By.CSS_SELECTOR, "svg.main-svg")]
    bars = browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div g.point path")
    save_screenshot(browser, "report")
    assert len(charts) == 4 and len(drawn) == len(charts)
    assert bars  # bars have shapes, not only empty axes
