"""Fixtures for the simulator's own tests.

``zoho_sim`` itself comes from ``zoho_sim.pytest_plugin``, loaded by tests/conftest.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from zoho_sim import ZohoSimulator
from zoho_sim.pytest_plugin import BooksClient


@pytest.fixture
def books(zoho_books: BooksClient) -> BooksClient:
    """Short name for the plugin's authorised client on a fresh unit-scale simulator."""
    return zoho_books


@pytest.fixture(scope="module")
def demo_sim() -> Iterator[ZohoSimulator]:
    """One demo-scale simulator per module (for read-only tests)."""
    with ZohoSimulator(scale="demo", seed=1) as sim:
        yield sim


@pytest.fixture(scope="module")
def demo_books(demo_sim: ZohoSimulator) -> Iterator[BooksClient]:
    client = BooksClient(demo_sim)
    yield client
    client.close()


class WebhookReceiver(ThreadingHTTPServer):
    """Records every POST it gets (path, query pairs, headers, body) and answers 200."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url_base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/zoho"


class _Handler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        url = urlsplit(self.path)
        self.server.received.append(
            {
                "path": url.path,
                "query": parse_qsl(url.query),
                "headers": dict(self.headers),
                "body": body,
            }
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()
