"""The loader's one clock: every "now" the API budget planner and the run log use.

`now()` is the real time (UTC). The seam for tests and benchmarks that fast-forward a day
against the Zoho simulator: `ZOHO_BOOKS_CLOCK=package.module:function` names a function
that returns the present as a timezone-aware datetime, and every "now" of the run log, the
quota reset times, the observed cron interval, the listings' refresh times and
`deleted_at` reads it instead (the simulator's is `zoho_sim.loader_clock:now`). The loader knows
nothing of what is behind the name.

Production never sets it; it is off unless set. A name that does not import, or is not
callable, is a configuration error (exit 2)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from datetime import datetime, timezone

from loader.errors import ConfigError

CLOCK_VARIABLE = "ZOHO_BOOKS_CLOCK"


def now() -> datetime:
    """The present, timezone-aware (UTC)."""
    name = os.environ.get(CLOCK_VARIABLE, "").strip()
    if name in ("", "system"):
        return datetime.now(timezone.utc)
    return _injected(name)().astimezone(timezone.utc)


def _injected(name: str) -> Callable[[], datetime]:
    module, _, attribute = name.partition(":")
    try:
        function = getattr(importlib.import_module(module), attribute) if attribute else None
    except (ImportError, AttributeError):
        function = None
    if not callable(function):
        raise ConfigError(
            f"{CLOCK_VARIABLE}={name!r} is not a clock: leave it unset (real time); tests and "
            "benchmarks name a function as package.module:function (zoho_sim.loader_clock:now)"
        )
    return function
