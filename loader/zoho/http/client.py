"""`ZohoClient`: the Zoho Books API of one organization, as pages of a list, one record,
or a streamed list, with what it cost in `stats`. The parts it is built from live beside
it: auth.py (tokens), session.py (signing, limits, retries), envelope.py (Zoho's answer
format and errors), limits.py (counters, rate limit)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from requests import Response

from loader.zoho.constants import CONNECT_TIMEOUT_SECONDS, REQUEST_TIMEOUT_SECONDS
from loader.zoho.http.auth import TokenCache, ZohoAuth
from loader.zoho.http.deadline import RETRY_DEADLINE_SECONDS, RetryDeadline
from loader.zoho.http.envelope import (
    ZohoHTTPError,
    ZohoPaginator,
    check_envelope,
    stream_records,
    translate_error,
)
from loader.zoho.http.limits import ApiStats, RateLimiter
from loader.zoho.http.session import (
    UNREACHABLE_ERRORS,
    ZohoAdapter,
    ZohoTokenAuth,
    form_poster,
    make_retry_predicate,
    mount,
    unanswered_predicate,
    unreachable,
)
from loader.zoho.modules import PAGE_SIZE

T = TypeVar("T")


@dataclass(frozen=True)
class ZohoSettings:
    """Everything the client needs, resolved from `sources.zoho_books` config.

    The retry settings left at None come from dlt's `[runtime]` config
    (`RUNTIME__REQUEST_MAX_ATTEMPTS`, `..._BACKOFF_FACTOR`, `..._MAX_RETRY_DELAY`); a call
    without an answer is retried within `retry_deadline` seconds (deadline.py)."""

    organization_id: str
    client_id: str
    client_secret: str
    refresh_token: str
    api_base_url: str
    accounts_url: str
    token_cache_path: str
    max_calls_per_minute: int
    max_concurrency: int
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    retry_deadline: float = RETRY_DEADLINE_SECONDS
    request_max_attempts: int | None = None
    request_backoff_factor: float | None = None
    request_max_retry_delay: float | None = None

    def __repr__(self) -> str:  # never show secrets, not even in a traceback's locals
        return (
            f"ZohoSettings(organization_id={self.organization_id!r}, "
            f"api_base_url={self.api_base_url!r}, accounts_url={self.accounts_url!r})"
        )

    @property
    def timeouts(self) -> tuple[float, float]:
        """requests' (connect, read) timeouts."""
        return (min(self.connect_timeout, self.request_timeout), self.request_timeout)

    def retry_deadline_policy(self, retry: dict[str, Any]) -> RetryDeadline:
        """The time bound of retries without an answer, with the session's backoff."""
        return RetryDeadline(
            max_attempts=int(retry["request_max_attempts"]),
            backoff_factor=float(retry["request_backoff_factor"]),
            max_delay=float(retry["request_max_retry_delay"]),
            connect_timeout=self.timeouts[0],
            read_timeout=self.timeouts[1],
            deadline_seconds=self.retry_deadline,
        )

    def retry_options(self) -> dict[str, Any]:
        """dlt Client's retry arguments: those set here, the others from dlt's config."""
        runtime = resolve_configuration(RuntimeConfiguration())
        return {
            "request_max_attempts": self.request_max_attempts or runtime.request_max_attempts,
            "request_backoff_factor": _first(
                self.request_backoff_factor, runtime.request_backoff_factor
            ),
            "request_max_retry_delay": _first(
                self.request_max_retry_delay, runtime.request_max_retry_delay
            ),
        }


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value


class ZohoClient:
    """Zoho Books API for one organization: pages of a list, one record, with stats."""

    def __init__(self, settings: ZohoSettings, stats: ApiStats | None = None) -> None:
        self.settings = settings
        self.stats = stats or ApiStats()
        retry = settings.retry_options()
        self.attempts = int(retry["request_max_attempts"])
        self.deadline = settings.retry_deadline_policy(retry)
        token_deadline = settings.retry_deadline_policy(retry)
        # The token endpoint gets its own session: dlt's retries for 5xx, ours for no
        # answer, none of the API limits, and never the API's 401 handling.
        token_http = Client(
            raise_for_status=False,
            request_timeout=settings.timeouts,
            exceptions=(),  # no answer: retried within the deadline (unanswered_predicate)
            retry_condition=unanswered_predicate(token_deadline),
            **retry,
        )
        self.auth = ZohoAuth(
            settings.accounts_url,
            settings.client_id,
            settings.client_secret,
            settings.refresh_token,
            TokenCache(Path(settings.token_cache_path)),
            form_poster(
                lambda: token_http.session, token_deadline.attempts_made, settings.timeouts
            ),
        )
        self.limiter = RateLimiter(settings.max_calls_per_minute)
        self._adapter = ZohoAdapter(
            settings.api_base_url, self.limiter, settings.max_concurrency, self.stats
        )
        self._signer = ZohoTokenAuth(self.auth, settings.api_base_url, self.stats)
        self._http = Client(
            raise_for_status=False,
            status_codes=(),  # 429 depends on its Zoho code: decided by the predicate
            exceptions=(),  # no answer: retried within the deadline (make_retry_predicate)
            retry_condition=make_retry_predicate(self.stats, self.deadline),
            request_timeout=settings.timeouts,
            respect_retry_after_header=False,
            **retry,
        )
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def call_pool(self) -> ThreadPoolExecutor:
        """The client's `max_concurrency` threads for detail calls, made once per client.

        One pool for the run rather than one per batch of details: every new thread builds
        its own HTTP session (sessions are per thread) and its own allocator arenas, and
        a 100k-invoice backfill would start thousands of them (issue 25: the loader's RSS
        grew with every detail read). Idle threads end with the client (the executor's
        own clean-up when it is garbage-collected, or at exit)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.settings.max_concurrency, thread_name_prefix="zoho-call"
                )
            return self._pool

    @property
    def tokens_minted(self) -> int:
        return self.auth.tokens_minted

    def _rest(self) -> RESTClient:
        """One RESTClient per thread: dlt's sessions are per thread, requests' are not
        thread-safe. Each session signs with ZohoTokenAuth and sends through the adapter."""
        rest = getattr(self._local, "rest", None)
        if rest is None:
            session = mount(self._http.session, self._adapter, self.settings.api_base_url)
            session.auth = self._signer
            rest = self._local.rest = RESTClient(
                base_url=self.settings.api_base_url, session=session
            )
        return rest

    def _params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        return {"organization_id": self.settings.organization_id, **(params or {})}

    def _call(self, path: str, send: Callable[[], T]) -> T:
        """Run one call (or the next page), turning its final failure into a loader error."""
        try:
            return send()
        except ZohoHTTPError as exc:
            raise translate_error(exc) from exc
        except UNREACHABLE_ERRORS as exc:
            raise unreachable(
                exc,
                self.settings.api_base_url + path,
                "api_base_url",
                self.deadline.attempts_made(),
                self.settings.timeouts,
            ) from exc

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
        return read_ahead(pages) if prefetch else pages

    def _pages(
        self, path: str, key: str, params: dict[str, Any] | None
    ) -> Iterator[list[dict[str, Any]]]:
        iterator = self._rest().paginate(
            path,
            params=self._params({"per_page": PAGE_SIZE, **(params or {})}),
            paginator=ZohoPaginator(),
            data_selector=key,
            hooks=cast(Any, {"response": [check_envelope]}),
        )
        done = object()
        while (page := self._call(path, lambda: next(iterator, done))) is not done:
            yield list(page)  # type: ignore[call-overload]

    def get(self, path: str, key: str, params: dict[str, Any] | None = None) -> Any:
        """`body[key]` of a single GET (a detail record or a short list)."""
        response = self._call(path, lambda: self._get(path, params, stream=False))
        return response.json().get(key)

    def _get(self, path: str, params: dict[str, Any] | None, stream: bool) -> Response:
        return self._rest().get(
            path, params=self._params(params), hooks={"response": [check_envelope]}, stream=stream
        )

    def stream(
        self, path: str, prefix: str, params: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The records at `prefix` (ijson's notation: `pricebook.pricebook_items.item`) of
        a single GET, one at a time as the body arrives: neither the body nor the parsed
        document is ever whole in memory. The call is sent at the first `next()`.

        Same call path as `get` (limits, signing, counting, retries, error translation);
        a body that breaks off or stops being JSON raises BrokenAnswer after the records
        before the break, so a caller must treat what it got as incomplete."""
        response = self._call(path, lambda: self._get(path, params, stream=True))
        with response:  # back to the pool, or closed when the body was not read to its end
            yield from stream_records(response, prefix, f"GET {path}")


_DONE = object()


def read_ahead(pages: Iterator[Any], depth: int = 1) -> Iterator[Any]:
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
