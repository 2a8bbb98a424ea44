"""Knobs of the simulator: limits, faults, token lifetime, and the data-set scale.

Zoho documents its limits but not their edges (window shape, what counts), so every limit
is a field here, readable and writable at runtime: tests shrink windows to fractions of a
second instead of waiting a minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

DEFAULT_FAULT_KINDS: tuple[str, ...] = (
    "http500",
    "http503_html",
    "truncated_json",
    "dropped_connection",
    "slow",
)
STOCK_SHAPES: tuple[str, ...] = ("mixed", "locations", "warehouses")
FAULT_KINDS: tuple[str, ...] = (*DEFAULT_FAULT_KINDS, "cut_stream")
"""Every kind. ``cut_stream`` (headers and half the body, then the connection closes) is
injected only when asked for: a client cannot retry a body it has started to consume, so
it fails a run by design where the default kinds test recovery."""


@dataclass
class SimConfig:
    """Limits and faults. Change attributes on ``sim.config`` while the server runs."""

    per_minute: int = 100
    """API calls allowed per rate window (Zoho: 100 per minute) -> 429 code 44 beyond."""
    per_minute_window_seconds: float = 60.0
    """Length of the sliding window for ``per_minute``."""
    max_concurrent: int = 10
    """In-flight API calls allowed at once (Zoho: 5 free plan, 10 paid) -> 429 code 1070."""
    daily_quota: int = 10_000
    """API calls per day (Zoho Premium: 10,000) -> 429 code 45 when used up."""
    daily_window_seconds: float = 86_400.0
    """How long a quota day lasts (the quota refills after it, or on ``reset_daily_quota``)."""
    token_lifetime_seconds: int = 3600
    """``expires_in`` of minted access tokens."""
    grants_per_refresh_token: int = 10
    """Token grants per refresh token per grant window (Zoho: 10 per 10 minutes)."""
    grant_window_seconds: float = 600.0
    latency_seconds: float = 0.0
    """Added to every API call; keeps calls in flight so concurrency limits can be hit."""
    fault_rate: float = 0.0
    """Probability that an API call gets one of ``fault_kinds`` instead of its answer."""
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    fault_seed: int = 0
    fault_endpoints: tuple[str, ...] = ()
    """Only calls to these endpoints get faults, e.g. ``("GET /pricebooks/{id}",)``; empty:
    every API call. Queued faults wait for a matching call."""
    slow_seconds: float = 2.0
    """Delay of the ``slow`` fault."""
    duplicate_rate: float = 0.0
    """Probability that a list page (>1) repeats the previous page's last record on top."""
    max_per_page: int = 200
    default_per_page: int = 200
    expose_pricebook_times: bool = False
    """Zoho's price-list payloads carry no timestamps; set True to add the simulator's own."""
    item_stock_shape: str = "mixed"
    """Per-location stock in ``GET /items/{id}``: ``"locations"`` (``locations[]`` with
    ``location_stock_on_hand``), ``"warehouses"`` (``warehouses[]`` with
    ``warehouse_stock_on_hand``) or ``"mixed"`` (about one item in five, chosen by its
    hash, uses warehouses): Zoho's docs name both, a loader must accept either."""
    bills_move_stock: bool = True
    """A bill created, edited or deleted through the edit API moves the stock of its
    catalogue items (as Zoho does for inventory items); generated bills are history,
    already inside the generated stock."""
    invoices_move_stock: bool = False
    """An invoice saved (not draft or void) or deleted through the edit API takes its
    inventory items' quantities out of (or back into) the primary location's stock, as
    Zoho does. Off by default: the data set's invoices are history, and tests written
    before it expect an invoice edit to leave the items unchanged."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject unknown fault kinds early: a typo would silently disable a fault test."""
        unknown = set(self.fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        if not 0.0 <= self.fault_rate <= 1.0 or not 0.0 <= self.duplicate_rate <= 1.0:
            raise ValueError("fault_rate and duplicate_rate must be between 0 and 1")
        if self.item_stock_shape not in STOCK_SHAPES:
            raise ValueError(f"item_stock_shape must be one of {STOCK_SHAPES}")

    def update(self, **changes: object) -> None:
        """Set several knobs at once (unknown names are an error, not ignored)."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise TypeError(f"unknown simulator setting {name!r}")
            if name in ("fault_kinds", "fault_endpoints"):
                value = tuple(value)  # type: ignore[arg-type]
            setattr(self, name, value)
        self.validate()


@dataclass(frozen=True)
class ItemPlan:
    """How many items of each role the catalogue holds (the demo reproduces the business)."""

    covered: int
    """Active, priced in at least one active sales per_item list."""
    uncovered: int
    """Active, rate > 0, in no active sales per_item list."""
    zero: int
    """Active, rate 0, in no list: a service item, a discontinued item, shipping fees."""
    inactive_listed: int
    """Inactive, but still named in some per_item lists."""
    inactive_unlisted: int

    @property
    def total(self) -> int:
        return (
            self.covered
            + self.uncovered
            + self.zero
            + self.inactive_listed
            + self.inactive_unlisted
        )

    @property
    def active(self) -> int:
        return self.covered + self.uncovered + self.zero

    @property
    def inactive(self) -> int:
        return self.inactive_listed + self.inactive_unlisted

    @classmethod
    def proportional(cls, total: int) -> ItemPlan:
        """Roles in the demo's proportions, for explicit counts (benchmarks)."""
        if total < 1:
            raise ValueError("the catalogue needs at least one item")
        demo = DEMO_SCALE.items
        if total < 10:
            return cls(covered=total, uncovered=0, zero=0, inactive_listed=0, inactive_unlisted=0)
        zero = max(3, total * demo.zero // demo.total)
        uncovered = total * demo.uncovered // demo.total
        listed = total * demo.inactive_listed // demo.total
        unlisted = total * demo.inactive_unlisted // demo.total
        covered = total - zero - uncovered - listed - unlisted
        return cls(covered, uncovered, zero, listed, unlisted)


@dataclass(frozen=True)
class Scale:
    """Size of the generated data set."""

    name: str
    items: ItemPlan
    contacts: int
    invoices: int
    bills: int = -1
    """Bills (purchases from vendors); -1: three for every ten invoices."""

    def __post_init__(self) -> None:
        if self.bills < 0:
            object.__setattr__(self, "bills", self.invoices * 3 // 10)

    @classmethod
    def parse(cls, scale: str | Mapping[str, int] | Scale) -> Scale:
        """Accept ``"unit"``, ``"demo"``, ``"bench"``, a Scale, or ``{"items": n, ...}``."""
        if isinstance(scale, Scale):
            return scale
        if isinstance(scale, str):
            try:
                return NAMED_SCALES[scale]
            except KeyError:
                raise ValueError(f"unknown scale {scale!r}; use {sorted(NAMED_SCALES)}") from None
        unknown = set(scale) - {"items", "contacts", "invoices", "bills"}
        if unknown:
            raise ValueError(f"unknown scale keys {sorted(unknown)}")
        items = int(scale.get("items", 1000))
        invoices = int(scale.get("invoices", items))
        return cls(
            name="custom",
            items=ItemPlan.proportional(items),
            contacts=max(2, int(scale.get("contacts", max(2, items // 10)))),
            invoices=invoices,
            bills=int(scale.get("bills", invoices * 3 // 10)),
        )


UNIT_SCALE = Scale(
    name="unit",
    items=ItemPlan(covered=28, uncovered=4, zero=3, inactive_listed=2, inactive_unlisted=3),
    contacts=12,
    invoices=30,
    bills=12,
)
DEMO_SCALE = Scale(
    name="demo",
    items=ItemPlan(covered=1215, uncovered=94, zero=10, inactive_listed=22, inactive_unlisted=38),
    contacts=200,
    invoices=1000,
    bills=300,
)
BENCH_SCALE = Scale(
    name="bench",
    items=ItemPlan.proportional(1_000_000),
    contacts=20_000,
    invoices=100_000,
    bills=10_000,
)
NAMED_SCALES: dict[str, Scale] = {"unit": UNIT_SCALE, "demo": DEMO_SCALE, "bench": BENCH_SCALE}
