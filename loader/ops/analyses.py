"""Questions analysts ask often, answered from the marts with one plain query each.

    python -m loader.ops.analyses price-on-date --sku SKU [--as-of INSTANT] [--pricelist NAME]
        [--org ORGANIZATION_ID]

`make price-on-date SKU=... AS_OF=... PRICELIST=...` runs it on the warehouse `make psql`
opens: "what was this product's Consumer price on 1 October?", read from
analytics.product_price_history with the filter docs/data-model.md shows
(`valid_from <= T and (valid_to is null or valid_to > T)`). The instant must carry its
UTC offset, so the answer is the same in every session time zone. When there is no
answer it says why: an unknown SKU (with close ones), an unknown price list (with the
lists), an instant before the product's history (with when it starts), or a time
without a price in that list. With several organizations in the warehouse, `--org` asks
one of them; without it every organization's answer is printed, each with its id.

Exit codes: 0 a price; 1 no price at that instant (the reason printed) or no marts yet;
2 a usage error (no SKU, an instant without its offset); 6 the warehouse unreachable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import psycopg2.errors

from loader import warehouse
from loader.errors import EXIT_CONFIG, ConfigError, LoaderError
from loader.names import analytics_schema

EXIT_NO_PRICE = 1

# Two zones far apart: an instant written without its offset reads differently in them.
_PROBE_ZONES = ("UTC", "Pacific/Kiritimati")

# `%(org)s` empty: every organization
ORG_FILTER = "(%(org)s = '' or organization_id = %(org)s)"

PRICE_AT = (
    """
select organization_id, sku, product_name, pricelist_name, price, currency_code, price_source,
       valid_from, valid_to
from {schema}.product_price_history
where sku = %(sku)s
  and """
    + ORG_FILTER
    + """
  and (pricelist_id = %(pricelist)s or lower(trim(pricelist_name)) = lower(trim(%(pricelist)s)))
  and valid_from <= %(as_of)s
  and (valid_to is null or valid_to > %(as_of)s)
order by organization_id, pricelist_name
"""
)

# Close SKUs for one that matches none: those containing it, then those sharing the
# longest prefix with it (among those sharing its first three characters), then names
# containing it; no extension needed (pg_trgm may not be installed).
CLOSE_SKUS = """
with candidates as (
    select sku, product_name,
           strpos(upper(sku), upper(%(sku)s)) > 0 as contains_it,
           (select count(*) from generate_series(1, least(length(sku), length(%(sku)s))) as n
            where upper(left(sku, n)) = upper(left(%(sku)s, n))) as common_prefix
    from {schema}.products
    where sku is not null
      and (upper(left(sku, 3)) = upper(left(%(sku)s, 3))
           or strpos(upper(sku), upper(%(sku)s)) > 0
           or strpos(lower(product_name), lower(%(sku)s)) > 0)
)
select sku, product_name from candidates
order by contains_it desc, common_prefix desc, sku
limit 5
"""


def parse_instant(cur: Any, text: str) -> datetime:
    """`text` as an instant, parsed by PostgreSQL (any form it reads, `now` included); one
    without its UTC offset reads differently in two zones and is refused."""
    values = []
    cur.execute("begin")  # one transaction: `now` is one instant in both zones
    for zone in _PROBE_ZONES:
        cur.execute("select set_config('TimeZone', %s, false)", (zone,))
        try:
            cur.execute("select %s::timestamptz", (text,))
        except psycopg2.errors.DataError as exc:
            cur.execute("rollback")
            raise ConfigError(
                f"AS_OF {text!r} is not an instant ({str(exc).splitlines()[0]}): "
                'write it like "2026-10-01 23:59:59+03:00"'
            ) from None
        values.append(cur.fetchone()[0])
    cur.execute("commit")
    # back to the session's own zone (PGTZ ...): the answer must not depend on it
    cur.execute("reset TimeZone")
    if values[0] != values[1]:
        raise ConfigError(
            f"AS_OF {text!r} has no UTC offset, so its instant depends on the time zone: "
            'add one, e.g. AS_OF="2026-10-01 23:59:59+03:00"'
        )
    return values[0]


def price_on_date(
    cur: Any, schema: str, sku: str, as_of: datetime, pricelist: str, org: str = ""
) -> int:
    """Print the price(s) of `sku` in `pricelist` (name or id; empty: the default list) at
    `as_of`, in organization `org` (empty: every one), or why there is none; the exit
    code."""
    if not pricelist:
        cur.execute(
            f"select pricelist_name from {schema}.pricelists where is_default and {ORG_FILTER}"
            " order by organization_id limit 1",
            {"org": org},
        )
        row = cur.fetchone()
        pricelist = row[0] if row else "Consumer"
    question = {"sku": sku, "pricelist": pricelist, "as_of": as_of, "org": org}
    cur.execute(PRICE_AT.format(schema=schema), question)
    rows = cur.fetchall()
    if rows:
        print(f"{sku} in {pricelist} at {_instant(as_of)}:")
        header = ("sku", "product", "price list", "price", "currency", "source", "from", "to")
        table = [
            (s, name, pl, str(price), cur_code, src, _instant(start), _instant(end) or "(now)")
            for _, s, name, pl, price, cur_code, src, start, end in rows
        ]
        if len({row[0] for row in rows}) > 1:  # several organizations answer: say whose
            _print_table(
                ("organization", *header),
                [(row[0], *line) for row, line in zip(rows, table, strict=True)],
            )
        else:
            _print_table(header, table)
        return 0
    print(why_no_price(cur, schema, sku, pricelist, as_of, org))
    return EXIT_NO_PRICE


def why_no_price(
    cur: Any, schema: str, sku: str, pricelist: str, as_of: datetime, org: str = ""
) -> str:
    """The reason no version answers: unknown SKU, unknown list, before the history, or a
    time the product had no price in that list."""
    cur.execute(
        f"select product_id from {schema}.products where sku = %(sku)s and {ORG_FILTER}",
        {"sku": sku, "org": org},
    )
    if not cur.fetchall():
        cur.execute(CLOSE_SKUS.format(schema=schema), {"sku": sku})
        close = [f"{s} ({name})" for s, name in cur.fetchall()]
        hint = f"; close ones: {', '.join(close)}" if close else ""
        return f"no product has SKU {sku!r}{hint}"
    cur.execute(
        f"select pricelist_name from {schema}.pricelists "
        "where (pricelist_id = %(p)s or lower(trim(pricelist_name)) = lower(trim(%(p)s))) "
        f"and {ORG_FILTER}",
        {"p": pricelist, "org": org},
    )
    if not cur.fetchall():
        cur.execute(
            f"select pricelist_name from {schema}.pricelists "
            "where is_active and sales_or_purchase_type = 'sales' "
            "order by pricelist_name"
        )
        lists = ", ".join(name for (name,) in cur.fetchall())
        return f"no price list named {pricelist!r}; the sales lists: {lists}"
    cur.execute(
        f"select min(valid_from), max(valid_to), bool_or(is_current) "
        f"from {schema}.product_price_history "
        "where sku = %(sku)s and (pricelist_id = %(pricelist)s "
        f"or lower(trim(pricelist_name)) = lower(trim(%(pricelist)s))) and {ORG_FILTER}",
        {"sku": sku, "pricelist": pricelist, "org": org},
    )
    first, last_end, current = cur.fetchone()
    if first is None:
        cur.execute(f"select min(valid_from) from {schema}.product_price_history")
        (start,) = cur.fetchone()
        since = (
            f" (history starts {_instant(start)})" if start else " (no history yet: run dbt build)"
        )
        return f"{sku} has never had a price in {pricelist}{since}"
    if as_of < first:
        return (
            f"{sku}'s price history in {pricelist} starts {_instant(first)}, after "
            f"{_instant(as_of)}: ask for an instant from then on"
        )
    if not current and last_end is not None and as_of >= last_end:
        return f"{sku} has had no price in {pricelist} since {_instant(last_end)}"
    return f"{sku} had no price in {pricelist} at {_instant(as_of)} (a gap in its history)"


def _instant(value: datetime | None) -> str:
    """An instant in UTC with its offset, unambiguous in any zone; fractions of a second
    only when it has some (a build's instant: an AS_OF to the second may precede it)."""
    if value is None:
        return ""
    text = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0")
    return text.rstrip(".") + "+00:00"


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in (header, ["-" * width for width in widths], *rows):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)
            ).rstrip()
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loader.ops.analyses")
    commands = parser.add_subparsers(dest="command", required=True)
    price = commands.add_parser(
        "price-on-date",
        help="a product's published price at an instant",
        description="A product's published price in a price list at an instant, from "
        "analytics.product_price_history. make price-on-date SKU=BG-10705-1358 "
        'AS_OF="2026-10-01 23:59:59+03:00" PRICELIST="Retail IQD"',
    )
    price.add_argument("--sku", default="", help="the product's SKU (required)")
    price.add_argument("--as-of", default="", help="an instant with its UTC offset (default: now)")
    price.add_argument(
        "--pricelist", default="", help="a price list name or id (default: the default list)"
    )
    price.add_argument("--org", default="", help="an organization id (default: every organization)")
    args = parser.parse_args(argv)
    sku = args.sku.strip()
    if not sku:
        price.print_usage(sys.stderr)
        print(
            "error: which product? give its SKU: make price-on-date SKU=BG-10705-1358 "
            '[AS_OF="2026-10-01 23:59:59+03:00"] [PRICELIST="Retail IQD"]',
            file=sys.stderr,
        )
        return EXIT_CONFIG
    schema = analytics_schema()
    try:
        pg = warehouse.connection_env()
        pg = {**pg, "PGDATABASE": warehouse.analyst_database(pg) or pg["PGDATABASE"]}
        conn = warehouse.connect(pg, "zoho_books price-on-date")
        try:
            with conn.cursor() as cur:
                as_of = parse_instant(cur, args.as_of.strip() or "now")
                return price_on_date(
                    cur, schema, sku, as_of, args.pricelist.strip(), args.org.strip()
                )
        finally:
            conn.close()
    except psycopg2.errors.UndefinedTable as exc:
        print(
            f"error: {str(exc).splitlines()[0]} in database {pg['PGDATABASE']}: "
            "run the job (make run) or dbt build first",
            file=sys.stderr,
        )
        return EXIT_NO_PRICE
    except LoaderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except warehouse.WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
