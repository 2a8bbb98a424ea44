"""HTTP to Zoho Books: dlt's retrying session and REST client, plus the parts Zoho needs.

How one API call travels:

    RESTClient.paginate / get          dlt: pagination (page, per_page, has_more_page)
      -> dlt Client session.send       dlt: retries with exponential backoff (tenacity)
         -> ZohoAdapter.send           here, once per attempt: short-circuit after quota
                                       exhaustion, client-side rate limit, concurrency
                                       slot, (re-)sign with the current access token, count
         -> check_envelope hook        here: non-zero `code`, 4xx/5xx or an unparseable
                                       body becomes ZohoHTTPError (carrying the response)
      <- should_retry predicate        here: which ZohoHTTPErrors are worth another attempt

`ZohoClient.stream` (a price list's detail: up to a row per item, a million rows) travels
the same way with `stream=True`: a success answer longer than STREAMED_BODY_BYTES (or of
unknown length) passes the hook unread and is parsed as it arrives by `stream_records`,
which checks the envelope's `code` as it goes. Its body is read after the call returned,
so a body that breaks off part-way cannot be retried: it raises BrokenAnswer.

Signing in the adapter rather than once per request matters: dlt retries re-send the same
prepared request, so a token fixed at preparation time would be replayed after a 401
(the bug another Zoho connector had). Here every attempt carries the newest token.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import ijson
import orjson
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from requests import HTTPError, PreparedRequest, RequestException, Response
from requests.adapters import HTTPAdapter

from loader.auth import TokenCache, ZohoAuth
from loader.errors import (
    BrokenAnswer,
    ConfigError,
    QuotaExhausted,
    RecordNotFound,
    ZohoApiError,
)
from loader.settings import (
    CODE_BAD_ORGANIZATION,
    CODE_DAILY_QUOTA,
    CODE_NOT_AUTHORIZED,
    CODE_NOT_FOUND,
    PER_PAGE,
    REQUEST_TIMEOUT_SECONDS,
    RETRYABLE_429_CODES,
    env_var,
)

log = logging.getLogger(__name__)

STREAMED_BODY_BYTES = 1 << 20
"""A success answer to a streamed call above this size (or without Content-Length) is
parsed as it arrives; a smaller one is read whole by the hook, as every other answer."""
STREAM_CHUNK_BYTES = 1 << 16

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


@dataclass(frozen=True)
class ZohoSettings:
    """Everything the client needs, resolved from `sources.zoho_books` config."""

    organization_id: str
    client_id: str
    client_secret: str
    refresh_token: str
    api_base_url: str
    accounts_url: str
    token_cache_path: str
    max_calls_per_minute: int
    max_concurrency: int

    def __repr__(self) -> str:  # never show secrets, not even in a traceback's locals
        return (
            f"ZohoSettings(organization_id={self.organization_id!r}, "
            f"api_base_url={self.api_base_url!r}, accounts_url={self.accounts_url!r})"
        )


# ----- counters ---------------------------------------------------------------------------
@dataclass
class ApiStats:
    """What the run cost: calls per endpoint, 429s per code, the quota Zoho says is left.

    Shared by the request threads, so every update takes the lock."""

    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    quota_remaining: int | None = None
    quota_exhausted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_call(self, endpoint: str) -> None:
        with self._lock:
            self.calls[endpoint] += 1

    def observe(self, response: Response) -> None:
        remaining = response.headers.get("X-Rate-Limit-Remaining")
        if remaining is None or not remaining.strip().lstrip("-").isdigit():
            return
        with self._lock:
            # Concurrent answers arrive out of order: the lowest count is the latest.
            value = int(remaining)
            if self.quota_remaining is None or value < self.quota_remaining:
                self.quota_remaining = value

    def count_429(self, code: int | None) -> None:
        with self._lock:
            self.rate_limited[code or 0] += 1

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    @property
    def api_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())


def endpoint_label(method: str, url: str, api_base_url: str) -> str:
    """`GET /invoices/{id}` for `GET https://.../books/v3/invoices/123?...`."""
    base_path = urlsplit(api_base_url).path.rstrip("/")
    path = urlsplit(url).path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    return f"{method.upper()} {_ID_SEGMENT.sub('/{id}', path) or '/'}"


# ----- client-side limits -----------------------------------------------------------------
class RateLimiter:
    """At most `limit` calls started in any sliding `window` seconds (Zoho: 100/minute).

    Waiting here is cheaper than a 429: a refused call still counts against the
    organization's shared per-minute budget on some plans, and costs a backoff."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ConfigError(f"{env_var('max_calls_per_minute')} must be at least 1, got {limit}")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.window:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + self.window - now
                self.waited += wait
            self._sleep(max(wait, 0.001))


class ZohoAdapter(HTTPAdapter):
    """Applies Zoho's limits and the access token to every attempt of an API call."""

    def __init__(
        self,
        api_base_url: str,
        auth: ZohoAuth,
        limiter: RateLimiter,
        max_concurrency: int,
        stats: ApiStats,
    ) -> None:
        super().__init__(pool_maxsize=max(max_concurrency, 1) * 2)
        if max_concurrency < 1:
            raise ConfigError(
                f"{env_var('max_concurrency')} must be at least 1, got {max_concurrency}"
            )
        self.api_base_url = api_base_url
        self.auth = auth
        self.limiter = limiter
        self.stats = stats
        self._slots = threading.BoundedSemaphore(max_concurrency)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        if not (request.url or "").startswith(self.api_base_url):
            return super().send(request, *args, **kwargs)
        if self.stats.quota_exhausted:
            # Every further call would be refused and still logged by Zoho: stop asking.
            raise QuotaExhausted(_QUOTA_MESSAGE)
        self.limiter.acquire()
        with self._slots:
            request.headers["Authorization"] = f"Zoho-oauthtoken {self.auth.token()}"
            self.stats.count_call(
                endpoint_label(request.method or "GET", request.url or "", self.api_base_url)
            )
            response = super().send(request, *args, **kwargs)
        self.stats.observe(response)
        return response


_QUOTA_MESSAGE = (
    "Zoho's daily API quota of this organization is used up (429 code 45): what was "
    "fetched so far is loaded; run again after the quota resets (Zoho counts per day)"
)


# ----- responses --------------------------------------------------------------------------
class ZohoHTTPError(HTTPError):
    """A response that is not a success envelope; `response` stays attached so dlt's
    retry machinery (and `should_retry`) can look at it."""

    def __init__(self, response: Response, code: int | None, message: str, truncated: bool):
        super().__init__(
            f"Zoho answered HTTP {response.status_code} code {code}: {message}", response=response
        )
        self.code = code
        self.zoho_message = message
        self.truncated = truncated


def _streams(response: Response, stream: bool) -> bool:
    """Is this a success answer to a streamed call big enough to parse as it arrives?"""
    if not stream or response.status_code != 200:
        return False
    length = response.headers.get("Content-Length", "")
    return not length.isdigit() or int(length) > STREAMED_BODY_BYTES


def _lenient_json(content: bytes) -> Any:
    """Valid JSON orjson refuses: a lone surrogate escape (`"\\ud800"`, which Zoho can send
    inside a name) is legal JSON; the standard parser keeps it and loader/records.py makes
    it storable. None when the body is not JSON at all (cut short)."""
    try:
        return json.loads(content)
    except ValueError:
        return None


def check_envelope(response: Response, *args: Any, **kwargs: Any) -> Response:
    """requests response hook: parse once, keep the parsed body, raise for anything but
    `{"code": 0}` with HTTP 200.

    A big success answer to a `stream=True` call is left unread: `stream_records` checks
    its envelope while parsing it. Error answers (4xx/5xx) are small and read here, so
    they are retried and translated exactly like any other call's."""
    if _streams(response, bool(kwargs.get("stream"))):
        return response
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = _lenient_json(response.content)
    if response.status_code == 200 and isinstance(body, dict) and body.get("code", 0) == 0:
        # RESTClient and its paginator call response.json() several times per page: hand
        # them the body parsed above instead of parsing 200 records again each time.
        response.json = lambda **_: body  # type: ignore[method-assign]
        return response
    code = body.get("code") if isinstance(body, dict) else None
    message = str(body.get("message", "")) if isinstance(body, dict) else "unparseable body"
    # A 200 whose body does not parse was cut short after the headers promised it whole
    # (requests cannot notice when the framing itself is consistent): worth a retry.
    truncated = response.status_code == 200 and body is None
    raise ZohoHTTPError(response, code if isinstance(code, int) else None, message, truncated)


class _Envelope:
    """Follows a streamed answer's top level until its `code` (and, for an error, its
    `message`) is known. Zoho puts `code` first, so this parser normally reads only the
    first chunk; it keeps reading only while the code is still unknown."""

    def __init__(self) -> None:
        self._events = ijson.sendable_list()
        self._parser = ijson.parse_coro(self._events)
        self.code: int | None = None
        self.message: str | None = None

    @property
    def known(self) -> bool:
        return self.code == 0 or (self.code is not None and self.message is not None)

    def feed(self, chunk: bytes) -> None:
        if self.known:
            return
        self._parser.send(chunk)
        for prefix, event, value in self._events:
            if prefix == "code" and event == "number":
                self.code = int(value)
            elif prefix == "message" and event == "string":
                self.message = value
        del self._events[:]


def stream_records(response: Response, prefix: str, label: str) -> Iterator[dict[str, Any]]:
    """Records at `prefix` of a JSON answer, parsed as its body arrives (ijson picks its C
    backend, yajl2_c, when installed: the wheels ship it). Numbers come out as orjson's do
    (int, or float for fractions), so rows and their content hashes are the same as from
    `response.json()`.

    A 200 whose `code` is not 0 raises the same error `get` would. A body that breaks off
    (dropped connection, or JSON that ends or goes wrong part-way) raises BrokenAnswer."""
    records = ijson.sendable_list()
    parser = ijson.items_coro(records, prefix, use_float=True)
    envelope = _Envelope()
    count = 0
    try:
        # A small answer was read whole by the hook: iter_content then slices that.
        for chunk in response.iter_content(STREAM_CHUNK_BYTES):
            envelope.feed(chunk)
            if envelope.known and envelope.code != 0:
                break
            parser.send(chunk)
            # Zoho puts `code` first: records precede a known code only in an answer
            # ordered otherwise, and they are real rows of a success answer then.
            yield from records
            count += len(records)
            del records[:]
        else:
            parser.close()  # raises if the document is not complete
            yield from records
    except (ijson.JSONError, RequestException) as exc:
        raise BrokenAnswer(_broken_message(label, count, exc)) from exc
    if envelope.code not in (None, 0):  # no `code` at all passes, as in check_envelope
        error = ZohoHTTPError(response, envelope.code, envelope.message or "", truncated=False)
        raise translate_error(error)


def _broken_message(label: str, count: int, exc: BaseException) -> str:
    text = str(exc).strip()
    reason = text.splitlines()[0][:200] if text else "no detail"
    return (
        f"Zoho's answer to {label} broke off after {count:,} records "
        f"({type(exc).__name__}: {reason}); nothing is marked deleted from an incomplete "
        "answer: run the loader again (a dropped connection or a proxy timeout passes)"
    )


def make_retry_predicate(
    auth: ZohoAuth, stats: ApiStats
) -> Callable[[Response | None, BaseException | None], bool]:
    """Which failed attempts dlt's retrying session should repeat (with backoff).

    Retried: 5xx, 429 codes 44 (per-minute) and 1070 (concurrency), a truncated 200, and a
    401 once after dropping the token it was sent with. Not retried: 429 code 45 (the
    daily quota: sleeping does not help), other 4xx. Dropped connections and timeouts are
    retried by dlt's default exception list."""

    def should_retry(response: Response | None, exception: BaseException | None) -> bool:
        if response is None:
            return False  # connection errors and timeouts: dlt's default exception list
        status = response.status_code
        code = exception.code if isinstance(exception, ZohoHTTPError) else None
        retry = False
        if status >= 500:
            retry = True
        elif status == 429:
            stats.count_429(code)
            if code == CODE_DAILY_QUOTA:
                stats.quota_exhausted = True
            retry = code in RETRYABLE_429_CODES
        elif status == 200 and isinstance(exception, ZohoHTTPError) and exception.truncated:
            retry = True
        elif status == 401:
            request = response.request
            if not getattr(request, "_zoho_reauthorized", False):
                request._zoho_reauthorized = True  # type: ignore[union-attr]
                sent = (request.headers.get("Authorization") or "").rpartition(" ")[2]
                auth.invalidate(sent)
                retry = True
        if retry:
            stats.count_retry()
        return retry

    return should_retry


def translate_error(exc: ZohoHTTPError) -> Exception:
    """The final failure of a call, as the loader's own error with an actionable message."""
    status = exc.response.status_code if exc.response is not None else None
    if status == 429 and exc.code == CODE_DAILY_QUOTA:
        return QuotaExhausted(_QUOTA_MESSAGE)
    if status == 401 or exc.code == CODE_NOT_AUTHORIZED:
        return ConfigError(
            "Zoho answered 401 (not authorized) even with a fresh access token: check that "
            f"{env_var('data_center')} (or {env_var('api_base_url')}) is the account's data "
            "center and that the refresh token has the scopes ZohoBooks.settings.READ, "
            "ZohoBooks.contacts.READ and ZohoBooks.invoices.READ"
        )
    if status == 404 and exc.code == CODE_NOT_FOUND:
        return RecordNotFound(exc.zoho_message, status, exc.code)
    if exc.code == CODE_BAD_ORGANIZATION or (
        status == 400 and "organization" in exc.zoho_message.lower()
    ):
        return ConfigError(
            f"Zoho rejected the organization ({exc.zoho_message}): check "
            f"{env_var('organization_id')} (GET /organizations lists the account's ids)"
        )
    return ZohoApiError(str(exc), status, exc.code)


class ZohoPaginator(PageNumberPaginator):
    """Zoho pages: `page` from 1, stop when `page_context.has_more_page` is false. A
    response without page_context is a single page."""

    def __init__(self) -> None:
        super().__init__(
            base_page=1,
            page=1,
            page_param="page",
            total_path=None,
            has_more_path="page_context.has_more_page",
        )

    def _handle_missing_has_more(self, response_json: dict[str, Any]) -> None:
        self._has_next_page = False


# ----- the client -------------------------------------------------------------------------
def _post_form(session_factory: Callable[[], Any]) -> Callable[[str, dict[str, str]], tuple]:
    def post(url: str, form: dict[str, str]) -> tuple[int, Any]:
        response = session_factory().post(url, data=form)
        try:
            return response.status_code, orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return response.status_code, None

    return post


class ZohoClient:
    """Zoho Books API for one organization: pages of a list, one record, with stats."""

    def __init__(self, settings: ZohoSettings, stats: ApiStats | None = None) -> None:
        self.settings = settings
        self.stats = stats or ApiStats()
        # The token endpoint gets its own session: dlt's retries for 5xx and dropped
        # connections, none of the API limits, and never the API's 401 handling.
        token_http = Client(raise_for_status=False, request_timeout=REQUEST_TIMEOUT_SECONDS)
        self.auth = ZohoAuth(
            settings.accounts_url,
            settings.client_id,
            settings.client_secret,
            settings.refresh_token,
            TokenCache(settings.token_cache_path),
            _post_form(lambda: token_http.session),
        )
        self.limiter = RateLimiter(settings.max_calls_per_minute)
        adapter = ZohoAdapter(
            settings.api_base_url,
            self.auth,
            self.limiter,
            settings.max_concurrency,
            self.stats,
        )
        self._http = Client(
            raise_for_status=False,
            status_codes=(),  # 429 depends on its Zoho code: decided by the predicate
            retry_condition=make_retry_predicate(self.auth, self.stats),
            request_timeout=REQUEST_TIMEOUT_SECONDS,
            respect_retry_after_header=False,
        )
        # dlt's Client mounts its own adapter on every (per-thread) session it makes.
        self._http._adapter = adapter
        self._local = threading.local()

    @property
    def tokens_minted(self) -> int:
        return self.auth.tokens_minted

    def _rest(self) -> RESTClient:
        """One RESTClient per thread: dlt's sessions are per thread, requests' are not
        thread-safe."""
        rest = getattr(self._local, "rest", None)
        if rest is None:
            rest = self._local.rest = RESTClient(
                base_url=self.settings.api_base_url, session=self._http.session
            )
        return rest

    def _params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        return {"organization_id": self.settings.organization_id, **(params or {})}

    def pages(
        self,
        path: str,
        key: str,
        params: dict[str, Any] | None = None,
        prefetch: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """The records of a list endpoint, one page (up to 200) at a time.

        `prefetch` fetches the next page while the caller works on this one (for listings
        that are always read to the end): the wait for Zoho and the work on a page
        overlap. Still one call at a time per listing, under the same limits."""
        pages = self._pages(path, key, params)
        return _read_ahead(pages) if prefetch else pages

    def _pages(
        self, path: str, key: str, params: dict[str, Any] | None
    ) -> Iterator[list[dict[str, Any]]]:
        iterator = self._rest().paginate(
            path,
            params=self._params({"per_page": PER_PAGE, **(params or {})}),
            paginator=ZohoPaginator(),
            data_selector=key,
            hooks={"response": [check_envelope]},
        )
        while True:
            try:
                page = next(iterator)
            except StopIteration:
                return
            except ZohoHTTPError as exc:
                raise translate_error(exc) from exc
            yield list(page)

    def get(self, path: str, key: str, params: dict[str, Any] | None = None) -> Any:
        """`body[key]` of a single GET (a detail record or a short list)."""
        try:
            response = self._rest().get(
                path, params=self._params(params), hooks={"response": [check_envelope]}
            )
        except ZohoHTTPError as exc:
            raise translate_error(exc) from exc
        return response.json().get(key)

    def stream(
        self, path: str, prefix: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The records at `prefix` (ijson's notation: `pricebook.pricebook_items.item`) of
        a single GET, one at a time as the body arrives: neither the body nor the parsed
        document is ever whole in memory. The call is sent at the first `next()`.

        Same call path as `get` (limits, signing, counting, retries, error translation);
        a body that breaks off or stops being JSON raises BrokenAnswer after the records
        before the break, so a caller must treat what it got as incomplete."""
        try:
            response = self._rest().get(
                path,
                params=self._params(params),
                hooks={"response": [check_envelope]},
                stream=True,
            )
        except ZohoHTTPError as exc:
            raise translate_error(exc) from exc
        with response:  # back to the pool, or closed when the body was not read to its end
            yield from stream_records(response, prefix, f"GET {path}")


_DONE = object()


def _read_ahead(pages: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """Iterate `pages` in a helper thread, at most `depth` pages ahead of the consumer.

    Errors reach the consumer in order (after the pages before them); a consumer that
    stops early stops the helper after the page it is fetching."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slots.put(("page", page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("done", _DONE))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(("error", exc))

    thread = threading.Thread(target=produce, name="zoho-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "page":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        while thread.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)
