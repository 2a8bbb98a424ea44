"""The report opened from disk in headless Chromium, as the owner sees it: the verdict on
top, the organization and the database named, times in the organization's time zone,
charts whose axes read as whole counts and percentages, a sentence where there is no
data, and the technical details only in the technician's section. Full-page screenshots
are kept in .local/test-artifacts/ (report.png, report-empty.png)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.browser.conftest import ROOT, save_screenshot
from tests.integration.conftest import execute

WHOLE_NUMBER = re.compile(r"^\d{1,3}(,\d{3})*$")
PERCENT_TICKS = {"0 %", "25 %", "50 %", "75 %", "100 %"}


def _write_report(pg: dict[str, str], out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "loader.ops.report", "--out", str(out)],
        env={**os.environ, **pg, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _full_page_screenshot(browser, name: str) -> None:
    """The whole page, not only the window: the window is made as tall as the page."""
    size = browser.get_window_size()
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(size["width"], height + 120)
    try:
        save_screenshot(browser, name)
    finally:
        browser.set_window_size(size["width"], size["height"])


def _ticks(browser, css: str) -> list[str]:
    return [t.text for t in browser.find_elements(By.CSS_SELECTOR, css) if t.text]


def test_the_owner_reads_a_verdict_names_and_readable_charts(browser, demo_warehouse, tmp_path):
    out = tmp_path / "report.html"
    _write_report(demo_warehouse, out)
    browser.get(out.as_uri())
    WebDriverWait(browser, 60).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".plotly-graph-div .main-svg")) > 0
    )
    _full_page_screenshot(browser, "report")

    ((org, zone),) = execute(
        demo_warehouse, "select name, time_zone from zoho_staging.organizations"
    )
    ((without_price,),) = execute(
        demo_warehouse, "select without_price from analytics.price_coverage"
    )
    assert browser.find_element(By.ID, "organization").text == org
    header = browser.find_element(By.ID, "warehouse").text
    assert demo_warehouse["PGDATABASE"] in header and zone in header
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.text == f"Needs attention: {without_price} products have no price."
    assert verdict.location["y"] < browser.find_element(By.TAG_NAME, "section").location["y"]

    # times in the organization's time zone: the invoices' last update as Zoho's clock says
    ((finished,),) = execute(
        demo_warehouse,
        "select max(finished_at) from zoho_staging.sync_runs where status = 'success'",
    )
    local = finished.astimezone(ZoneInfo(zone))
    assert f"{local.day} {local:%b %Y, %H:%M}" in browser.find_element(By.TAG_NAME, "body").text

    charts = browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div")
    drawn = [c for c in charts if c.find_elements(By.CSS_SELECTOR, "svg.main-svg")]
    assert len(charts) == 4 and len(drawn) == len(charts)
    assert browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div g.point path")  # bars drawn
    # counts: products, updates and API calls up the side, minutes or hours of data age across
    counts = _ticks(browser, ".plotly-graph-div:not(#chart-data-age) g.ytick text")
    counts += _ticks(browser, "#chart-data-age g.xtick text")
    assert counts and all(WHOLE_NUMBER.match(t) for t in counts), counts
    percents = set(_ticks(browser, ".plotly-graph-div g.y2tick text"))
    assert percents == PERCENT_TICKS

    technician = browser.find_element(By.ID, "technician").text
    owner = browser.find_element(By.TAG_NAME, "body").text.split("For the technician")[0]
    for detail in ("PGDATABASE", "ANALYTICS_SCHEMA", "exit code"):
        assert detail in technician and detail not in owner, detail


def test_an_empty_warehouse_shows_sentences_not_empty_charts(browser, pg_env, tmp_path):
    out = tmp_path / "report.html"
    _write_report(pg_env, out)
    browser.get(out.as_uri())
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "verdict"))
    _full_page_screenshot(browser, "report-empty")
    assert browser.find_element(By.ID, "verdict").text == (
        "Needs attention: nothing has been loaded from Zoho Books yet."
    )
    assert not browser.find_elements(By.CSS_SELECTOR, ".plotly-graph-div")
    sentences = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "p.no-data")]
    assert len(sentences) >= 6 and all(s.startswith("No data yet: ") for s in sentences)
