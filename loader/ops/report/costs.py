"""The report's section on purchase costs (issue 24): the products sold or priced below
their last purchase cost, beside the price coverage. Its query and its HTML in one module,
read from the marts `cost_coverage` and `product_costs`; left out (None) while no bill was
ever loaded, so an organization that keeps no bills in Zoho sees no empty section."""

from __future__ import annotations

import html
from typing import Any

from loader.ops.report.queries import Absent, Warehouse

# The products listed at most (the worst margins first); the counts cover them all.
LISTED = 20


def below_cost(wh: Warehouse, schema: str) -> tuple[tuple[int, int, int], list[tuple]] | None:
    """((with a purchase cost, priced below it, sold below it), the worst products), or
    None when no product has a purchase cost (no bill loaded)."""
    if not wh.exists(schema, "cost_coverage"):
        raise Absent("the purchase costs are built by the first dbt build")
    [counts] = wh.rows(
        "select coalesce(sum(with_purchase_cost), 0), coalesce(sum(priced_below_cost), 0),"
        f" coalesce(sum(sold_below_cost), 0) from {schema}.cost_coverage"
    )
    if not counts[0]:
        return None
    worst = wh.rows(
        "select product_name, last_purchase_cost, price, margin, lines_sold_below_cost"
        f" from {schema}.product_costs where is_priced_below_cost or is_sold_below_cost"
        " order by margin nulls first, product_name limit %s",
        (LISTED,),
    )
    return (int(counts[0]), int(counts[1]), int(counts[2])), worst


def _number(value: Any) -> str:
    return "–" if value is None else f"{float(value):,.2f}".rstrip("0").rstrip(".")


def below_cost_section(ctx: Any) -> str | None:
    """Cards with the counts and a table of the products below their cost."""
    found = below_cost(ctx.wh, ctx.schema)
    if found is None:
        return None
    (bought, priced, sold), worst = found
    cards = "".join(
        f'<div class="card"><div class="value">{value:,}</div>'
        f'<div class="label">{html.escape(label)}</div></div>'
        for value, label in (
            (bought, "products with a purchase cost"),
            (priced, "priced below their last cost"),
            (sold, "sold below their last cost"),
        )
    )
    if not worst:
        return f'<div class="cards">{cards}</div><p>No product is below its last cost.</p>'
    head = "".join(
        f"<th>{h}</th>"
        for h in ("product", "last cost", "price", "margin", "invoice lines below cost")
    )
    rows = [
        (name, _number(cost), _number(price), _number(margin), f"{lines:,}")
        for name, cost, price, margin, lines in worst
    ]
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="cards">{cards}</div>'
        "<p>Last cost: the newest bill line's unit cost in the base currency; sold below: "
        "an invoice line since that bill at a lower unit price.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
