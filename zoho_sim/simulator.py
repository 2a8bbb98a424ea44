"""``ZohoSimulator``: the data set, the accounts server and the Books API in one object.

Tests hold one of these, start it on a free port, point the loader at ``api_base_url`` and
``accounts_url``, then edit data, advance the clock, inject faults and read counters.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from . import catalog
from .api import BooksApi
from .clock import SimClock
from .config import FAULT_KINDS, Scale, SimConfig
from .dataset import Dataset, RecordsView
from .edits import Edits
from .formats import KIND_MISC, make_id, mix64
from .generate import Record, contact_list_record, invoice_list_record
from .limits import Counters, RateLimiter, TokenStore
from .server import FaultPlan, SimServer
from .triggers import Trigger, Triggers
from .webhooks import WebhookConfig, WebhookSender

ORGANIZATION_ID = "60012345678"
ORGANIZATIONS_VARIABLE = "ZOHO_SIM_ORGANIZATIONS"
"""Set (as JSON) by ``env()`` when several organisations are served: one object each."""


class ZohoSimulator(Edits):
    """A local Zoho Books organisation served over HTTP.

    ``limits`` are :class:`SimConfig` fields (``per_minute``, ``daily_quota``,
    ``fault_rate``...); they stay changeable through ``sim.config`` while serving. The
    edit methods (``update_item``, ``add_invoice_line``...) come from :class:`Edits`.

    ``orgs=N`` serves N organisations from one server and one accounts server (one refresh
    token reaches all, as a Zoho Self Client does): ``sim`` is the first (the default
    organisation, ``60012345678``), ``sim.org(organization_id)`` or
    ``sim.organizations`` give every one, each a ``ZohoSimulator`` with its own data
    (seed ``seed + n``), limits, quota day, counters, faults, triggers and webhooks;
    ``add_organization`` adds one with chosen settings.
    """

    def __init__(
        self,
        scale: str | Mapping[str, int] | Scale = "unit",
        seed: int = 1,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        follow_real_time: bool = False,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        verbose: bool = False,
        webhooks: Mapping[str, Any] | None = None,
        orgs: int = 1,
        organization_id: str | None = None,
        organization_name: str | None = None,
        _primary: ZohoSimulator | None = None,
        **limits: Any,
    ) -> None:
        if orgs < 1:
            raise ValueError("orgs must be 1 or more")
        self.scale = Scale.parse(scale)
        self.seed = seed
        self.host = host
        self.port = port
        self.verbose = verbose
        self.config = SimConfig(**limits)
        self.primary: ZohoSimulator = _primary or self
        """The first organisation: it owns the server, the clock and the accounts server."""
        self.clock = _primary.clock if _primary else SimClock(follow_real_time=follow_real_time)
        self.data = Dataset(seed, self.scale, self.clock)
        self.organization_id = organization_id or ORGANIZATION_ID
        self.organization_name = organization_name or catalog.ORGANIZATION_NAMES[0]
        self.client_id = client_id or f"1000.SIM{mix64(seed, 1) % 16**20:020X}"
        self.client_secret = client_secret or f"{mix64(seed, 2):016x}{mix64(seed, 3):016x}"
        self.refresh_token = refresh_token or (
            f"1000.{mix64(seed, 4):016x}{mix64(seed, 5):016x}.{mix64(seed, 6):016x}"
        )
        self.counters_obj = Counters()
        self.limiter = RateLimiter(self.config, self.clock.monotonic)
        if _primary is None:
            self.tokens = TokenStore(
                self.config,
                self.clock.monotonic,
                self.client_id,
                self.client_secret,
                [self.refresh_token],
            )
            self.organizations: dict[str, ZohoSimulator] = {self.organization_id: self}
            """Every organisation served, by ``organization_id``, the first one first."""
        else:
            self.tokens = _primary.tokens
            self.organizations = _primary.organizations
        self.faults = FaultPlan(self.config.fault_seed)
        self.api = BooksApi(self.data, self.config, self._organization())
        self.api.list_organizations = self._all_organizations
        self.api.on_duplicate = self.counters_obj.duplicate
        self.triggers = Triggers()
        self.webhooks = WebhookSender(
            WebhookConfig(**{**(webhooks or {}), "organization_id": self.organization_id})
        )
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        for _ in range(orgs - 1):
            self.add_organization()

    # ----- organisations -----------------------------------------------------------------
    def add_organization(
        self,
        seed: int | None = None,
        scale: str | Mapping[str, int] | Scale | None = None,
        *,
        organization_id: str | None = None,
        name: str | None = None,
        webhooks: Mapping[str, Any] | None = None,
        **limits: Any,
    ) -> ZohoSimulator:
        """Serve one more organisation (on the same server, reached by the same tokens).

        Defaults: seed ``first seed + n``, the first organisation's scale and limits (as
        they are now; ``limits`` override them), ID ``60012345678 + n``, webhooks off.
        Its quotas (daily, per minute, concurrent) are its own, as Zoho's are per
        organisation."""
        primary = self.primary
        n = len(primary.organizations)
        org_id = organization_id or str(int(ORGANIZATION_ID) + n)
        if org_id in primary.organizations:
            raise ValueError(f"organization_id {org_id} is already served")
        names = catalog.ORGANIZATION_NAMES
        settings = {**asdict(primary.config), **limits}
        child = ZohoSimulator(
            primary.scale if scale is None else scale,
            primary.seed + n if seed is None else seed,
            host=primary.host,
            port=primary.port,
            client_id=primary.client_id,
            client_secret=primary.client_secret,
            refresh_token=primary.refresh_token,
            verbose=primary.verbose,
            webhooks=webhooks,
            organization_id=org_id,
            organization_name=name or (names[n] if n < len(names) else f"{names[n % 4]} #{n}"),
            _primary=primary,
            **settings,
        )
        primary.organizations[org_id] = child
        return child

    def org(self, organization_id: str) -> ZohoSimulator:
        """The organisation with this ID (a KeyError names the IDs served)."""
        try:
            return self.organizations[organization_id]
        except KeyError:
            raise KeyError(
                f"no organization {organization_id!r}; served: {sorted(self.organizations)}"
            ) from None

    @property
    def organization_ids(self) -> list[str]:
        return list(self.organizations)

    def _webhook_url(self) -> str | None:
        """Where this organisation's rules post, ``{module}`` left in (None when off)."""
        cfg = self.webhooks.config
        if cfg.url is None:
            return None
        query = urlencode(cfg.params)
        return cfg.url_for("{module}") + (f"?{query}" if query else "")

    def _all_organizations(self) -> list[Record]:
        return [org._organization() for org in self.organizations.values()]

    def _organization(self) -> Record:
        return {
            "organization_id": self.organization_id,
            "name": self.organization_name,
            "contact_name": "Ahmed Al-Jubouri",
            "email": "accounts@example.iq",
            "is_default_org": self is self.primary,
            "plan_type": 10,
            "plan_name": "Premium",
            "version": "global",
            "language_code": "en",
            "fiscal_year_start_month": 0,
            "account_created_date": "2023-01-01",
            "time_zone": "Asia/Baghdad",
            "is_org_active": True,
            "currency_id": make_id(KIND_MISC, 100),
            "currency_code": "IQD",
            "currency_symbol": "IQD",
            "currency_format": "###,###,###",
            "price_precision": 0,
            "country": "Iraq",
        }

    # ----- lifecycle ---------------------------------------------------------------------
    def start(self) -> ZohoSimulator:
        """Serve in a background thread; ``port=0`` picks a free port."""
        if self.primary is not self:
            self.primary.start()
            return self
        if self._server is not None:
            return self
        self._server = SimServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="zoho-sim",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.primary is not self:
            self.primary.stop()
            return
        for org in self.organizations.values():
            org.webhooks.close()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI) until ``stop`` or KeyboardInterrupt."""
        self._server = SimServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ZohoSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- addresses and credentials -----------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.primary.host}:{self.primary.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/books/v3"

    @property
    def accounts_url(self) -> str:
        return self.base_url

    def env(self) -> dict[str, str]:
        """The loader's settings for this organisation, as dlt environment variables.

        With several organisations, the first one's also carries ``ZOHO_SIM_ORGANIZATIONS``:
        JSON, one object per organisation (see :meth:`organizations_settings`)."""
        env = {
            "SOURCES__ZOHO_BOOKS__API_BASE_URL": self.api_base_url,
            "SOURCES__ZOHO_BOOKS__ACCOUNTS_URL": self.accounts_url,
            "SOURCES__ZOHO_BOOKS__ORGANIZATION_ID": self.organization_id,
            "SOURCES__ZOHO_BOOKS__CLIENT_ID": self.client_id,
            "SOURCES__ZOHO_BOOKS__CLIENT_SECRET": self.client_secret,
            "SOURCES__ZOHO_BOOKS__REFRESH_TOKEN": self.refresh_token,
        }
        if self is self.primary and len(self.organizations) > 1:
            env[ORGANIZATIONS_VARIABLE] = json.dumps(
                self.organizations_settings(), ensure_ascii=False, separators=(",", ":")
            )
        return env

    def organizations_settings(self) -> list[dict[str, Any]]:
        """Per organisation: ``organization_id``, ``name``, ``seed``, ``daily_quota``,
        ``webhook_url`` (where its rules post, ``{module}`` left in, with the rule's own
        query parameters; each rule adds ``event=...`` too) and
        ``webhook_secret`` (None when unsigned). Credentials and URLs are shared: see
        :meth:`env`."""
        return [
            {
                "organization_id": org.organization_id,
                "name": org.organization_name,
                "seed": org.seed,
                "daily_quota": org.config.daily_quota,
                "webhook_url": org._webhook_url(),
                "webhook_secret": org.webhooks.config.secret,
            }
            for org in self.organizations.values()
        ]

    def mint_token(self) -> str:
        """A valid access token without an HTTP grant: not counted, not throttled."""
        return self.tokens.issue()[0]

    # ----- clock, limits, faults, counters -----------------------------------------------
    @property
    def now(self) -> datetime:
        """The simulated present (Asia/Baghdad); edits are stamped with it."""
        return self.clock.now()

    @property
    def now_zoho(self) -> str:
        """``now`` in Zoho's format, e.g. ``2025-11-01T09:00:00+0300``."""
        return self.clock.now_zoho()

    def advance(self, seconds: float) -> None:
        """Move the clock: rate windows, token lifetimes and the quota day move too."""
        self.clock.advance(seconds)

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def reset_daily_quota(self) -> None:
        self.limiter.reset_daily_quota()

    def reset_rate_window(self) -> None:
        self.limiter.reset_window()

    def reset_grant_throttle(self) -> None:
        self.tokens.reset_grants()

    @property
    def quota_remaining(self) -> int:
        return self.limiter.quota_remaining()

    @property
    def quota_usage(self) -> dict[str, Any]:
        """``used_today``, ``remaining``, ``reset_seconds`` (what X-Rate-Limit-Reset says),
        ``past_days`` (calls each finished quota day used: a simulated day's total)."""
        return self.limiter.usage()

    def advance_to_next_day(self) -> None:
        """Move the clock to the start of the next quota day (the quota refills)."""
        self.clock.advance(max(0.0, self.limiter.seconds_to_next_day()))

    def inject_fault(self, kind: str, count: int = 1) -> None:
        """Force the next ``count`` API calls to fail with ``kind`` (deterministic tests)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.faults.queue(kind, count)

    def clear_faults(self) -> None:
        self.faults.clear()

    def configure(self, **changes: Any) -> None:
        """Change limits/faults at runtime, e.g. ``sim.configure(per_minute=5)``."""
        self.config.update(**changes)
        if "fault_seed" in changes:
            self.faults.reseed(self.config.fault_seed)

    @property
    def counters(self) -> dict[str, Any]:
        """Snapshot: ``calls`` (per endpoint), ``api_calls``, ``tokens_minted``,
        ``rate_limited`` (per code), ``faults`` (per kind), ``statuses``, ``token_errors``,
        ``duplicates``."""
        return self.counters_obj.snapshot()

    def calls(self, endpoint: str) -> int:
        """Calls received on one endpoint, e.g. ``calls("GET /invoices/{id}")``."""
        return self.counters_obj.snapshot()["calls"].get(endpoint, 0)

    def reset_counters(self) -> None:
        self.counters_obj.reset()

    # ----- edits between page calls ------------------------------------------------------
    def after_call(
        self,
        endpoint: str,
        count: int,
        action: Callable[..., Any],
        *args: Any,
        match: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Trigger:
        """Run ``action(*args, **kwargs)`` once, after the ``count``-th successful answer
        to ``endpoint`` from now (its body already built, not yet sent), e.g.
        ``sim.after_call("GET /items", 2, sim.delete_item, item_id)``. ``match`` limits
        the calls counted to those with these query parameters. Returns the
        :class:`Trigger` (``.fired`` event, ``.result``, ``.error``)."""
        name = getattr(action, "__name__", repr(action))
        description = (
            f"{name}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
        )
        return self.triggers.add(
            endpoint, count, lambda: action(*args, **kwargs), description, match
        )

    def state(self) -> dict[str, Any]:
        """What ``GET /_sim/state`` answers: clock, quota, counters, triggers, webhooks."""
        return {
            "organization_id": self.organization_id,
            "organization_ids": self.organization_ids,
            "now": self.now_zoho,
            "quota_remaining": self.quota_remaining,
            "quota": self.quota_usage,
            "counters": self.counters,
            "triggers": self.triggers.snapshot(),
            "webhooks": self.webhooks.counts(),
            "webhook_deliveries": self.webhooks.deliveries(),
        }

    # ----- webhooks (Zoho's workflow rules) ----------------------------------------------
    def configure_webhooks(self, **changes: Any) -> None:
        """Set :class:`~zoho_sim.webhooks.WebhookConfig` fields, e.g.
        ``sim.configure_webhooks(url="http://127.0.0.1:8000/webhooks/zoho",
        secret="abc123def456", drop_rate=0.1)``; ``url=None`` turns them off."""
        self.webhooks.config.update(**changes)
        if "seed" in changes:
            self.webhooks.reseed(self.webhooks.config.seed)

    def flush_webhooks(self, timeout: float = 30.0) -> bool:
        """Wait until every edit's webhook is delivered, dropped or out of retries."""
        return self.webhooks.flush(timeout)

    @property
    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Each delivery tried: ``seq``, ``module``, ``event``, ``entity_id``, ``attempt``,
        ``duplicate``, ``signature_valid``, ``outcome`` (HTTP status, ``"timeout"``,
        ``"error: ..."``, ``"dropped"``)."""
        return self.webhooks.deliveries()

    def _emit(self, module: str, event: str, record: Record) -> None:
        self.webhooks.emit(module, event, record)

    # ----- data access -------------------------------------------------------------------
    @property
    def items(self) -> RecordsView:
        return RecordsView(self.data.items)

    @property
    def contacts(self) -> RecordsView:
        """Contacts as their detail (with ``pricebook_id``)."""
        return RecordsView(self.data.contacts)

    @property
    def invoices(self) -> RecordsView:
        """Invoices as their detail (with ``line_items``)."""
        return RecordsView(self.data.invoices)

    @property
    def bills(self) -> RecordsView:
        """Bills as their detail (with ``line_items``)."""
        return RecordsView(self.data.bills)

    @property
    def inventory_adjustments(self) -> list[Record]:
        """Adjustments posted with ``post_inventory_adjustment`` (copies, oldest first);
        Zoho Books lists them nowhere, only its webhook carries them."""
        with self.data.lock:
            return json.loads(json.dumps(self.data.adjustments))

    @property
    def pricebooks(self) -> RecordsView:
        """Price lists as their detail (with ``pricebook_items``)."""
        return RecordsView(self.data.pricebooks, self._pricebook_with_rows)

    def _pricebook_with_rows(self, header: Record) -> Record:
        k = self.data.pricebooks.index_of(header["pricebook_id"])
        assert k is not None
        return self.data.pricebook_detail(k)

    def active_item_ids(self) -> list[str]:
        return self.data.active_item_ids()

    @staticmethod
    def contact_list_shape(record: Record) -> Record:
        return contact_list_record(record)

    @staticmethod
    def invoice_list_shape(record: Record) -> Record:
        return invoice_list_record(record)

    def summary(self) -> dict[str, int]:
        """The business numbers of the current data (see README: demo numbers)."""
        items = self.data.items
        active = {i for i in items.indices() if items.key(i, "status") == "active"}
        covered: set[int] = set()
        pricebooks = self.data.pricebooks
        for k in pricebooks.indices():
            header = pricebooks.get(k)
            if (header["status"], header["sales_or_purchase_type"], header["pricebook_type"]) == (
                "active",
                "sales",
                "per_item",
            ):
                covered.update(self.data.pricebook_item_indices(k))
        uncovered = active - covered
        zero = sum(1 for i in uncovered if float(items.key(i, "rate")) == 0)
        return {
            "items": len(items),
            "active_items": len(active),
            "inactive_items": len(items) - len(active),
            "active_in_active_sales_lists": len(active & covered),
            "active_in_no_list": len(uncovered),
            "active_in_no_list_rate_positive": len(uncovered) - zero,
            "active_in_no_list_rate_zero": zero,
            "contacts": len(self.data.contacts),
            "invoices": len(self.data.invoices),
            "pricebooks": len(pricebooks),
        }
