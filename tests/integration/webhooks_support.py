"""Shared by the webhook tests: Zoho's signature written from its documentation, a
client that posts as Zoho does, starting `python -m loader serve` on a free port, and the
one environment the tests that apply events share (`webhook_env`, `serving`)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests

from tests.loader_checks import loader_env

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


def loader(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m loader ARGS` in `env`."""
    return subprocess.run(
        [sys.executable, "-m", "loader", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def webhook_env(
    sim: Any, pg: dict[str, str], workdir: Path, *, synced: bool = True, **settings: str
) -> dict[str, str]:
    """The loader's and the receiver's environment against `sim` (signed with SECRET),
    with `settings` as SOURCES__ZOHO_BOOKS__<NAME> (e.g. WEBHOOK_MAX_ATTEMPTS="2"); after
    one scheduled sync when `synced`."""
    env = {
        **server_env(pg, workdir, webhook_secret=SECRET),
        **loader_env(sim, pg, workdir, DETAILS_BUDGET="1000", **settings),
    }
    if synced:
        done = loader("run", env=env)
        assert done.returncode == 0, done.stderr
    return env


@contextlib.contextmanager
def serving(env: dict[str, str], *options: str) -> Iterator[Receiver]:
    """`python -m loader serve --no-worker` (or with `options`) on a free port, stopped
    on leaving."""
    port = free_port()
    args = ["-m", "loader", "serve", "--port", str(port), *(options or ("--no-worker",))]
    proc, url = start(args, env, port)
    try:
        yield Receiver(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Receiver:
    def __init__(self, url: str, path: str = "/webhooks/zoho") -> None:
        self.url = url
        self.path = path  # an organization's: /webhooks/zoho/<id or name>
        self.session = requests.Session()

    def of(self, organization: str) -> Receiver:
        """The same receiver at `organization`'s URL."""
        return Receiver(self.url, f"/webhooks/zoho/{organization}")

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
            f"{self.url}{self.path}/{module}",
            params=query,
            data=body,
            headers=headers,
            timeout=30,
        )
