"""The simulator's present, for the loader's clock seam
(`ZOHO_BOOKS_CLOCK=zoho_sim.loader_clock:now`, loader/clock.py): tests and benchmarks that
fast-forward a day (`sim.advance(900)`) make the loader plan it as a real one. Reads
`GET $ZOHO_SIM_URL/_sim/state`, which `python -m zoho_sim run` exports."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import requests

SIMULATOR_URL_VARIABLE = "ZOHO_SIM_URL"
TIMEOUT_SECONDS = 10.0


def now() -> datetime:
    url = os.environ.get(SIMULATOR_URL_VARIABLE, "").rstrip("/")
    if not url:
        raise RuntimeError(f"zoho_sim.clock needs {SIMULATOR_URL_VARIABLE} (the simulator's URL)")
    answer = requests.get(f"{url}/_sim/state", timeout=TIMEOUT_SECONDS)
    answer.raise_for_status()
    # Zoho's format, e.g. 2025-11-01T09:00:00+0300
    stamp = datetime.strptime(answer.json()["now"], "%Y-%m-%dT%H:%M:%S%z")
    return stamp.astimezone(timezone.utc)
