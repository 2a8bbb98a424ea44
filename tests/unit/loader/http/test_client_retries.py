"""The HTTP side: client-side rate limit, which failures are retried, and the messages of
the ones that are not."""

from __future__ import annotations

import json

import pytest
import requests

from loader.errors import ConfigError, QuotaExhausted, RecordNotFound, ZohoApiError
from loader.zoho.http import ZohoSettings
from loader.zoho.http.deadline import RetryDeadline
from loader.zoho.http.envelope import ZohoHTTPError, check_envelope, translate_error
from loader.zoho.http.limits import ApiStats, RateLimiter, endpoint_label
from loader.zoho.http.session import make_retry_predicate


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def deadline(clock: FakeClock | None = None, **options) -> RetryDeadline:
    """The time bound of unanswered calls with dlt's defaults (8 attempts, 1, 2, 4 ... s)."""
    settings = {
        "max_attempts": 8,
        "backoff_factor": 1.0,
        "max_delay": 60.0,
        "connect_timeout": 10.0,
        "read_timeout": 20.0,
        **options,
    }
    return RetryDeadline(**settings, clock=clock or FakeClock())


def test_limiter_lets_the_limit_through_without_waiting():
    clock = FakeClock()
    limiter = RateLimiter(5, window=60, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert clock.slept == []


def test_limiter_makes_the_call_over_the_limit_wait_for_the_window():
    clock = FakeClock()
    limiter = RateLimiter(3, window=60, clock=clock, sleep=clock.sleep)
    for second in range(3):
        clock.now = float(second)
        limiter.acquire()
    limiter.acquire()  # the 4th call within a minute
    assert sum(clock.slept) == pytest.approx(60.0 - 2.0)  # until the first call is 60 s old


def test_limiter_never_starts_more_than_the_limit_in_any_window():
    clock = FakeClock()
    limiter = RateLimiter(10, window=60, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(35):
        limiter.acquire()
        starts.append(clock.now)
        clock.now += 0.5
    for start in starts:
        assert sum(1 for s in starts if start <= s < start + 60) <= 10


def test_limiter_rejects_a_zero_limit_naming_the_setting():
    with pytest.raises(ConfigError, match="SOURCES__ZOHO_BOOKS__MAX_CALLS_PER_MINUTE"):
        RateLimiter(0)


def response(status: int, body: object, token: str = "tok-1") -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    prepared = requests.Request("GET", "https://x/books/v3/items").prepare()
    prepared.headers["Authorization"] = f"Zoho-oauthtoken {token}"
    resp.request = prepared
    return resp


def failure(status: int, body: object, token: str = "tok-1") -> ZohoHTTPError:
    with pytest.raises(ZohoHTTPError) as raised:
        check_envelope(response(status, body, token))
    return raised.value


def test_success_envelope_passes_and_is_parsed_once():
    resp = check_envelope(response(200, {"code": 0, "items": [{"item_id": "1"}]}))
    assert resp.json()["items"] == [{"item_id": "1"}]
    assert resp.json() is resp.json()  # the paginator and RESTClient read the same parse
    assert resp.status_code == 200 and resp.request.url == "https://x/books/v3/items"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"code": 1000, "message": "Internal Error"}),
        (503, b"<html>503 Service Temporarily Unavailable</html>"),
        (429, {"code": 44, "message": "too many requests per minute"}),
        (429, {"code": 1070, "message": "too many concurrent calls"}),
        (200, b'{"code":0,"message":"success","items":[{"item_id":"1'),
    ],
    ids=["5xx", "html-503", "429-per-minute", "429-concurrency", "truncated-200"],
)
def test_transient_failures_are_retried(status, body):
    stats = ApiStats()
    should_retry = make_retry_predicate(stats, deadline())
    error = failure(status, body)
    assert should_retry(error.response, error) is True
    assert stats.retries == 1


def test_daily_quota_429_is_not_retried_and_stops_further_calls():
    stats = ApiStats()
    should_retry = make_retry_predicate(stats, deadline())
    error = failure(429, {"code": 45, "message": "daily limit"})
    assert should_retry(error.response, error) is False
    assert stats.quota_exhausted is True
    assert isinstance(translate_error(error), QuotaExhausted)


def test_401_after_a_fresh_token_names_data_center_and_scopes():
    error = failure(401, {"code": 57, "message": "You are not authorized"})
    translated = translate_error(error)
    assert isinstance(translated, ConfigError)
    assert "SOURCES__ZOHO_BOOKS__DATA_CENTER" in str(translated)
    assert "ZohoBooks.invoices.READ" in str(translated)


def test_unknown_organization_names_the_organization_setting():
    error = failure(400, {"code": 6041, "message": "This user is not associated with X"})
    translated = translate_error(error)
    assert isinstance(translated, ConfigError)
    assert "SOURCES__ZOHO_BOOKS__ORGANIZATION_ID" in str(translated)


def test_missing_record_is_its_own_error():
    error = failure(404, {"code": 1002, "message": "Invoice does not exist."})
    assert isinstance(translate_error(error), RecordNotFound)


def test_other_client_errors_are_not_retried():
    should_retry = make_retry_predicate(ApiStats(), deadline())
    error = failure(400, {"code": 2, "message": "Invalid value passed for sort_column"})
    assert should_retry(error.response, error) is False
    assert type(translate_error(error)) is ZohoApiError


def test_stats_record_the_quota_left_from_zoho_headers():
    stats = ApiStats()
    resp = response(200, {"code": 0})
    resp.headers["X-Rate-Limit-Remaining"] = "9876"
    stats.observe(resp)
    assert stats.quota_remaining == 9876


def test_endpoint_labels_group_detail_calls():
    base = "https://www.zohoapis.eu/books/v3"
    assert endpoint_label("get", f"{base}/items?page=2", base) == "GET /items"
    assert endpoint_label("GET", f"{base}/invoices/2155127300000000001", base) == (
        "GET /invoices/{id}"
    )


def test_settings_repr_shows_no_secret():
    settings = ZohoSettings(
        organization_id="1",
        client_id="cid",
        client_secret="s3cret",
        refresh_token="r3fresh",
        api_base_url="https://a",
        accounts_url="https://b",
        token_cache_path="/tmp/x",
        max_calls_per_minute=90,
        max_concurrency=5,
    )
    assert "s3cret" not in repr(settings) and "r3fresh" not in repr(settings)
