"""The loader's one clock: every "now" the API budget planner and the run log use.

`now()` is the real time (UTC). Tests and benchmarks that fast-forward a day against the
Zoho simulator (`sim.advance(900)` between runs) set `ZOHO_BOOKS_CLOCK=simulator`: `now()`
then reads the simulator's present from its admin API (`GET $ZOHO_SIM_URL/_sim/state`),
so the run log's `started_at`/`finished_at`, the quota reset times, the observed cron
interval, the listings' refresh times and `deleted_at` all move with the simulated day.

Test and benchmark only: production never sets it (real Zoho has no such endpoint), and
it is off unless set. An unknown value is a configuration error (exit 2)."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import requests

from loader.errors import ConfigError

CLOCK_VARIABLE = "ZOHO_BOOKS_CLOCK"
SIMULATOR_URL_VARIABLE = "ZOHO_SIM_URL"  # what `python -m zoho_sim run` exports
SIMULATOR_TIMEOUT = 10.0


def now() -> datetime:
    """The present, timezone-aware (UTC)."""
    mode = os.environ.get(CLOCK_VARIABLE, "").strip().lower()
    if mode in ("", "system"):
        return datetime.now(timezone.utc)
    if mode == "simulator":
        return _simulator_now()
    raise ConfigError(
        f"{CLOCK_VARIABLE}={mode!r} is not a clock: leave it unset (real time); "
        "'simulator' is for tests and benchmarks against the Zoho simulator only"
    )


def _simulator_now() -> datetime:
    url = os.environ.get(SIMULATOR_URL_VARIABLE, "").rstrip("/")
    if not url:
        raise ConfigError(
            f"{CLOCK_VARIABLE}=simulator needs {SIMULATOR_URL_VARIABLE} (the simulator's "
            "base URL, as `python -m zoho_sim run` sets it)"
        )
    answer = requests.get(f"{url}/_sim/state", timeout=SIMULATOR_TIMEOUT)
    answer.raise_for_status()
    # Zoho's format, e.g. 2025-11-01T09:00:00+0300
    return datetime.strptime(answer.json()["now"], "%Y-%m-%dT%H:%M:%S%z").astimezone(timezone.utc)
