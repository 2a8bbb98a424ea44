"""Zoho's limits as the client sees them: what each run cost (`ApiStats`, fed by the
`X-Rate-Limit-*` headers of every answer) and the client-side per-minute limit
(`RateLimiter`) that keeps the loader under Zoho's 100 calls a minute."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from requests import Response

from loader import clock
from loader.errors import ConfigError
from loader.zoho.constants import env_var

_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")

QUOTA_MESSAGE = (
    "Zoho's daily API quota of this organization is used up (429 code 45): what was "
    "fetched so far is loaded; run again after the quota resets (Zoho counts per day)"
)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = (headers.get(name) or "").strip()
    return int(value) if value.lstrip("-").isdigit() else None


@dataclass
class ApiStats:
    """What the run cost: calls per endpoint, 429s per code, and Zoho's daily quota as its
    headers state it (`X-Rate-Limit-Limit`, `-Remaining`, `-Reset`).

    Shared by the request threads, so every update takes the lock."""

    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    quota_limit: int | None = None
    quota_remaining: int | None = None
    quota_reset_at: datetime | None = None
    """When Zoho's daily quota window ends (UTC), from the latest answer's
    `X-Rate-Limit-Reset` (seconds from then)."""
    quota_exhausted: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_call(self, endpoint: str) -> None:
        with self._lock:
            self.calls[endpoint] += 1

    def observe(self, response: Response, now: Callable[[], datetime] | None = None) -> None:
        """Take the quota from one answer's headers. Concurrent answers arrive out of
        order: the one with the lowest `Remaining` is the latest, and its reset time wins."""
        headers = response.headers
        remaining = _header_int(headers, "X-Rate-Limit-Remaining")
        limit = _header_int(headers, "X-Rate-Limit-Limit")
        reset = _header_int(headers, "X-Rate-Limit-Reset")
        with self._lock:
            if limit is not None:
                self.quota_limit = limit
            if remaining is None:
                return
            if self.quota_remaining is None or remaining <= self.quota_remaining:
                self.quota_remaining = remaining
                if reset is not None:
                    self.quota_reset_at = _reset_at(reset, now)

    def note_daily_quota(
        self, response: Response, now: Callable[[], datetime] | None = None
    ) -> None:
        """A 429 code 45: the quota is used up until the reset this answer states."""
        reset = _header_int(response.headers, "X-Rate-Limit-Reset")
        with self._lock:
            self.quota_exhausted = True
            self.quota_remaining = 0
            if reset is not None:
                self.quota_reset_at = _reset_at(reset, now)

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


def _reset_at(seconds: int, now: Callable[[], datetime] | None) -> datetime:
    current = now() if now is not None else clock.now()
    return current + timedelta(seconds=max(seconds, 0))


def endpoint_label(method: str, url: str, api_base_url: str) -> str:
    """`GET /invoices/{id}` for `GET https://.../books/v3/invoices/123?...`."""
    base_path = urlsplit(api_base_url).path.rstrip("/")
    path = urlsplit(url).path
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :]
    return f"{method.upper()} {_ID_SEGMENT.sub('/{id}', path) or '/'}"


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
