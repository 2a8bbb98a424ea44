"""The health report: one static HTML page a shop owner opens from disk (no server).

    python -m loader.ops.report [--out PATH]     write it (default .local/report.html)

`make report` writes it for the warehouse in use; the webhook service serves the same page
at /report (`render_report(conn)`). Sections: price coverage over time (from the
snapshots), the products without a price and why, runs per day with their failures, API
calls per day against the quota, data age per resource and, once the webhook receiver has
stored events, events per day and their success rate.

Every section reads its tables defensively: a table that does not exist yet (no build, no
webhook service, an older loader) or holds no rows shows "no data yet", never an error.
Charts are drawn by plotly, whose JavaScript is embedded in the page, so it works offline.
"""

# queries.py reads the warehouse, charts.py draws the figures, page.py assembles the page,
# __main__.py is the command.

from loader.ops.report.page import NO_DATA, render_report

__all__ = ["NO_DATA", "render_report"]
