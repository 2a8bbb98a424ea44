"""The report: one static HTML page the owner opens from disk (no server).

    python -m loader.ops.report [--out PATH]     write it (default .local/report.html)

`make report` writes it for the warehouse in use; the webhook service serves the same page
at /report (`render_report(conn)`). On top, the organization, the database it reads and a
plain verdict ("All good" / "Needs attention: 12 products have no price, line items are
63 % loaded"); then each table's completeness, prices and their coverage over time, the
products without a price and why, the age of each table's data, updates and API calls per
day, webhook changes per day; at the end the technician's section (settings, exit codes,
errors as recorded). Times are in the organization's time zone (Zoho's organization
record). A section whose table is not built yet says so in a sentence.
Charts are drawn by plotly, whose JavaScript is embedded in the page, so it works offline.
"""

# queries.py reads the warehouse, verdict.py weighs its facts, charts.py draws the figures,
# page.py assembles the page, __main__.py is the command.

from loader.ops.report.page import NO_DATA, render_report

__all__ = ["NO_DATA", "render_report"]
