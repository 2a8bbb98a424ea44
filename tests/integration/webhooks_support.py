"""Shared by the webhook tests: Zoho's signature written from its documentation, a
client that posts as Zoho does, and starting `python -m loader serve` on a free port."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import requests

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Wh00kSecretForTests42"
LOG_VARIABLE = "WEBHOOK_TESTS_SERVER_LOG"  # read by start() only, not by the service


def zoho_signature(secret: str, query: dict[str, str], body: bytes, form: bool) -> str:
    """Zoho's signature, written from its documentation independently of the receiver's:
    query and form pairs sorted by key, key+value concatenated, then the raw JSON body."""
    pairs = list(query.items())
    if form:
        pairs += parse_qsl(body.decode(), keep_blank_values=True)
    text = "".join(k + v for k, v in sorted(pairs, key=lambda kv: kv[0]))
    data = text.encode() + (b"" if form else body)
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(pg: dict[str, str], workdir: Path, **settings: str) -> dict[str, str]:
    """The service's environment: the tests' (no operator settings: tests/conftest.py),
    the test database, `settings` as SOURCES__ZOHO_BOOKS__<NAME>; its log goes to
    `workdir`/server.log."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env = {**base, **pg, "PYTHONUNBUFFERED": "1", LOG_VARIABLE: str(workdir / "server.log")}
    env.update({f"SOURCES__ZOHO_BOOKS__{k.upper()}": v for k, v in settings.items()})
    return env


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}")
        try:
            requests.get(f"{url}/health", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def start(args: list[str], env: dict[str, str], port: int) -> tuple[subprocess.Popen, str]:
    """Start a server process (its log where server_env said); wait until it answers."""
    log = open(env[LOG_VARIABLE], "a")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    wait_until_up(url, proc)
    return proc, url


class Receiver:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()

    def post(
        self,
        module: str,
        payload: object = None,
        *,
        event: str | None = "edited",
        form: bool = False,
        body: bytes | None = None,
        secret: str | None = SECRET,
        signature: str | None = None,
        content_type: str | None = None,
        extra_query: dict[str, str] | None = None,
    ) -> requests.Response:
        """POST as Zoho does: `payload` as JSON or as the form field JSONString, signed
        with `secret` (None: unsigned) unless `signature` is given."""
        query = {} if event is None else {"event": event}
        query.update(extra_query or {})
        if body is None:
            text = json.dumps(payload)
            body = urlencode({"JSONString": text}).encode() if form else text.encode()
        headers = {
            "Content-Type": content_type
            or ("application/x-www-form-urlencoded" if form else "application/json")
        }
        if signature is None and secret is not None:
            signature = zoho_signature(secret, query, body, form)
        if signature is not None:
            headers["X-Zoho-Webhook-Signature"] = signature
        return self.session.post(
            f"{self.url}/webhooks/zoho/{module}",
            params=query,
            data=body,
            headers=headers,
            timeout=30,
        )
