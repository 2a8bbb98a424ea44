"""A scripted stand-in for Zoho on loopback (a real HTTP server), and clients pointed at
it with small retry settings, for the tests of the HTTP layer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from loader.zoho.http import ZohoClient, ZohoSettings
from loader.zoho.http.auth import AccessToken, TokenCache, cache_key

Answer = tuple[int, dict[str, Any], dict[str, str]]  # status, body, headers


class FakeZoho:
    """Answers the token endpoint with token-1, token-2, ... and API calls from `script`
    (a function of path and token sent), recording every API call's token."""

    def __init__(self) -> None:
        self.minted = 0
        self.tokens_seen: list[str] = []
        self.script: Callable[[str, str], Answer] = lambda path, token: (200, {"code": 0}, {})
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]):
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(data))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.minted += 1
                token = {"access_token": f"token-{server.minted}", "expires_in": 3600}
                self._answer(200, token, {})

            def do_GET(self) -> None:
                token = (self.headers.get("Authorization") or "").removeprefix("Zoho-oauthtoken ")
                server.tokens_seen.append(token)
                self._answer(*server.script(self.path, token))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def zoho() -> Iterator[FakeZoho]:
    server = FakeZoho()
    yield server
    server.stop()


def settings_for(api: str, accounts: str, cache: Path, **extra: Any) -> ZohoSettings:
    options: dict[str, Any] = {
        "request_timeout": 2.0,
        "request_max_attempts": 2,
        "request_backoff_factor": 0.0,
        "request_max_retry_delay": 0.0,
        **extra,
    }
    return ZohoSettings(
        organization_id="1",
        client_id="cid",
        client_secret="csecret",
        refresh_token="rtoken",
        api_base_url=api,
        accounts_url=accounts,
        token_cache_path=str(cache),
        max_calls_per_minute=100_000,
        max_concurrency=2,
        **options,
    )


def cache_token(settings: ZohoSettings, token: str) -> None:
    """Put a valid access token in the cache, as a previous run would have left it."""
    key = cache_key(settings.accounts_url, settings.client_id, settings.refresh_token)
    TokenCache(Path(settings.token_cache_path)).save(key, AccessToken(token, time.time() + 3600))


@pytest.fixture
def client_for(tmp_path: Path) -> Callable[..., ZohoClient]:
    def make(api: str, accounts: str | None = None, token: str | None = None, **extra: Any):
        settings = settings_for(api, accounts or api, tmp_path / "token.json", **extra)
        if token is not None:
            cache_token(settings, token)
        return ZohoClient(settings)

    return make
