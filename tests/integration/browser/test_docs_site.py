"""The dbt docs site of the demo warehouse, served on 127.0.0.1 and opened in headless
Chromium as an analyst would: the product_prices page lists its columns with their types,
and the lineage graph is drawn with the model's nodes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.browser.conftest import ROOT, save_screenshot


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def docs_url(demo_warehouse, tmp_path_factory) -> str:
    """`make docs` then `make docs-serve` (loader.ops.docs_site) on the demo warehouse."""
    target = tmp_path_factory.mktemp("docs_target")
    env = {**os.environ, **demo_warehouse, "DBT_TARGET_PATH": str(target), "PYTHONPATH": str(ROOT)}
    env["DBT_LOG_PATH"] = str(target / "logs")
    generate = subprocess.run(
        [sys.executable, "-m", "loader.ops.docs_site", "generate"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generate.returncode == 0, generate.stdout[-3000:] + generate.stderr[-3000:]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "loader.ops.docs_site", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # until the server answers (dbt starts in a few seconds)
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, "dbt docs serve exited"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_product_prices_page_lists_its_columns_with_types(browser, docs_url):
    browser.get(f"{docs_url}/#!/model/model.zoho_books.product_prices")
    wait = WebDriverWait(browser, 60)
    wait.until(lambda b: "price_source" in b.find_element(By.TAG_NAME, "body").text)
    columns = {}
    for row in browser.find_elements(By.CSS_SELECTOR, "table tr"):
        cells = [cell.text.strip() for cell in row.find_elements(By.TAG_NAME, "td")]
        if len(cells) >= 2 and cells[0]:
            columns[cells[0]] = cells[1].lower()
    save_screenshot(browser, "docs-product_prices")
    assert {"product_id", "pricelist_id", "price", "currency_code", "price_source"} <= set(columns)
    assert columns["price"] == "numeric" and columns["product_id"] == "text"


def test_lineage_graph_draws_the_model_and_its_neighbours(browser, docs_url):
    browser.get(f"{docs_url}/#!/model/model.zoho_books.product_prices")
    WebDriverWait(browser, 60).until(
        lambda b: b.execute_script("return window.graph ? window.graph.nodes().length : 0") > 0
    )
    nodes = browser.execute_script("return window.graph.nodes().map(n => n.id())")
    save_screenshot(browser, "docs-product_prices-lineage")
    assert "model.zoho_books.product_prices" in nodes
    assert "model.zoho_books.products" in nodes
