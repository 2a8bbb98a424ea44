"""Edits that happen *between* page calls: "after the Nth answered GET /items, delete X".

A loader that pages through a listing while Zoho is being edited sees records shift
between pages (issue 14). A trigger fires once, after the Nth successful answer to its
endpoint counted from when it was set, after that answer's body is built and before it
is sent: the client holds page N from before the edit and every later call sees it.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Trigger:
    """One pending or fired edit. ``fired`` is set once it ran (``result`` or ``error``)."""

    trigger_id: int
    endpoint: str
    after: int
    action: Callable[[], Any]
    description: str
    match: dict[str, str] = field(default_factory=dict)
    seen: int = 0
    fired: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "trigger_id": self.trigger_id,
            "endpoint": self.endpoint,
            "after": self.after,
            "match": self.match,
            "edit": self.description,
            "seen": self.seen,
            "fired": self.fired.is_set(),
            "error": self.error,
        }


class Triggers:
    """The simulator's triggers; the server reports every successful API answer here."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._all: list[Trigger] = []

    def add(
        self,
        endpoint: str,
        after: int,
        action: Callable[[], Any],
        description: str,
        match: Mapping[str, str] | None = None,
    ) -> Trigger:
        if after < 1:
            raise ValueError("a trigger fires after the 1st call or later")
        with self._lock:
            trigger = Trigger(
                next(self._ids), endpoint, after, action, description, dict(match or {})
            )
            self._all.append(trigger)
            return trigger

    def answered(self, endpoint: str, params: Mapping[str, str]) -> None:
        """Count one successful answer; run the triggers whose count it completes."""
        with self._lock:
            for trigger in self._all:
                if trigger.fired.is_set() or trigger.endpoint != endpoint:
                    continue
                if any(params.get(k) != v for k, v in trigger.match.items()):
                    continue
                trigger.seen += 1
                if trigger.seen == trigger.after:
                    try:
                        trigger.result = trigger.action()
                    except Exception as error:  # reported to the test, never to the client
                        trigger.error = f"{type(error).__name__}: {error}"
                        traceback.print_exc()
                    trigger.fired.set()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [t.as_json() for t in self._all]

    def clear(self) -> None:
        with self._lock:
            self._all.clear()
