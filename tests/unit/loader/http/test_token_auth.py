"""Access tokens: cached across runs in a private file, minted only when needed, and
token-endpoint errors turned into messages that name the fix."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from loader.errors import ConfigError, TokenThrottled, ZohoApiError
from loader.zoho.http.auth import TokenCache, ZohoAuth, cache_key

SECRET = "very-secret-client-secret"
REFRESH = "1000.refresh-token-value"


class FakeTokenEndpoint:
    """Counts grants and answers like Zoho's accounts server."""

    def __init__(self, answer: tuple[int, dict] | None = None) -> None:
        self.grants = 0
        self.answer = answer
        self.forms: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, url: str, form: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.forms.append(form)
            if self.answer is not None:
                return self.answer
            self.grants += 1
            return 200, {"access_token": f"token-{self.grants}", "expires_in": 3600}


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_auth(tmp_path: Path, endpoint, clock=None, client_id: str = "client-1") -> ZohoAuth:
    return ZohoAuth(
        "https://accounts.zoho.eu",
        client_id,
        SECRET,
        REFRESH,
        TokenCache(tmp_path / "cache" / "zoho_token.json"),
        endpoint,
        clock or Clock(),
    )


def test_first_token_is_minted_with_the_refresh_grant(tmp_path):
    endpoint = FakeTokenEndpoint()
    assert make_auth(tmp_path, endpoint).token() == "token-1"
    assert endpoint.forms[0]["grant_type"] == "refresh_token"
    assert endpoint.forms[0]["refresh_token"] == REFRESH


def test_cached_token_is_reused_by_the_next_run_without_minting(tmp_path):
    endpoint, clock = FakeTokenEndpoint(), Clock()
    make_auth(tmp_path, endpoint, clock).token()
    clock.now += 3000  # 50 minutes later, a new process
    second = make_auth(tmp_path, endpoint, clock)
    assert second.token() == "token-1"
    assert endpoint.grants == 1 and second.tokens_minted == 0


def test_token_within_five_minutes_of_expiry_is_replaced(tmp_path):
    endpoint, clock = FakeTokenEndpoint(), Clock()
    make_auth(tmp_path, endpoint, clock).token()
    clock.now += 3600 - 299
    assert make_auth(tmp_path, endpoint, clock).token() == "token-2"


def test_cache_file_is_readable_only_by_its_owner(tmp_path):
    make_auth(tmp_path, FakeTokenEndpoint()).token()
    path = tmp_path / "cache" / "zoho_token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_cache_file_holds_no_secret_or_refresh_token(tmp_path):
    make_auth(tmp_path, FakeTokenEndpoint()).token()
    text = (tmp_path / "cache" / "zoho_token.json").read_text()
    assert SECRET not in text and REFRESH not in text


def test_another_client_does_not_reuse_the_cached_token(tmp_path):
    endpoint = FakeTokenEndpoint()
    make_auth(tmp_path, endpoint, client_id="client-1").token()
    assert make_auth(tmp_path, endpoint, client_id="client-2").token() == "token-2"
    # and both stay cached side by side
    assert make_auth(tmp_path, endpoint, client_id="client-1").token() == "token-1"


def test_cache_key_differs_per_accounts_server_and_refresh_token():
    base = cache_key("https://accounts.zoho.com", "c", "r1")
    assert base != cache_key("https://accounts.zoho.eu", "c", "r1")
    assert base != cache_key("https://accounts.zoho.com", "c", "r2")
    assert "r1" not in base


def test_401_refresh_mints_once_for_all_threads_that_saw_the_stale_token(tmp_path):
    endpoint = FakeTokenEndpoint()
    auth = make_auth(tmp_path, endpoint)
    stale = auth.token()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        auth.invalidate(stale)
        auth.token()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert endpoint.grants == 2
    assert auth.token() == "token-2"


def test_invalidating_an_already_replaced_token_keeps_the_new_one(tmp_path):
    endpoint = FakeTokenEndpoint()
    auth = make_auth(tmp_path, endpoint)
    stale = auth.token()
    auth.invalidate(stale)
    fresh = auth.token()
    auth.invalidate(stale)  # a late thread reporting the old token
    assert auth.token() == fresh and endpoint.grants == 2


def test_invalid_client_names_client_settings_and_data_center(tmp_path):
    auth = make_auth(tmp_path, FakeTokenEndpoint((200, {"error": "invalid_client"})))
    with pytest.raises(ConfigError) as raised:
        auth.token()
    message = str(raised.value)
    assert "SOURCES__ZOHO_BOOKS__CLIENT_ID" in message
    assert "SOURCES__ZOHO_BOOKS__CLIENT_SECRET" in message
    assert "DATA_CENTER" in message
    assert SECRET not in message


def test_invalid_code_names_the_refresh_token_setting(tmp_path):
    auth = make_auth(tmp_path, FakeTokenEndpoint((200, {"error": "invalid_code"})))
    with pytest.raises(ConfigError, match="SOURCES__ZOHO_BOOKS__REFRESH_TOKEN") as raised:
        auth.token()
    assert REFRESH not in str(raised.value)


def test_access_denied_says_to_wait_ten_minutes(tmp_path):
    body = {"error": "Access Denied", "error_description": "You have made too many requests"}
    auth = make_auth(tmp_path, FakeTokenEndpoint((400, body)))
    with pytest.raises(TokenThrottled, match="wait 10 minutes"):
        auth.token()


def test_unknown_token_error_is_reported_without_credentials(tmp_path):
    auth = make_auth(tmp_path, FakeTokenEndpoint((500, {})))
    with pytest.raises(ZohoApiError) as raised:
        auth.token()
    assert SECRET not in str(raised.value) and REFRESH not in str(raised.value)


def test_failed_grant_is_not_counted_or_cached(tmp_path):
    auth = make_auth(tmp_path, FakeTokenEndpoint((200, {"error": "invalid_code"})))
    with pytest.raises(ConfigError):
        auth.token()
    assert auth.tokens_minted == 0
    assert not (tmp_path / "cache" / "zoho_token.json").exists()
