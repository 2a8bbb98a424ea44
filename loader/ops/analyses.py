"""dbt analyses run for an analyst: compile with the question's values, run in psql.

    python -m loader.ops.analyses price-on-date [--sku SKU] [--as-of INSTANT] [--pricelist NAME]

`make price-on-date SKU=... AS_OF=...` runs the first: dbt_project/analyses/
product_price_on_date.sql ("what was this product's Consumer price on 1 October?")
compiled by dbt, so the same rules as docs/data-model.md's hand-written query, and run by
psql on the warehouse in use (PG* variables, `loader.warehouse exec`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import datetime, timezone

from loader import warehouse
from loader.names import ROOT
from loader.ops import dbt


def compile_analysis(name: str, variables: dict[str, str]) -> str:
    """The SQL of analysis `name` compiled by dbt with `variables` (dbt --vars)."""
    result = subprocess.run(
        dbt.command("compile", "-q", "-s", name, "--vars", json.dumps(variables)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(result.returncode)
    return result.stdout


def price_on_date_vars(sku: str, as_of: str, pricelist: str) -> dict[str, str]:
    """The analysis's vars; an empty value keeps its default, except `as_of`: now (UTC),
    since history starts with the first build and the analysis's example date may predate it."""
    variables = {"as_of": as_of or datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if sku:
        variables["sku"] = sku
    if pricelist:
        variables["pricelist"] = pricelist
    return variables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loader.ops.analyses")
    commands = parser.add_subparsers(dest="command", required=True)
    price = commands.add_parser("price-on-date", help="a product's published price at an instant")
    price.add_argument("--sku", default="", help="one product's SKU (default: every product)")
    price.add_argument("--as-of", default="", help="an instant with its offset (default: now)")
    price.add_argument("--pricelist", default="", help="a price list name or id (default Consumer)")
    args = parser.parse_args(argv)
    variables = price_on_date_vars(args.sku.strip(), args.as_of.strip(), args.pricelist.strip())
    sql = compile_analysis("product_price_on_date", variables)
    print(f"-- product_price_on_date with {json.dumps(variables)}", file=sys.stderr)
    return subprocess.call([warehouse._psql_binary(), "-X", "-c", sql])


if __name__ == "__main__":
    sys.exit(main())
