"""Counters, rate limits and OAuth tokens: the parts of Zoho a loader must be polite to.

All of it is shared by the server's request threads and read by tests, so every piece is
guarded by its own lock and the public readers return snapshots.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import SimConfig


class Counters:
    """What happened, for assertions and benchmarks: calls, tokens, 429s, faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: Counter[str] = Counter()
            self._rate_limited: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()
            self._statuses: Counter[int] = Counter()
            self._api_calls = 0
            self._tokens_minted = 0
            self._token_errors: Counter[str] = Counter()
            self._duplicates = 0

    def call(self, endpoint: str, is_api: bool) -> None:
        with self._lock:
            self._calls[endpoint] += 1
            if is_api:
                self._api_calls += 1

    def status(self, status: int) -> None:
        with self._lock:
            self._statuses[status] += 1

    def rate_limited(self, code: int) -> None:
        with self._lock:
            self._rate_limited[code] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def token_minted(self) -> None:
        with self._lock:
            self._tokens_minted += 1

    def token_error(self, error: str) -> None:
        with self._lock:
            self._token_errors[error] += 1

    def duplicate(self) -> None:
        with self._lock:
            self._duplicates += 1

    def snapshot(self) -> dict[str, Any]:
        """A copy: ``calls`` per endpoint, ``api_calls``, ``tokens_minted``,
        ``rate_limited`` per Zoho code, ``faults`` per kind, ``statuses`` per HTTP status,
        ``token_errors`` per OAuth error, ``duplicates`` (records repeated across pages)."""
        with self._lock:
            return {
                "calls": dict(self._calls),
                "api_calls": self._api_calls,
                "tokens_minted": self._tokens_minted,
                "rate_limited": dict(self._rate_limited),
                "faults": dict(self._faults),
                "statuses": dict(self._statuses),
                "token_errors": dict(self._token_errors),
                "duplicates": self._duplicates,
            }


@dataclass(frozen=True)
class Verdict:
    """Outcome of the limit checks: ``code`` is 0 when the call may proceed."""

    code: int
    remaining: int
    reset_seconds: int


class RateLimiter:
    """Per-organisation limits: daily quota (45), concurrency (1070), per window (44).

    The per-minute limit is a sliding window over accepted calls; calls refused with a
    429 do not use quota (Zoho does not document either choice).
    """

    def __init__(self, config: SimConfig, now: Callable[[], float]) -> None:
        self._config = config
        self._now = now
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._in_flight = 0
        self._day_start = now()
        self._used_today = 0
        self._past_days: list[int] = []

    def _roll_day(self, now: float) -> None:
        """Quota days follow each other back to back from the simulator's start (or the
        last ``reset_daily_quota``), so ``advance(900)`` 96 times is exactly one day."""
        window = self._config.daily_window_seconds
        elapsed = now - self._day_start
        if elapsed >= window:
            days = int(elapsed // window)
            self._past_days.append(self._used_today)
            self._past_days.extend([0] * (days - 1))
            self._day_start += days * window
            self._used_today = 0

    def reset_daily_quota(self) -> None:
        """Start a new quota day now (the current day's use goes to ``past_days``)."""
        with self._lock:
            self._past_days.append(self._used_today)
            self._day_start = self._now()
            self._used_today = 0

    def seconds_to_next_day(self) -> float:
        with self._lock:
            now = self._now()
            self._roll_day(now)
            return self._day_start + self._config.daily_window_seconds - now

    def usage(self) -> dict[str, Any]:
        """``used_today``, ``remaining``, ``reset_seconds``, ``past_days`` (calls each
        finished quota day used, oldest first)."""
        with self._lock:
            now = self._now()
            self._roll_day(now)
            cfg = self._config
            return {
                "used_today": self._used_today,
                "remaining": max(0, cfg.daily_quota - self._used_today),
                "reset_seconds": max(0, int(self._day_start + cfg.daily_window_seconds - now)),
                "past_days": list(self._past_days),
            }

    def peek(self) -> Verdict:
        """The quota headers for an answer that uses no quota (401, 400, 404)."""
        usage = self.usage()
        return Verdict(0, usage["remaining"], usage["reset_seconds"])

    def reset_window(self) -> None:
        with self._lock:
            self._recent.clear()

    def quota_remaining(self) -> int:
        with self._lock:
            self._roll_day(self._now())
            return max(0, self._config.daily_quota - self._used_today)

    def acquire(self) -> Verdict:
        """Admit one API call (then ``release`` it) or say which 429 code refuses it."""
        cfg = self._config
        with self._lock:
            now = self._now()
            self._roll_day(now)
            reset = max(0, int(self._day_start + cfg.daily_window_seconds - now))
            remaining = max(0, cfg.daily_quota - self._used_today)
            if remaining <= 0:
                return Verdict(45, 0, reset)
            if self._in_flight >= cfg.max_concurrent:
                return Verdict(1070, remaining, reset)
            window_start = now - cfg.per_minute_window_seconds
            while self._recent and self._recent[0] <= window_start:
                self._recent.popleft()
            if len(self._recent) >= cfg.per_minute:
                return Verdict(44, remaining, reset)
            self._recent.append(now)
            self._in_flight += 1
            self._used_today += 1
            return Verdict(0, remaining - 1, reset)

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        return self._in_flight


class TokenError(Exception):
    """An OAuth refusal: ``status`` and the JSON body Zoho's accounts server sends."""

    def __init__(self, status: int, body: dict[str, str]) -> None:
        super().__init__(body.get("error", "error"))
        self.status = status
        self.body = body


class TokenStore:
    """Mints and checks access tokens; throttles grants per refresh token."""

    def __init__(
        self,
        config: SimConfig,
        now: Callable[[], float],
        client_id: str,
        client_secret: str,
        refresh_tokens: list[str],
    ) -> None:
        self._config = config
        self._now = now
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = set(refresh_tokens)
        self._tokens: dict[str, float] = {}
        self._grants: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def grant(self, params: dict[str, str]) -> tuple[str, int]:
        """Check a refresh_token grant and mint ``(access_token, expires_in)``.

        Raises TokenError with Zoho's answers: HTTP 200 ``invalid_client`` /
        ``invalid_code`` (Zoho reports these with status 200), HTTP 400 "Access Denied"
        beyond the grant limit.
        """
        if params.get("grant_type") != "refresh_token":
            raise TokenError(200, {"error": "unsupported_grant_type"})
        if (
            params.get("client_id") != self.client_id
            or params.get("client_secret") != self.client_secret
        ):
            raise TokenError(200, {"error": "invalid_client"})
        refresh = params.get("refresh_token", "")
        if refresh not in self.refresh_tokens:
            raise TokenError(200, {"error": "invalid_code"})
        cfg = self._config
        with self._lock:
            now = self._now()
            recent = self._grants.setdefault(refresh, deque())
            while recent and recent[0] <= now - cfg.grant_window_seconds:
                recent.popleft()
            if len(recent) >= cfg.grants_per_refresh_token:
                raise TokenError(
                    400,
                    {
                        "error": "Access Denied",
                        "error_description": "You have made too many requests continuously. "
                        "Please try again after some time.",
                    },
                )
            recent.append(now)
        return self.issue()

    def issue(self) -> tuple[str, int]:
        """Mint a token without the grant checks (tests that need one without HTTP)."""
        lifetime = self._config.token_lifetime_seconds
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        with self._lock:
            self._tokens[token] = self._now() + lifetime
        return token, lifetime

    def is_valid(self, token: str) -> bool:
        expiry = self._tokens.get(token)
        return expiry is not None and self._now() < expiry

    def expire_all(self) -> None:
        """Make every issued access token expired (the next call gets 401 code 57)."""
        with self._lock:
            self._tokens.clear()

    def reset_grants(self) -> None:
        with self._lock:
            self._grants.clear()

    @property
    def live_tokens(self) -> int:
        now = self._now()
        return sum(1 for expiry in self._tokens.values() if expiry > now)
