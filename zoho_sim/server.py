"""HTTP front: the accounts server's token endpoint and the Books API with its limits.

Order of checks on an API call (Zoho does not document one): route -> token (401 code 57)
-> organization_id (400 code 6041; 6024 when the token reaches several organisations and
none is named) -> daily quota (429/45) -> concurrency (429/1070) -> per-minute window
(429/44) -> injected fault -> the answer.

Limits, counters, faults and triggers belong to the organisation the call names (the first
one when it names none or an unknown one); tokens and the accounts server are shared.
"""

from __future__ import annotations

import contextlib
import random
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import admin
from .admin import ADMIN_PREFIX
from .api import ApiError, ApiResponse, dump, match_route, path_exists
from .limits import TokenError, Verdict

if TYPE_CHECKING:
    from .simulator import ZohoSimulator

API_PREFIX = "/books/v3"
TOKEN_PATH = "/oauth/v2/token"
TOKEN_ENDPOINT = "POST /oauth/v2/token"

RATE_LIMIT_MESSAGES = {
    44: "You have made too many requests per minute. Please try again after some time.",
    1070: "You have exceeded the maximum number of concurrent API calls allowed for your "
    "organization. Please try again later.",
    45: "You have reached the maximum number of API calls allowed for your organization "
    "for the day. Please try again tomorrow.",
}
UNAUTHORIZED = {"code": 57, "message": "You are not authorized to perform this operation"}
HTML_503 = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>ZGS</center>"
    b"</body></html>"
)


def _quota_headers(daily_quota: int, verdict: Verdict) -> dict[str, str]:
    """Zoho's headers: the day's quota, what is left after this call, seconds until the
    quota day ends."""
    return {
        "X-Rate-Limit-Limit": str(daily_quota),
        "X-Rate-Limit-Remaining": str(verdict.remaining),
        "X-Rate-Limit-Reset": str(verdict.reset_seconds),
    }


class FaultPlan:
    """Chooses injected faults: queued ones first (deterministic tests), then at random."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._queue: deque[str] = deque()
        self._lock = threading.Lock()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def queue(self, kind: str, count: int) -> None:
        with self._lock:
            self._queue.extend([kind] * count)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def next(self, rate: float, kinds: tuple[str, ...]) -> str | None:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if rate > 0 and kinds and self._rng.random() < rate:
                return self._rng.choice(kinds)
            return None


class OrganizationRequired(ApiError):
    """Zoho's answer when a token reaching several organisations names none (seen from
    Zoho Inventory, the same accounts and API platform): 400, code 6024, the candidates
    in ``error_info``."""

    def __init__(self, organizations: list[ZohoSimulator]) -> None:
        super().__init__(
            400,
            6024,
            "This user belongs to multiple organizations, hence the parameter "
            "CompanyID/CompanyName is required for associating this user to a specific "
            "organization.",
        )
        self.error_info = [
            {
                "organization_id": org.organization_id,
                "name": org.organization_name,
                "is_default_org": org is org.primary,
            }
            for org in organizations
        ]

    def response(self) -> ApiResponse:
        body = {"code": self.code, "message": self.message, "error_info": self.error_info}
        return ApiResponse(self.status, dump(body))


class SimServer(ThreadingHTTPServer):
    """Threaded server that knows its simulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: ZohoSimulator) -> None:
        self.sim = sim
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """One request: Zoho's token endpoint or a Books API call."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    """Headers and body go out in separate writes; without this, delayed ACKs add 40 ms."""
    server: SimServer
    server_version = "ZGS"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default: a benchmark makes thousands of calls."""
        if self.server.sim.verbose:
            super().log_message(format, *args)

    org: ZohoSimulator
    """The organisation the current request is counted and limited against."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ----- dispatch ----------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._read_body()
        sim = self.server.sim
        self.org = sim.organizations.get(params.get("organization_id") or "", sim)
        try:
            if url.path.rstrip("/") == TOKEN_PATH:
                self.org = sim
                self._token(method, params, body)
            elif url.path == ADMIN_PREFIX or url.path.startswith(ADMIN_PREFIX + "/"):
                self._send(
                    admin.handle(
                        sim,
                        method,
                        url.path[len(ADMIN_PREFIX) :],
                        body,
                        params.get("organization_id"),
                    )
                )
            elif url.path.startswith(API_PREFIX + "/"):
                self._api(method, url.path[len(API_PREFIX) :], params)
            else:
                self._send(ApiResponse(404, dump({"code": 5, "message": "Invalid URL Passed"})))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:  # the simulator's own bug: answer like Zoho, show the traceback
            traceback.print_exc(file=sys.stderr)
            self._send(ApiResponse(500, dump({"code": 1000, "message": "Internal Error"})))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # ----- accounts server ---------------------------------------------------------------
    def _token(self, method: str, params: dict[str, str], body: bytes) -> None:
        sim = self.server.sim
        sim.counters_obj.call(
            TOKEN_ENDPOINT if method == "POST" else f"{method} {TOKEN_PATH}", is_api=False
        )
        if method != "POST":
            self._send(ApiResponse(405, dump({"error": "invalid_request"})))
            return
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        try:
            token, expires_in = sim.tokens.grant({**params, **form})
        except TokenError as error:
            sim.counters_obj.token_error(error.body["error"])
            self._send(ApiResponse(error.status, dump(error.body)))
            return
        sim.counters_obj.token_minted()
        answer = {
            "access_token": token,
            "scope": "ZohoBooks.settings.READ ZohoBooks.contacts.READ ZohoBooks.invoices.READ",
            "api_domain": sim.base_url,
            "token_type": "Bearer",
            "expires_in": expires_in,
        }
        self._send(ApiResponse(200, dump(answer)))

    # ----- Books API ---------------------------------------------------------------------
    def _api(self, method: str, path: str, params: dict[str, str]) -> None:
        sim = self.org
        found = match_route(method, path)
        if found is None:
            endpoint = f"{method} {path}"
            sim.counters_obj.call(endpoint, is_api=True)
            if path_exists(path):
                error = ApiError(
                    405, 37, "The HTTP method is not allowed for the requested resource"
                )
            else:
                error = ApiError(404, 5, "Invalid URL Passed")
            self._send(self._with_quota(error.response()))
            return
        route, ids = found
        sim.counters_obj.call(route.endpoint, is_api=True)
        if not self._authorized():
            self._send(self._with_quota(ApiResponse(401, dump(UNAUTHORIZED))))
            return
        if route.needs_org:
            org_error = self._org_error(params.get("organization_id"))
            if org_error is not None:
                self._send(self._with_quota(org_error.response()))
                return
        sim = self.org  # the organisation named, now known to be served
        verdict = sim.limiter.acquire()
        limit_headers = _quota_headers(sim.config.daily_quota, verdict)
        if verdict.code:
            sim.counters_obj.rate_limited(verdict.code)
            body = {"code": verdict.code, "message": RATE_LIMIT_MESSAGES[verdict.code]}
            self._send(ApiResponse(429, dump(body), headers=limit_headers))
            return
        try:
            self._answer(route, ids, params, limit_headers)
        finally:
            sim.limiter.release()

    def _with_quota(self, response: ApiResponse) -> ApiResponse:
        """Every API answer carries the quota headers, also those that use no quota."""
        sim = self.org
        response.headers.update(_quota_headers(sim.config.daily_quota, sim.limiter.peek()))
        return response

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme == "Zoho-oauthtoken" and self.server.sim.tokens.is_valid(token.strip())

    def _org_error(self, organization_id: str | None) -> ApiError | None:
        organizations = self.server.sim.organizations
        if not organization_id and len(organizations) > 1:
            return OrganizationRequired(list(organizations.values()))
        if not organization_id:
            return ApiError(400, 6041, "organization_id is required")
        if organization_id not in organizations:
            return ApiError(
                400,
                6041,
                f"This user is not associated with the CompanyID/CompanyName:{organization_id}.",
            )
        return None

    def _answer(
        self, route: Any, ids: tuple[str, ...], params: dict[str, str], headers: dict[str, str]
    ) -> None:
        sim = self.org
        cfg = sim.config
        if cfg.latency_seconds > 0:
            time.sleep(cfg.latency_seconds)
        targeted = not cfg.fault_endpoints or route.endpoint in cfg.fault_endpoints
        fault = sim.faults.next(cfg.fault_rate, cfg.fault_kinds) if targeted else None
        if fault is not None:
            sim.counters_obj.fault(fault)
        if fault == "dropped_connection":
            self._drop()
            return
        if fault == "http500":
            self._send(
                ApiResponse(500, dump({"code": 1000, "message": "Internal Error"}), headers=headers)
            )
            return
        if fault == "http503_html":
            self._send(ApiResponse(503, HTML_503, "text/html", headers))
            return
        if fault == "slow":
            time.sleep(cfg.slow_seconds)
        response = sim.api.handle(route, ids, params)
        response.headers.update(headers)
        if response.status == 200 and fault in (None, "slow"):
            sim.triggers.answered(route.endpoint, params)
        if fault == "truncated_json":
            whole = response.body if isinstance(response.body, bytes) else b"".join(response.body)
            response.body = whole[: max(1, len(whole) // 2)]
        if fault == "cut_stream":
            self._send_cut(response)
            return
        self._send(response)

    # ----- writing -----------------------------------------------------------------------
    def _drop(self) -> None:
        """Close the socket without a byte of answer, as a reset load balancer does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_head(self, response: ApiResponse, counted: bool = True) -> None:
        if counted:
            self.org.counters_obj.status(response.status)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)

    def _send_cut(self, response: ApiResponse) -> None:
        """The whole answer's headers, half its body, then the connection closes: a proxy
        timing out or a reset mid-answer (a chunked answer also loses its last chunk)."""
        self._send_head(response)
        chunked = not isinstance(response.body, bytes)
        whole = b"".join(response.body) if chunked else response.body
        half = whole[: max(1, len(whole) // 2)]
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(half), half))
        else:
            self.send_header("Content-Length", str(len(whole)))
            self.end_headers()
            self.wfile.write(half)
        self.wfile.flush()
        self._drop()

    def _send(self, response: ApiResponse, counted: bool = True) -> None:
        """Write one answer; ``counted=False`` keeps admin answers out of ``statuses``."""
        self._send_head(response, counted)
        if isinstance(response.body, bytes):
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._write_chunks(response.body)

    def _write_chunks(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")
