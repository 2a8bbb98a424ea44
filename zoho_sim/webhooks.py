"""Zoho's side of webhooks: workflow rules that POST a record when it is created, edited
or deleted through the simulator's edit API (``/work/shared/zoho-books-api.md``,
"Webhooks").

What the simulator sends, per the doc:
- one rule per module (``items``, ``contacts``, ``invoices``) and trigger; the rule's URL
  gets ``?event=created|edited|deleted`` (plus any ``params`` configured), because the
  body carries no event type and no event id;
- the **default payload**: the record under its singular name (``{"item": {...}}``,
  ``{"invoice": {...}}`` with its ``line_items``), as JSON, or (``form=True``) as
  ``application/x-www-form-urlencoded`` with the JSON in the field ``JSONString``;
- ``X-Zoho-Webhook-Signature`` when a secret is set: :func:`webhook_signature`.

Zoho's failure modes are switches (all off by default, seeded): duplicates, reordering,
bad signatures, dropped events, and redelivery of a delivery that got no 2xx within
``timeout_seconds`` (the receiver may well have stored it). Deliveries run in a
background thread from a queue so edits never block; ``flush`` waits for them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

import requests

MODULES: dict[str, str] = {
    "items": "item",
    "contacts": "contact",
    "invoices": "invoice",
    "bills": "bill",
    "inventoryadjustments": "inventory_adjustment",
}
"""Module (the URL's last segment) -> the payload's key (an adjustment's rule only fires
``created``: Zoho's event ``inventoryadjustment.create``)."""
EVENTS: tuple[str, ...] = ("created", "edited", "deleted")
SIGNATURE_HEADER = "X-Zoho-Webhook-Signature"
_SECRET = re.compile(r"[A-Za-z0-9]{12,50}")


def signature_string(pairs: Iterable[tuple[str, str]], json_body: str) -> str:
    """Zoho's signed string: every key-value pair (query-string parameters and form
    fields, URL-decoded) sorted by key, each written as key then value with no
    separators, then the raw JSON body (``""`` for a form payload: its JSON is the
    ``JSONString`` field, already among the pairs).

    >>> signature_string([("subscription_id", "90343"), ("name", "basic")],
    ...                  '{"created_date":"2019-03-06","event_id":"5675"}')
    'namebasicsubscription_id90343{"created_date":"2019-03-06","event_id":"5675"}'
    """
    ordered = sorted(pairs, key=lambda pair: (pair[0], pair[1]))
    return "".join(key + value for key, value in ordered) + json_body


def webhook_signature(secret: str, pairs: Iterable[tuple[str, str]], json_body: str) -> str:
    """``X-Zoho-Webhook-Signature``: HMAC-SHA256 of :func:`signature_string` keyed with the
    webhook's secret token, hex digest (the reference receivers' tests compare against)."""
    message = signature_string(pairs, json_body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _payload_text(payload: dict[str, Any]) -> str:
    """The JSON body as Zoho writes it (non-ASCII unescaped); a record holding a lone
    surrogate is written with ASCII escapes, the only valid JSON for it."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":"))
    return text


@dataclass
class WebhookConfig:
    """Where and how the workflow rules post. Off until ``url`` is set."""

    url: str | None = None
    """Receiver URL; ``{module}`` is replaced by the module (items, contacts, invoices,
    bills, inventoryadjustments), otherwise ``/<module>`` is appended (e.g.
    ``http://127.0.0.1:8000/webhooks/zoho``); ``{organization_id}`` by the organisation's
    ID."""
    secret: str | None = None
    """Zoho's secret token (12-50 alphanumerics); None sends no signature header."""
    form: bool = False
    """Send the default payload as ``x-www-form-urlencoded`` ``JSONString=...``."""
    params: dict[str, str] = field(default_factory=dict)
    """Extra query parameters every rule adds (e.g. a shared token)."""
    modules: tuple[str, ...] = tuple(MODULES)
    events: tuple[str, ...] = EVENTS
    timeout_seconds: float = 5.0
    """Zoho expects a 2xx "within a few seconds" (exact value undocumented)."""
    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
    """Waits before each redelivery of a delivery without a 2xx (Zoho: increasing
    intervals of minutes; compressed here). Empty: never redeliver."""
    duplicate_rate: float = 0.0
    """Chance that an event is delivered twice."""
    reorder_rate: float = 0.0
    """Chance that an event is held back and delivered after the next one."""
    reorder_hold_seconds: float = 0.5
    """How long a held event waits for a next one before going anyway."""
    bad_signature_rate: float = 0.0
    """Chance that a delivery carries a wrong signature (a forged or corrupted call)."""
    drop_rate: float = 0.0
    """Chance that an event is never delivered (the scheduled sync must catch it)."""
    seed: int = 0
    organization_id: str = ""
    """Set by the simulator: fills ``{organization_id}`` in ``url``."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.secret is not None and not _SECRET.fullmatch(self.secret):
            raise ValueError("a Zoho webhook secret is 12-50 letters and digits")
        unknown = (set(self.modules) - set(MODULES)) | (set(self.events) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown webhook modules/events {sorted(unknown)}")
        rates = (self.duplicate_rate, self.reorder_rate, self.bad_signature_rate, self.drop_rate)
        if not all(0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError("webhook rates must be between 0 and 1")

    def update(self, **changes: Any) -> None:
        """Set several fields at once; nothing changes when one is unknown or invalid."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise TypeError(f"unknown webhook setting {name!r}")
            if name in ("modules", "events", "retry_delays"):
                changes[name] = tuple(value)
            if name == "params":
                changes[name] = dict(value)
        replace(self, **changes)  # validates the result before anything is set
        for name, value in changes.items():
            setattr(self, name, value)

    def url_for(self, module: str) -> str:
        assert self.url is not None
        url = self.url.replace("{organization_id}", self.organization_id)
        if "{module}" in url:
            return url.replace("{module}", module)
        return f"{url.rstrip('/')}/{module}"


@dataclass
class Event:
    """One workflow-rule firing: what Zoho would post, built when the edit happened."""

    seq: int
    module: str
    event: str
    record: dict[str, Any]

    @property
    def entity_id(self) -> str:
        return str(self.record.get(f"{MODULES[self.module]}_id"))


@dataclass
class _Attempt:
    event: Event
    attempt: int = 1
    duplicate: bool = False
    due: float = 0.0


class WebhookSender:
    """Queue + background thread delivering :class:`Event` s per :class:`WebhookConfig`."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self._queue: queue.Queue[_Attempt] = queue.Queue()
        self._retries: list[_Attempt] = []
        self._held: tuple[_Attempt, float] | None = None
        self._outstanding = 0
        self._done = threading.Condition()
        self._seq = 0
        self._rng = random.Random(config.seed)
        self._log: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._flushing = threading.Event()
        self._session = requests.Session()

    # ----- producing ---------------------------------------------------------------------
    def emit(self, module: str, event: str, record: Mapping[str, Any]) -> None:
        """Queue one firing (never blocks); ignored when off or not configured for it."""
        cfg = self.config
        if cfg.url is None or module not in cfg.modules or event not in cfg.events:
            return
        with self._lock:
            self._seq += 1
            item = Event(self._seq, module, event, json.loads(json.dumps(dict(record))))
            self._counts["events"] += 1
        with self._done:
            self._outstanding += 1
        self._ensure_thread()
        self._queue.put(_Attempt(item))

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    # ----- waiting -----------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event is delivered, dropped or out of retries (a held
        reordered event goes at once). True when done within ``timeout`` seconds."""
        self._flushing.set()
        try:
            with self._done:
                return self._done.wait_for(lambda: self._outstanding == 0, timeout)
        finally:
            self._flushing.clear()

    def deliveries(self) -> list[dict[str, Any]]:
        """Every HTTP delivery tried (and every drop), oldest first."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    def counts(self) -> dict[str, int]:
        """``events``, ``delivered``, ``failed`` (attempts without 2xx), ``redelivered``,
        ``gave_up``, ``dropped``, ``duplicated``, ``reordered``, ``bad_signatures``."""
        with self._lock:
            return dict(self._counts)

    def close(self) -> None:
        """Stop the thread (undelivered events stay queued; a later event restarts it)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        self._stop.clear()

    # ----- the worker --------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="zoho-sim-webhooks", daemon=True
                )
                self._thread.start()

    def _roll(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._rng.random() < rate

    def _run(self) -> None:
        while not self._stop.is_set():
            # a flush releases a held event only once nothing queued could overtake it
            self._release_held(force=self._flushing.is_set() and self._queue.empty())
            self._send_due_retries()
            try:
                attempt = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            self._first_delivery(attempt)

    def _first_delivery(self, attempt: _Attempt) -> None:
        cfg = self.config
        if self._roll(cfg.drop_rate):
            self._record(attempt, "dropped", signed_ok=None)
            self._count("dropped")
            self._finish()
            return
        if self._held is None and self._roll(cfg.reorder_rate):
            self._held = (attempt, time.monotonic() + cfg.reorder_hold_seconds)
            self._count("reordered")
            return
        self._deliver(attempt)
        self._release_held(force=True)

    def _release_held(self, force: bool) -> None:
        if self._held is not None and (force or time.monotonic() >= self._held[1]):
            held, self._held = self._held[0], None
            self._deliver(held)

    def _send_due_retries(self) -> None:
        now = time.monotonic()
        due = [r for r in self._retries if r.due <= now]
        self._retries = [r for r in self._retries if r.due > now]
        for attempt in due:
            self._post(attempt)

    def _deliver(self, attempt: _Attempt) -> None:
        """First delivery of an event (and its duplicate, when rolled)."""
        if self._roll(self.config.duplicate_rate):
            self._count("duplicated")
            with self._done:
                self._outstanding += 1
            self._post(_Attempt(attempt.event, duplicate=True))
        self._post(attempt)

    def _post(self, attempt: _Attempt) -> None:
        cfg = self.config
        event = attempt.event
        query = {**cfg.params, "event": event.event}
        payload = _payload_text({MODULES[event.module]: event.record})
        if cfg.form:
            pairs = [*query.items(), ("JSONString", payload)]
            body = urlencode({"JSONString": payload}).encode()
            content_type = "application/x-www-form-urlencoded;charset=UTF-8"
            signed_body = ""
        else:
            pairs = list(query.items())
            body = payload.encode()
            content_type = "application/json;charset=UTF-8"
            signed_body = payload
        headers = {"Content-Type": content_type, "User-Agent": "ZohoBooks-Webhook (zoho_sim)"}
        signed_ok: bool | None = None
        if cfg.secret is not None:
            signature = webhook_signature(cfg.secret, pairs, signed_body)
            signed_ok = not self._roll(cfg.bad_signature_rate)
            if not signed_ok:
                self._count("bad_signatures")
                signature = signature[::-1]
            headers[SIGNATURE_HEADER] = signature
        url = cfg.url_for(event.module) + "?" + urlencode(query)
        try:
            response = self._session.post(
                url, data=body, headers=headers, timeout=cfg.timeout_seconds
            )
            outcome: int | str = response.status_code
            ok = 200 <= response.status_code < 300
        except requests.Timeout:
            outcome, ok = "timeout", False
        except requests.RequestException as error:
            outcome, ok = f"error: {type(error).__name__}", False
        self._record(attempt, outcome, signed_ok)
        if ok:
            self._count("delivered")
            self._finish()
            return
        self._count("failed")
        if attempt.attempt <= len(cfg.retry_delays):
            self._count("redelivered")
            delay = cfg.retry_delays[attempt.attempt - 1]
            retry = _Attempt(
                event, attempt.attempt + 1, attempt.duplicate, time.monotonic() + delay
            )
            self._retries.append(retry)
            return
        self._count("gave_up")
        self._finish()

    def _record(self, attempt: _Attempt, outcome: int | str, signed_ok: bool | None) -> None:
        event = attempt.event
        with self._lock:
            self._log.append(
                {
                    "seq": event.seq,
                    "module": event.module,
                    "event": event.event,
                    "entity_id": event.entity_id,
                    "attempt": attempt.attempt,
                    "duplicate": attempt.duplicate,
                    "signature_valid": signed_ok,
                    "outcome": outcome,
                }
            )

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _finish(self) -> None:
        with self._done:
            self._outstanding -= 1
            self._done.notify_all()
