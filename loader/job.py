"""The whole job, as `make run` and `make demo` run it: load Zoho into `zoho_staging`,
then `dbt build` (models, tests, snapshots), then `dbt source freshness`, then a summary.

    python -m loader.job           production: Zoho as configured in .dlt/ or the environment
    python -m loader.job --demo    the Zoho simulator's demo data set instead of Zoho

Each step runs as its own process (the loader's and dbt's real command lines), so this
module only sequences them, times them and turns their exit codes into one: the first
failing step's code. A load that stopped at the daily API quota still builds the marts
from what it loaded, then exits with the loader's quota code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from loader import warehouse

ROOT = warehouse.ROOT
DEMO_DIR = ROOT / ".local" / "demo"
# Kept in step with loader.settings.EXIT_QUOTA_EXHAUSTED; the job must not import the loader
# (it runs in its own process) just for a number.
EXIT_QUOTA_EXHAUSTED = 3
# The job's build: models, data tests and snapshots. dbt's unit tests check the SQL of the
# pricing rules against fixed inputs, which the data cannot change: they run in `make test`
# (CI), as dbt advises, not every 15 minutes in production. Nor does it write
# target/manifest.json and run_results.json (0.3-0.5 s a run; nothing reads them): a failure
# is in the job's output, and `make docs` or a `dbt build` by hand write them.
DBT_BUILD = ["build", "--exclude-resource-type", "unit_test", "--no-write-json"]


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _step(title: str, argv: Sequence[str], env: dict[str, str], timings: list) -> int:
    print(f"==> {title}", flush=True)
    started = time.monotonic()
    code = subprocess.call(list(argv), env=env, cwd=ROOT)
    timings.append((title, time.monotonic() - started, code))
    return code


def _demo_environment(stack: ExitStack) -> dict[str, str]:
    """Start the simulator with the demo data set and point the loader at it.

    The simulator's per-minute limit and the loader's limiter are raised so the demo's
    first load (about a thousand invoice details) takes seconds instead of ten minutes."""
    from zoho_sim import ZohoSimulator

    sim = stack.enter_context(ZohoSimulator(scale="demo", seed=1, per_minute=100_000))
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    print(f"==> Zoho Books simulator (demo data) at {sim.base_url}", flush=True)
    prefix = "SOURCES__ZOHO_BOOKS__"
    return {
        **sim.env(),
        f"{prefix}TOKEN_CACHE_PATH": str(DEMO_DIR / "zoho_token.json"),
        f"{prefix}MAX_CALLS_PER_MINUTE": "100000",
        f"{prefix}DETAILS_BUDGET": "100000",
        "DLT_PIPELINES_DIR": str(DEMO_DIR / "dlt"),
    }


MARTS = (
    "products",
    "pricelists",
    "product_prices",
    "product_price_coverage",
    "customers",
    "invoices",
    "invoice_line_items",
)


def print_summary(pg: dict[str, str]) -> None:
    """Print what the job built: rows per mart, then analytics.price_coverage."""
    import psycopg2

    schema = os.environ.get("ANALYTICS_SCHEMA", "analytics")
    with (
        psycopg2.connect(
            host=pg["PGHOST"],
            port=pg["PGPORT"],
            user=pg["PGUSER"],
            password=pg["PGPASSWORD"],
            dbname=pg["PGDATABASE"],
        ) as conn,
        conn.cursor() as cur,
    ):
        counts = []
        for mart in MARTS:
            cur.execute(f'select count(*) from "{schema}"."{mart}"')
            counts.append((mart, cur.fetchone()[0]))
        cur.execute(f'select * from "{schema}".price_coverage')
        coverage = list(zip([d.name for d in cur.description], cur.fetchone(), strict=True))
    print(f"\nMarts in schema {schema} (rows):")
    for mart, count in counts:
        print(f"  {mart:<26}{count:>10,}")
    print(f"\nPrice coverage ({schema}.price_coverage):")
    for name, value in coverage:
        print(f"  {name:<26}{value!s:>10}")


def run(demo: bool) -> int:
    timings: list[tuple[str, float, int]] = []
    with ExitStack() as stack:
        env = dict(os.environ)
        if demo and warehouse.is_embedded(env):
            env.setdefault("PGDATABASE", "zoho_demo")
        pg = warehouse.connection_env(env)
        env.update(pg)
        env.setdefault("DBT_PROFILES_DIR", str(ROOT))
        if demo:
            env.update(_demo_environment(stack))
        where = f"{pg['PGDATABASE']} on {pg['PGHOST']}"
        print(f"==> warehouse: {where}", flush=True)

        load = _step(
            "load Zoho Books into zoho_staging",
            [sys.executable, "-m", "loader", "run"],
            env,
            timings,
        )
        if load not in (0, EXIT_QUOTA_EXHAUSTED):
            return _finish(timings, load)
        build = _step(
            "dbt build (models, tests, snapshots)", [_bin("dbt"), *DBT_BUILD], env, timings
        )
        if build != 0:
            return _finish(timings, build)
        fresh = _step("dbt source freshness", [_bin("dbt"), "source", "freshness"], env, timings)
        print_summary(pg)
        return _finish(timings, load or fresh)


def _finish(timings: list[tuple[str, float, int]], code: int) -> int:
    print("\nSteps:")
    for title, seconds, step_code in timings:
        print(f"  {seconds:7.1f}s  {'ok ' if step_code == 0 else f'exit {step_code}'}  {title}")
    print(f"  {sum(t for _, t, _ in timings):7.1f}s  total")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loader.job", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--demo", action="store_true", help="run against the Zoho simulator's demo data"
    )
    args = parser.parse_args(argv)
    try:
        return run(demo=args.demo)
    except warehouse.WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
