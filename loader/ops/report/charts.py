"""The plotly charts of the health report, each returned as an HTML fragment (a div and
its script); the page embeds plotly's JavaScript once (`plotly_js`), so it opens offline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs


def plotly_js() -> str:
    """plotly.js itself, for a <script> element of the page."""
    return get_plotlyjs()


def _daily(figure: go.Figure) -> go.Figure:
    """One category per day on the x axis: readable with a single day of data too."""
    figure.update_xaxes(type="category", title_text="day")
    return figure


def _html(figure: go.Figure) -> str:
    figure.update_layout(
        template="plotly_white",
        height=340,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _percent_axis(title: str) -> dict:
    return {"title": title, "overlaying": "y", "side": "right", "range": [0, 105]}


def coverage_history(points: Sequence[tuple[str, int, int]]) -> str:
    """Bars of active and priced products per day, and the coverage % on a second axis."""
    days = [at for at, _, _ in points]
    percent = [round(100.0 * p / a, 1) if a else None for _, a, p in points]
    figure = go.Figure()
    figure.add_bar(
        x=days, y=[a for _, a, _ in points], name="active products", marker_color="#c7d3e3"
    )
    figure.add_bar(x=days, y=[p for _, _, p in points], name="with a price", marker_color="#3a6ea5")
    figure.add_scatter(
        x=days, y=percent, name="coverage %", yaxis="y2", mode="lines+markers", line_color="#d9822b"
    )
    figure.update_layout(
        barmode="overlay", yaxis={"title": "products"}, yaxis2=_percent_axis("coverage %")
    )
    return _html(_daily(figure))


def runs_per_day(rows: Sequence[tuple[str, int, int, int]], title: str) -> str:
    """Stacked bars of runs per day by outcome, from (day, failed, running, all)."""
    days = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[3] - r[1] - r[2] for r in rows], name="ok", marker_color="#4c9a5b")
    figure.add_bar(x=days, y=[r[1] for r in rows], name="failed", marker_color="#c0392b")
    figure.add_bar(x=days, y=[r[2] for r in rows], name="running", marker_color="#aaaaaa")
    figure.update_layout(barmode="stack", title=title, yaxis={"title": "runs"})
    return _html(_daily(figure))


def api_calls_per_day(rows: Sequence[tuple[str, int, int | None]]) -> str:
    """Bars of API calls per day and a line of the quota left after the day's last run."""
    days = [r[0] for r in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[1] for r in rows], name="API calls", marker_color="#3a6ea5")
    figure.add_scatter(
        x=days,
        y=[r[2] for r in rows],
        name="quota left after the day's last run",
        mode="lines+markers",
        line_color="#d9822b",
    )
    figure.update_layout(yaxis={"title": "calls"})
    return _html(_daily(figure))


def data_age(names: Sequence[str], synced: dict[str, tuple[datetime, float]]) -> str:
    """Horizontal bars: hours since each resource's last successful load."""
    figure = go.Figure()
    figure.add_bar(
        x=[synced[n][1] for n in names],
        y=names,
        orientation="h",
        marker_color="#3a6ea5",
        name="hours since the last successful load",
    )
    figure.update_layout(xaxis={"title": "hours since the last successful load"})
    return _html(figure)


def webhook_events_per_day(rows: Sequence[tuple[str, int, int, int]]) -> str:
    """Bars of events per day and the success rate of the finished ones on a second axis."""
    days = [r[0] for r in rows]
    rate = [round(100.0 * ok / (ok + bad), 1) if ok + bad else None for _, _, ok, bad in rows]
    figure = go.Figure()
    figure.add_bar(x=days, y=[r[1] for r in rows], name="events", marker_color="#3a6ea5")
    figure.add_scatter(
        x=days, y=rate, name="success %", yaxis="y2", mode="lines+markers", line_color="#4c9a5b"
    )
    figure.update_layout(yaxis={"title": "events"}, yaxis2=_percent_axis("success %"))
    return _html(_daily(figure))
