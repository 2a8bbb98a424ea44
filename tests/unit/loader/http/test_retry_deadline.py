"""Retries of calls that get no answer are bounded by time, not only by count: a refused
connection or an unknown host is reported within seconds, a silent host within a minute.
The session is played by a loop on an injected clock: each attempt takes as long as its
failure does, each retry waits the session's backoff (1, 2, 4, ... s)."""

from __future__ import annotations

import socket

import pytest
import requests
from test_client_retries import FakeClock, deadline

from loader.zoho.http.deadline import RetryDeadline
from loader.zoho.http.limits import ApiStats
from loader.zoho.http.session import make_retry_predicate

REFUSED = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
UNKNOWN_HOST = requests.ConnectionError(socket.gaierror(-2, "Name or service not known"))
SILENT = requests.ConnectTimeout("connect timed out")
NO_ANSWER = requests.ReadTimeout("read timed out")


def call_until_given_up(policy: RetryDeadline, clock: FakeClock, error: Exception, took: float):
    """One call whose every attempt fails with `error` after `took` seconds, retried as the
    predicate says: (attempts made, seconds from the first attempt until given up)."""
    should_retry = make_retry_predicate(ApiStats(), policy)
    started, attempts = clock.now, 0
    while True:
        attempts += 1
        clock.now += took
        if not should_retry(None, error):
            return attempts, clock.now - started
        clock.sleep(policy.wait(attempts))


@pytest.mark.parametrize("error", [REFUSED, UNKNOWN_HOST], ids=["refused", "unknown-host"])
def test_a_refused_connection_or_unknown_host_is_given_up_within_seconds(error):
    clock = FakeClock()
    policy = deadline(clock)

    attempts, seconds = call_until_given_up(policy, clock, error, took=0.0)

    assert attempts == 3  # at 0, 1 and 3 s: the next wait (4 s) would pass 5 s
    assert seconds <= 10
    assert policy.attempts_made() == 3


def test_a_host_that_never_accepts_the_connection_is_given_up_within_a_minute():
    clock = FakeClock()
    policy = deadline(clock)

    attempts, seconds = call_until_given_up(policy, clock, SILENT, took=10.0)

    # attempts end at 10, 21, 33 and 47 s; a fifth would end at 65 s
    assert (attempts, seconds) == (4, 47.0)


def test_a_host_that_accepts_and_stays_silent_is_given_up_within_a_minute():
    clock = FakeClock()
    attempts, seconds = call_until_given_up(deadline(clock), clock, NO_ANSWER, took=20.0)
    assert (attempts, seconds) == (2, 41.0)  # a third would end at 63 s


def test_the_attempt_count_still_bounds_a_long_deadline():
    clock = FakeClock()
    policy = deadline(clock, max_attempts=3, deadline_seconds=3600.0)
    attempts, _ = call_until_given_up(policy, clock, SILENT, took=10.0)
    assert attempts == 3


def test_an_answer_starts_the_next_calls_clock_afresh():
    clock = FakeClock()
    policy = deadline(clock)
    should_retry = make_retry_predicate(ApiStats(), policy)
    assert should_retry(None, SILENT) is True
    clock.now += 50.0  # a long wait, then the host answers
    ok = requests.Response()
    ok.status_code = 200
    assert should_retry(ok, None) is False

    clock.now += 10.0
    assert should_retry(None, SILENT) is True  # a new call: its own minute


def test_a_call_given_up_leaves_no_clock_behind():
    clock = FakeClock()
    policy = deadline(clock)
    call_until_given_up(policy, clock, REFUSED, took=0.0)
    assert call_until_given_up(policy, clock, REFUSED, took=0.0)[0] == 3


def test_other_errors_are_not_retried_as_unanswered():
    should_retry = make_retry_predicate(ApiStats(), deadline())
    assert should_retry(None, ValueError("a bug")) is False
