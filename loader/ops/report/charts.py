"""The plotly charts of the report, each returned as an HTML fragment (a div and its
script); the page embeds plotly's JavaScript once (`plotly_js`), so it opens offline.

Axes are for a reader, not an engineer: counts have whole-number ticks from zero, shares
are 0-100 % in quarters, ages are in the unit that reads best (minutes, hours or days).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from loader.ops.report.verdict import age_in_words

BLUE, LIGHT_BLUE, ORANGE, GREEN, RED, GREY = (
    "#3a6ea5",
    "#c7d3e3",
    "#d9822b",
    "#4c9a5b",
    "#c0392b",
    "#aaaaaa",
)


def plotly_js() -> str:
    """plotly.js itself, for a <script> element of the page."""
    return get_plotlyjs()


def whole_step(largest: float, ticks: int = 5) -> int:
    """A tick step of 1, 2 or 5 times a power of ten giving about `ticks` ticks up to
    `largest`; never below 1, so a count axis shows no 0.2."""
    if largest <= ticks:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def count_axis(title: str, largest: float) -> dict[str, Any]:
    """A y axis of counts: whole numbers with thousands separators, from zero."""
    step = whole_step(largest)
    top = max(step, math.ceil(largest * 1.08 / step) * step)
    return {
        "title": title,
        "range": [0, top],
        "dtick": step,
        "tick0": 0,
        "tickformat": ",d",
        "rangemode": "tozero",
    }


def percent_axis(title: str) -> dict[str, Any]:
    """A second y axis of shares, 0-100 % in quarters, without a grid of its own."""
    return {
        "title": title,
        "overlaying": "y",
        "side": "right",
        "range": [0, 104],
        "tickvals": [0, 25, 50, 75, 100],
        "ticktext": ["0 %", "25 %", "50 %", "75 %", "100 %"],
        "showgrid": False,
    }


def _daily(figure: go.Figure, days: int) -> go.Figure:
    """One category per day on the x axis: readable with a single day of data too (a
    narrower bar while there are few days)."""
    figure.update_xaxes(type="category", title_text="day (the organization's time zone)")
    figure.update_layout(bargap=0.7 if days < 4 else 0.35)
    return figure


def _html(figure: go.Figure, name: str, height: int = 340) -> str:
    """The chart's div (id `chart-<name>`) and script."""
    figure.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 70, "r": 70, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{name}",
        config={"displaylogo": False, "displayModeBar": False, "responsive": True},
    )


def coverage_history(points: Sequence[tuple[str, int, int]]) -> str:
    """Bars of active and priced products per day, and the coverage % on a second axis."""
    days = [at for at, _, _ in points]
    percent = [round(100.0 * p / a, 1) if a else None for _, a, p in points]
    figure = go.Figure()
    figure.add_bar(
        x=days, y=[a for _, a, _ in points], name="active products", marker_color=LIGHT_BLUE
    )
    figure.add_bar(x=days, y=[p for _, _, p in points], name="with a price", marker_color=BLUE)
    figure.add_scatter(
        x=days,
        y=percent,
        name="price coverage",
        yaxis="y2",
        mode="lines+markers",
        line_color=ORANGE,
        hovertemplate="%{y} %",
    )
    figure.update_layout(
        barmode="overlay",
        yaxis=count_axis("products", max((a for _, a, _ in points), default=0)),
        yaxis2=percent_axis("price coverage"),
    )
    return _html(_daily(figure, len(days)), "price-coverage")


def runs_per_day(rows: Sequence[tuple[str, int, int, int]], unit: str) -> str:
    """Stacked bars of runs per day by outcome, from (day, failed, running, all); `unit`
    names the runs (updates, jobs) and the chart."""
    days = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(
        x=days, y=[r[3] - r[1] - r[2] for r in rows], name="succeeded", marker_color=GREEN
    )
    figure.add_bar(x=days, y=[r[1] for r in rows], name="failed", marker_color=RED)
    figure.add_bar(x=days, y=[r[2] for r in rows], name="still running", marker_color=GREY)
    figure.update_layout(
        barmode="stack", yaxis=count_axis(unit, max((r[3] for r in rows), default=0))
    )
    return _html(_daily(figure, len(days)), unit, height=300)


def api_calls_per_day(rows: Sequence[tuple[str, int, int | None]]) -> str:
    """Bars of API calls per day and a line of the quota left after the day's last run."""
    days = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[1] for r in rows], name="calls made", marker_color=BLUE)
    figure.add_scatter(
        x=days,
        y=[r[2] for r in rows],
        name="calls left after the day's last update",
        mode="lines+markers",
        line_color=ORANGE,
    )
    largest = max((max(r[1], r[2] or 0) for r in rows), default=0)
    figure.update_layout(yaxis=count_axis("Zoho API calls", largest))
    return _html(_daily(figure, len(days)), "api-calls", height=300)


def age_unit(largest_hours: float) -> tuple[str, float]:
    """(unit, hours per unit) that reads best for ages up to `largest_hours`."""
    if largest_hours < 2:
        return "minutes", 1 / 60
    if largest_hours < 72:
        return "hours", 1.0
    return "days", 24.0


def data_age(ages: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars: how long ago each table was last updated, in one readable unit."""
    unit, per = age_unit(max(hours for _, hours in ages))
    values = [round(hours / per, 1) for _, hours in ages]
    figure = go.Figure()
    figure.add_bar(
        x=values,
        y=[name for name, _ in ages],
        orientation="h",
        marker_color=BLUE,
        text=[age_in_words(hours) for _, hours in ages],
        textposition="outside",
        cliponaxis=False,
        hovertemplate=f"%{{x}} {unit}<extra></extra>",
    )
    top = max(values)
    step = whole_step(top)
    figure.update_layout(
        xaxis={
            "title": f"{unit} since the last update",
            "range": [0, math.ceil(top * 1.25 / step) * step or 1],
            "dtick": step,
            "tickformat": ",d",
        },
        yaxis={"autorange": "reversed"},
        showlegend=False,
    )
    return _html(figure, "data-age", height=60 + 34 * len(ages))


def webhook_events_per_day(rows: Sequence[tuple[str, int, int, int]]) -> str:
    """Bars of events per day and the success rate of the finished ones on a second axis."""
    days = [r[0] for r in rows]
    rate = [round(100.0 * ok / (ok + bad), 1) if ok + bad else None for _, _, ok, bad in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[1] for r in rows], name="changes received", marker_color=BLUE)
    figure.add_scatter(
        x=days,
        y=rate,
        name="applied",
        yaxis="y2",
        mode="lines+markers",
        line_color=GREEN,
        hovertemplate="%{y} %",
    )
    figure.update_layout(
        yaxis=count_axis("changes", max((r[1] for r in rows), default=0)),
        yaxis2=percent_axis("applied"),
    )
    return _html(_daily(figure, len(days)), "webhook-events", height=300)
