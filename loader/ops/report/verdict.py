"""The report's first line: one plain verdict from a few facts about the warehouse.

`verdict(facts)` is pure; the page reads the facts (`page.read_facts`) and shows the
sentence at the top, coloured by its level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from loader.ops.health import Thresholds

DEFAULTS = Thresholds()

Level = Literal["good", "attention", "problem"]


@dataclass(frozen=True)
class Facts:
    """What the verdict weighs; None where the warehouse cannot say yet (no dbt build)."""

    hours_since_update: float | None  # the last successful load; None: never
    last_update_failed: bool
    products_without_price: int | None
    line_items_percent: float | None  # invoices whose lines are loaded, of all invoices


def age_in_words(hours: float) -> str:
    """`12 minutes`, `5 hours`, `3 days`: whole units an owner reads at a glance."""
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if hours < 48:
        whole = round(hours)
        return f"{whole} hour{'s' if whole != 1 else ''}"
    return f"{round(hours / 24)} days"


def percent_in_words(percent: float) -> str:
    """Rounded down below 100: 99.6 % loaded is not "100 %"."""
    shown = math.floor(percent) if percent < 100 else 100
    return f"{shown} %"


def verdict(
    facts: Facts,
    stale_hours: float = DEFAULTS.warn_age_hours,
    critical_hours: float = DEFAULTS.critical_age_hours,
) -> tuple[Level, str]:
    """(level, sentence): "All good: ..." or "Needs attention: 12 products have no price,
    line items are 63 % loaded". Stale data and a failed update are a problem, missing
    prices and incomplete tables need attention."""
    if facts.hours_since_update is None:
        return "problem", "Needs attention: nothing has been loaded from Zoho Books yet."
    problems: list[str] = []
    notes: list[str] = []
    if facts.last_update_failed:
        problems.append("the last update failed")
    age = facts.hours_since_update
    if age > critical_hours:
        problems.append(f"the data is {age_in_words(age)} old")
    elif age > stale_hours:
        notes.append(f"the data is {age_in_words(age)} old")
    if facts.products_without_price:
        count = facts.products_without_price
        notes.append(f"{count} product{'s have' if count != 1 else ' has'} no price")
    if facts.line_items_percent is not None and facts.line_items_percent < 100:
        notes.append(f"line items are {percent_in_words(facts.line_items_percent)} loaded")
    if not problems and not notes:
        return "good", f"All good: the data was updated {age_in_words(age)} ago and is complete."
    level: Level = "problem" if problems else "attention"
    return level, "Needs attention: " + ", ".join(problems + notes) + "."
