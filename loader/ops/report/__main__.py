"""`python -m loader.ops.report [--out PATH]`: write the report for the warehouse named
by the PG* variables (`make report` sets them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import loader.ops.report
from loader.errors import EXIT_WAREHOUSE_UNREACHABLE
from loader.names import ROOT
from loader.ops.report import render_report

DEFAULT_OUT = ROOT / ".local" / "report.html"


def _connect():
    import psycopg2

    return psycopg2.connect("")  # libpq reads the PG* variables (loader.warehouse exec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader.ops.report",
        description=loader.ops.report.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the HTML file to write")
    args = parser.parse_args(argv)
    try:
        conn = _connect()
    except Exception as exc:  # psycopg2.OperationalError: refused, no such database ...
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"error: cannot connect to the warehouse: {first_line}", file=sys.stderr)
        return EXIT_WAREHOUSE_UNREACHABLE
    try:
        page = render_report(conn)
    finally:
        conn.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    print(f"report written to {args.out.resolve()} (open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
