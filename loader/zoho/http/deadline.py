"""How long a call that gets no answer is tried again: bounded by time, not only by count.

dlt's retrying session repeats a failed attempt up to `request_max_attempts` times with
exponential backoff (1, 2, 4, ... s). For a host that cannot be reached that count alone
means minutes before anyone hears of it (8 attempts: 123 s for a refused connection). So
the loader decides itself, through dlt's `retry_condition` predicate (dlt's own exception
list is switched off), whether an unanswered attempt is tried again:

- refused connection or a host that does not resolve: an answer is known at once, so it
  is retried only while it is younger than `refused_seconds` (default 5 s: three quick
  attempts ride out a restart or a DNS blip, the run fails within seconds);
- timeouts and dropped connections (a silent host): retried only when the next attempt,
  after its backoff wait and its whole timeout, would still end within `deadline_seconds`
  (default 60 s) of the call's first attempt;
- never more than `max_attempts` attempts, as before.

A call that gets any answer starts afresh. The state is per thread (dlt's sessions are per
thread too), and the clock is injected so the tests can drive it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from requests import ConnectionError as RequestsConnectionError
from requests import Timeout
from requests.exceptions import ChunkedEncodingError, ConnectTimeout

UNANSWERED = (RequestsConnectionError, Timeout, ChunkedEncodingError)
"""What requests raises when no (whole) answer came: refused, DNS, TLS, timeouts, a body
cut off (dlt's default retry exceptions)."""

REFUSED_RETRY_SECONDS = 5.0
RETRY_DEADLINE_SECONDS = 60.0


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps: requests -> urllib3's MaxRetryError -> its reason -> the
    socket error."""
    todo: list[Any] = [exc]
    seen: set[int] = set()
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        todo += list(current.args[:1])


def answered_at_once(exc: BaseException) -> bool:
    """A refused connection or a name that does not resolve: the network answered "no"."""
    return any(isinstance(c, socket.gaierror | ConnectionRefusedError) for c in causes(exc))


@dataclass
class _Call:
    started: float
    attempts: int = 0


class RetryDeadline:
    """Decides whether an unanswered attempt is tried again (see the module's docstring).

    `backoff_factor` and `max_delay` are the session's own (dlt waits
    `min(max_delay, backoff_factor * 2 ** (attempt - 1))` after attempt n): the deadline
    counts the wait the session is about to make."""

    def __init__(
        self,
        max_attempts: int,
        backoff_factor: float,
        max_delay: float,
        connect_timeout: float,
        read_timeout: float,
        deadline_seconds: float = RETRY_DEADLINE_SECONDS,
        refused_seconds: float = REFUSED_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff_factor = backoff_factor
        self.max_delay = max_delay
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline_seconds = deadline_seconds
        self.refused_seconds = refused_seconds
        self.clock = clock
        self._local = threading.local()

    def wait(self, attempts: int) -> float:
        """The session's backoff after the n-th failed attempt."""
        return float(min(self.max_delay, self.backoff_factor * 2 ** (attempts - 1)))

    def _timeout_of(self, exc: BaseException) -> float:
        """How long the failed (and the next) attempt can take before it fails this way."""
        if answered_at_once(exc):
            return 0.0
        if isinstance(exc, ConnectTimeout):
            return self.connect_timeout
        if isinstance(exc, Timeout):
            return self.read_timeout
        return 0.0

    def answered(self) -> None:
        """An answer came: the next failure starts a new call's clock."""
        self._local.call = None

    def attempts_made(self) -> int:
        """Attempts of the last call given up on this thread (for the one-line error)."""
        return int(getattr(self._local, "given_up_after", 0))

    def retry(self, exc: BaseException) -> bool:
        """After an unanswered attempt: try again, or give up (and forget the call)."""
        now = self.clock()
        took = self._timeout_of(exc)
        call: _Call | None = getattr(self._local, "call", None)
        if call is None:
            call = self._local.call = _Call(started=now - took)
        call.attempts += 1
        elapsed = now - call.started
        wait = self.wait(call.attempts)
        if answered_at_once(exc):
            again = elapsed + wait <= self.refused_seconds
        else:
            again = elapsed + wait + took <= self.deadline_seconds
        if call.attempts >= self.max_attempts or not again:
            self._local.given_up_after = call.attempts
            self._local.call = None
            return False
        return True
