"""Zoho OAuth: access tokens from the refresh-token grant, cached in a file across runs.

Zoho allows 10 access tokens per refresh token per 10 minutes, and a run every 15 minutes
would mint one each time without a cache. So the token is kept in a 0600 file, keyed by
accounts server + client id + a digest of the refresh token (a different organization or
credential never reuses it), and reused until 5 minutes before it expires. On a 401 the
client asks for a new token once (`invalidate` + `token`); threads that saw the same
stale token share the one refresh.

Nothing here logs or formats a token or a secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loader.errors import ConfigError, TokenThrottled, ZohoApiError
from loader.zoho.constants import TOKEN_REFRESH_MARGIN_SECONDS, env_var

log = logging.getLogger(__name__)

TokenPoster = Callable[[str, dict[str, str]], tuple[int, Any]]
"""POST a form to a URL and return (HTTP status, parsed JSON body or None)."""


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_at: float  # epoch seconds

    def usable(self, now: float, margin: float = TOKEN_REFRESH_MARGIN_SECONDS) -> bool:
        return now < self.expires_at - margin


def cache_key(accounts_url: str, client_id: str, refresh_token: str) -> str:
    """Which credential a cached token belongs to, without storing the refresh token."""
    digest = hashlib.sha256(refresh_token.encode()).hexdigest()[:16]
    return f"{accounts_url.rstrip('/')}|{client_id}|{digest}"


class TokenCache:
    """A JSON file of access tokens by credential key, readable only by its owner."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read_all(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError, OSError):
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, key: str) -> AccessToken | None:
        entry = self._read_all().get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return AccessToken(str(entry["access_token"]), float(entry["expires_at"]))
        except (TypeError, KeyError, ValueError):
            return None

    def save(self, key: str, token: AccessToken, now: float | None = None) -> None:
        """Store `token` under `key`, dropping expired entries of other credentials."""
        now = time.time() if now is None else now
        data = {k: v for k, v in self._read_all().items() if _entry_alive(v, now)}
        data[key] = {"access_token": token.access_token, "expires_at": token.expires_at}
        self._write(data)

    def forget(self, key: str) -> None:
        data = self._read_all()
        if data.pop(key, None) is not None:
            self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        """Atomic replace of a file created with mode 0600: never readable by others, not
        even for a moment, and a crash leaves the old file or the new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(data, handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _entry_alive(entry: Any, now: float) -> bool:
    try:
        return float(entry["expires_at"]) > now
    except (TypeError, KeyError, ValueError):
        return False


def token_error_message(status: int, body: Any) -> Exception:
    """Turn an error answer of the token endpoint into an error that says what to fix.

    Zoho reports bad credentials with HTTP 200 and an `error` key, and throttling with
    HTTP 400 "Access Denied"."""
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    if error == "invalid_client":
        return ConfigError(
            "Zoho rejected the OAuth client (invalid_client): check "
            f"{env_var('client_id')}/{env_var('client_secret')} and "
            f"{env_var('data_center')} (a client only exists in its own data center)"
        )
    if error == "invalid_code":
        return ConfigError(
            "Zoho rejected the refresh token (invalid_code): it is wrong, revoked or from "
            f"another data center; create a new one and set {env_var('refresh_token')}"
        )
    if error == "Access Denied" or "too many requests" in str(body).lower():
        return TokenThrottled(
            "Zoho is throttling access-token requests for this refresh token (Access "
            "Denied: more than 10 in 10 minutes): wait 10 minutes and run again"
        )
    if error:
        return ZohoApiError(f"Zoho token endpoint answered error {error!r} (HTTP {status})")
    return ZohoApiError(f"Zoho token endpoint answered HTTP {status} without an access token")


class ZohoAuth:
    """Hands out a valid access token: memory, then the cache file, then a refresh grant."""

    def __init__(
        self,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        cache: TokenCache,
        post: TokenPoster,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts_url = accounts_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._cache = cache
        self._post = post
        self._clock = clock
        self._key = cache_key(self.accounts_url, client_id, refresh_token)
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self.tokens_minted = 0

    def token(self) -> str:
        """A token usable for at least the refresh margin; mints one only when needed."""
        with self._lock:
            now = self._clock()
            if self._current is None or not self._current.usable(now):
                cached = self._cache.load(self._key)
                if cached is not None and cached.usable(now):
                    self._current = cached
                else:
                    self._current = self._mint()
            return self._current.access_token

    def invalidate(self, stale_token: str | None) -> None:
        """Forget `stale_token` (Zoho answered 401 to it). If another thread has already
        replaced it, keep the replacement: one refresh serves them all."""
        with self._lock:
            if self._current is not None and self._current.access_token == stale_token:
                self._current = None
                cached = self._cache.load(self._key)
                if cached is not None and cached.access_token == stale_token:
                    self._cache.forget(self._key)

    def _mint(self) -> AccessToken:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        status, body = self._post(f"{self.accounts_url}/oauth/v2/token", form)
        if status != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise token_error_message(status, body if isinstance(body, dict) else {})
        self.tokens_minted += 1
        expires_in = float(body.get("expires_in") or 3600)
        token = AccessToken(str(body["access_token"]), self._clock() + expires_in)
        self._cache.save(self._key, token, self._clock())
        log.info("minted a new Zoho access token (valid %d s)", int(expires_in))
        return token
