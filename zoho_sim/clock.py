"""The simulator's own clock.

``now`` is what records are stamped with (it starts at a fixed instant so data sets are
reproducible); ``monotonic`` drives rate windows and token expiry. ``advance`` moves both,
so a test can jump a rate window or an access token's lifetime without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from .formats import ORG_TZ, format_ts
from .generate import CLOCK_START


class SimClock:
    """Fixed-start clock that moves by ``advance`` (and optionally with real time)."""

    def __init__(self, start_epoch: int = CLOCK_START, follow_real_time: bool = False) -> None:
        self.start_epoch = start_epoch
        self.follow_real_time = follow_real_time
        self._offset = 0.0
        self._real_start = time.monotonic()
        self._lock = threading.Lock()

    def epoch(self) -> float:
        """Seconds since 1970 of the simulated present."""
        real = time.monotonic() - self._real_start if self.follow_real_time else 0.0
        return self.start_epoch + self._offset + real

    def now(self) -> datetime:
        return datetime.fromtimestamp(int(self.epoch()), ORG_TZ)

    def now_zoho(self) -> str:
        return format_ts(self.epoch())

    def monotonic(self) -> float:
        """Real monotonic time plus everything ``advance`` added: for limits and expiry."""
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
