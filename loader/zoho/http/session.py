"""The requests side of a Zoho call: signing, limits, retries, and a failed connection
as one line.

How one API call travels (every piece plugged in through a public API):

    RESTClient.paginate / get          dlt: pagination (ZohoPaginator), prepares the request
      -> session.auth = ZohoTokenAuth  requests' auth hook: signs with the current token
      -> dlt Client session.send       dlt: retries with exponential backoff (tenacity)
         -> ZohoAdapter.send           mounted with `session.mount`; once per attempt:
                                       short-circuit after quota exhaustion, client-side
                                       rate limit, concurrency slot, count, read the quota
         <- ZohoTokenAuth.handle_401   response hook: a 401 drops the token it was sent
                                       with and sends the call once more with a fresh one
         <- check_envelope hook        non-zero `code`, 4xx/5xx or an unparseable body
                                       becomes ZohoHTTPError (carrying the response)
      <- should_retry predicate        which ZohoHTTPErrors are worth another attempt

Signing is requests' own auth mechanism, so no call can leave unsigned whatever adapter
serves it; the 401 re-send is the pattern requests' HTTPDigestAuth uses. dlt's retries
re-send the prepared request as it is: the 401 hook re-signs it in place, so a later
attempt never replays a token Zoho refused (the bug another Zoho connector had).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import orjson
from requests import ConnectionError as RequestsConnectionError
from requests import PreparedRequest, Response, Session, Timeout
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.exceptions import ConnectTimeout, SSLError

from loader.errors import ConfigError, QuotaExhausted, ZohoUnreachable
from loader.zoho.constants import CODE_DAILY_QUOTA, RETRYABLE_429_CODES, env_var
from loader.zoho.http.auth import ZohoAuth
from loader.zoho.http.deadline import UNANSWERED, RetryDeadline
from loader.zoho.http.deadline import causes as deadline_causes
from loader.zoho.http.envelope import ZohoHTTPError
from loader.zoho.http.limits import QUOTA_MESSAGE, ApiStats, RateLimiter, endpoint_label

UNREACHABLE_ERRORS = (RequestsConnectionError, Timeout)
"""What requests raises when no answer came: refused, DNS, TLS, timeouts (retried within
the RetryDeadline of deadline.py, then raised)."""

_SCHEME = "Zoho-oauthtoken "


def sent_token(request: PreparedRequest) -> str:
    """The access token a request was signed with ('' when unsigned)."""
    return str(request.headers.get("Authorization") or "").removeprefix(_SCHEME)


class ZohoTokenAuth(AuthBase):
    """Signs every request to the API with the current access token, and answers a 401
    by dropping that token and sending the call once more with a fresh one."""

    def __init__(self, auth: ZohoAuth, api_base_url: str, stats: ApiStats) -> None:
        self.auth = auth
        self.api_base_url = api_base_url
        self.stats = stats

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        if (request.url or "").startswith(self.api_base_url):
            request.headers["Authorization"] = _SCHEME + self.auth.token()
            request.register_hook("response", self.handle_401)
        return request

    def handle_401(self, response: Response, **kwargs: Any) -> Response:
        if response.status_code != 401 or response.connection is None:
            return response
        stale = sent_token(response.request)
        self.auth.invalidate(stale)
        fresh = self.auth.token()
        if fresh == stale:
            return response  # no other token to try: the 401 stands
        self.stats.count_retry()
        response.content  # noqa: B018 - read it so the connection goes back to the pool
        response.close()
        # Re-sign the original too: dlt's retries re-send that very object.
        response.request.headers["Authorization"] = _SCHEME + fresh
        retry = response.request.copy()
        again: Response = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again


class ZohoAdapter(HTTPAdapter):
    """Applies Zoho's limits to every attempt of an API call, and counts it."""

    def __init__(
        self, api_base_url: str, limiter: RateLimiter, max_concurrency: int, stats: ApiStats
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(
                f"{env_var('max_concurrency')} must be at least 1, got {max_concurrency}"
            )
        super().__init__(pool_maxsize=max_concurrency * 2)
        self.api_base_url = api_base_url
        self.limiter = limiter
        self.stats = stats
        self._slots = threading.BoundedSemaphore(max_concurrency)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if not (request.url or "").startswith(self.api_base_url):
            return super().send(request, *args, **kwargs)
        if self.stats.quota_exhausted:
            # Every further call would be refused and still logged by Zoho: stop asking.
            raise QuotaExhausted(QUOTA_MESSAGE)
        self.limiter.acquire()
        with self._slots:
            self.stats.count_call(
                endpoint_label(request.method or "GET", request.url or "", self.api_base_url)
            )
            response = super().send(request, *args, **kwargs)
        self.stats.observe(response)
        return response


def mount(session: Session, adapter: HTTPAdapter, base_url: str) -> Session:
    """Route `base_url` through `adapter` on `session` (requests' public `mount`), and
    refuse to go on if the session would still pick another adapter for it."""
    session.mount(base_url, adapter)
    if session.get_adapter(base_url) is not adapter:
        raise RuntimeError(f"the HTTP session does not route {base_url} through ZohoAdapter")
    return session


def make_retry_predicate(
    stats: ApiStats, deadline: RetryDeadline
) -> Callable[[Response | None, BaseException | None], bool]:
    """Which failed attempts dlt's retrying session should repeat (with backoff).

    Retried: 5xx, 429 codes 44 (per-minute) and 1070 (concurrency), a truncated 200. Not
    retried: 429 code 45 (the daily quota: sleeping does not help; its reset time is
    noted), other 4xx (a 401 was already re-sent once by ZohoTokenAuth). No answer at
    all (refused, DNS, timeouts, dropped connections): as long as `deadline` allows."""

    def should_retry(response: Response | None, exception: BaseException | None) -> bool:
        if response is None:
            return isinstance(exception, UNANSWERED) and deadline.retry(exception)
        deadline.answered()
        status = response.status_code
        code = exception.code if isinstance(exception, ZohoHTTPError) else None
        retry = False
        if status >= 500:
            retry = True
        elif status == 429:
            stats.count_429(code)
            if code == CODE_DAILY_QUOTA:
                stats.note_daily_quota(response)
            retry = code in RETRYABLE_429_CODES
        elif status == 200 and isinstance(exception, ZohoHTTPError) and exception.truncated:
            retry = True
        if retry:
            stats.count_retry()
        return retry

    return should_retry


# ----- no answer at all -------------------------------------------------------------------
def unreachable(
    exc: BaseException, url: str, setting: str, attempts: int | None, timeout: tuple[float, float]
) -> ZohoUnreachable:
    """The one line for a call that got no answer: which host, why, and what to check.

    `setting` is the URL setting that names the host (api_base_url or accounts_url)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    tried = f" after {attempts} attempts" if attempts and attempts > 1 else ""
    settings = f"{env_var('data_center')} (or {env_var(setting)}, now {parts.scheme}://{where})"
    causes = list(deadline_causes(exc))
    who = "Zoho unreachable" if setting == "api_base_url" else "Zoho's accounts server unreachable"
    if any(isinstance(c, SSLError | ssl.SSLError) for c in causes):
        reason = next((str(c) for c in causes if isinstance(c, ssl.SSLError)), str(exc))
        return ZohoUnreachable(
            f"{who}: the TLS handshake with {where} failed{tried} "
            f"({reason.splitlines()[0][:160]}): check {settings} is Zoho's https address "
            "and that no proxy intercepts TLS (a private CA goes in REQUESTS_CA_BUNDLE)"
        )
    if any(isinstance(c, socket.gaierror) for c in causes):
        return ZohoUnreachable(
            f"{who}: the host {host} does not resolve (DNS){tried}: check "
            f"{settings} and this machine's DNS and network"
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return ZohoUnreachable(
            f"{who}: {where} refused the connection{tried}: check {settings}, "
            "and any proxy (HTTPS_PROXY) or firewall in between; then run again"
        )
    if isinstance(exc, ConnectTimeout):
        return ZohoUnreachable(
            f"{who}: {where} did not accept the connection within {timeout[0]:g} s{tried}: "
            "check the network and firewall towards Zoho, then run again (the next run resumes)"
        )
    if isinstance(exc, Timeout):
        return ZohoUnreachable(
            f"{who}: {where} did not answer within {timeout[1]:g} s{tried}: check "
            "the network and firewall towards Zoho, then run again (the next run resumes)"
        )
    reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    return ZohoUnreachable(
        f"{who}: the connection to {where} failed{tried} ({reason}): check "
        f"{settings} and the network, then run again"
    )


def unanswered_predicate(
    deadline: RetryDeadline,
) -> Callable[[Response | None, BaseException | None], bool]:
    """The token endpoint's retries of calls without an answer (its 5xx are dlt's)."""

    def should_retry(response: Response | None, exception: BaseException | None) -> bool:
        if response is None:
            return isinstance(exception, UNANSWERED) and deadline.retry(exception)
        deadline.answered()
        return False

    return should_retry


def form_poster(
    session: Callable[[], Session], attempts: Callable[[], int], timeout: tuple[float, float]
) -> Callable[[str, dict[str, str]], tuple[int, Any]]:
    """POST a form (the token endpoint's grant) and return (status, parsed JSON or None);
    no answer at all is ZohoUnreachable naming the accounts server."""

    def post(url: str, form: dict[str, str]) -> tuple[int, Any]:
        try:
            response = session().post(url, data=form)
        except UNREACHABLE_ERRORS as exc:
            raise unreachable(exc, url, "accounts_url", attempts(), timeout) from exc
        try:
            return response.status_code, orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return response.status_code, None

    return post
