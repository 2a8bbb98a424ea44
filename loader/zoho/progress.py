"""Progress per resource: a tqdm bar on a terminal, plain log lines under cron.

Zoho lists have no total count, so the bar counts pages and shows rows listed and rows
written beside it; a log line is written every `LOG_EVERY_PAGES` pages and at the end.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("loader.zoho.progress")
LOG_EVERY_PAGES = 50


@dataclass
class ResourceProgress:
    pages: int = 0
    listed: int = 0
    written: int = 0
    bar: Any = None


class Progress:
    """Thread-safe counters of pages, listed rows and written rows per resource."""

    def __init__(self, use_bars: bool | None = None) -> None:
        self.use_bars = sys.stderr.isatty() if use_bars is None else use_bars
        self._resources: dict[str, ResourceProgress] = {}
        self._lock = threading.Lock()

    def _get(self, resource: str) -> ResourceProgress:
        state = self._resources.get(resource)
        if state is None:
            state = self._resources[resource] = ResourceProgress()
            if self.use_bars:
                from tqdm import tqdm

                state.bar = tqdm(desc=resource, unit=" pages", leave=True, dynamic_ncols=True)
        return state

    def page(self, resource: str, listed: int, written: int) -> None:
        with self._lock:
            state = self._get(resource)
            state.pages += 1
            state.listed += listed
            state.written += written
            if state.bar is not None:
                state.bar.set_postfix(listed=state.listed, written=state.written, refresh=False)
                state.bar.update(1)
            elif state.pages % LOG_EVERY_PAGES == 0:
                log.info(
                    "%s: %d pages, %d rows listed, %d to write",
                    resource,
                    state.pages,
                    state.listed,
                    state.written,
                )

    def wrote(self, resource: str, rows: int) -> None:
        """Rows written without a page of their own (deletion marks, detail rows)."""
        with self._lock:
            state = self._get(resource)
            state.written += rows
            if state.bar is not None:
                state.bar.set_postfix(listed=state.listed, written=state.written)

    def done(self, resource: str, note: str = "") -> None:
        with self._lock:
            state = self._get(resource)
            if state.bar is not None:
                state.bar.set_postfix(listed=state.listed, written=state.written)
                state.bar.close()
                state.bar = None
                if not note:
                    return  # the bar's last state says it all
            log.info(
                "%s: done, %d pages, %d rows listed, %d to write%s",
                resource,
                state.pages,
                state.listed,
                state.written,
                f" ({note})" if note else "",
            )
