"""`make demo`'s real-time part: a price changed in Zoho reaches `analytics.product_prices`.

Runs under the simulator's runner, after the demo's job built the marts:

    python -m zoho_sim run -- python -m zoho_sim.realtime_demo

It starts the webhook service (`python -m loader serve` on a free loopback port, with its
worker), points the simulator's workflow-rule webhooks at it (signed with a secret made
for the run), changes one product's rate through the simulator's admin API
(`$ZOHO_SIM_URL/_sim/update_item`), waits for the new price in `product_prices` and prints
the row and how long it took. The simulator only: against Zoho it refuses to run (exit 2).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2
import requests

from loader import warehouse
from loader.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNEXPECTED
from loader.warehouse.webhook_events import connect_kwargs
from loader.zoho.records import parse_zoho_timestamp

DEMO_DATABASE = "zoho_demo"  # the demo job's database on the embedded server
# how long the demo waits for the new price (DEMO_WAIT_SECONDS: a test on a busy machine)
WAIT_SECONDS = float(os.environ.get("DEMO_WAIT_SECONDS") or 120.0)
SIM_URL = "ZOHO_SIM_URL"


def main() -> int:
    sim_url = os.environ.get(SIM_URL, "").rstrip("/")
    if not sim_url:
        print(
            f"error: {SIM_URL} is not set: run this under the simulator "
            "(python -m zoho_sim run -- python -m zoho_sim.realtime_demo)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    env = dict(os.environ)
    if warehouse.is_embedded(env):
        env.setdefault("PGDATABASE", DEMO_DATABASE)
    pg = warehouse.connection_env(env)
    env.update(pg)
    # its files (service log, dlt state, token cache); a test sets DEMO_DIR elsewhere
    demo_dir = Path(os.environ.get("DEMO_DIR") or warehouse.ROOT / ".local" / "demo")
    demo_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)  # letters and digits, as Zoho's secrets
    env.update(
        {
            "SOURCES__ZOHO_BOOKS__WEBHOOK_SECRET": secret,
            "SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH": str(demo_dir / "webhooks_token.json"),
            "DLT_PIPELINES_DIR": str(demo_dir / "dlt"),
        }
    )
    conn = psycopg2.connect(**connect_kwargs(pg))
    conn.autocommit = True
    try:
        product = _a_product(conn)
        if product is None:
            print(
                "error: analytics.product_prices has no product: run the demo's job first "
                "(make demo)",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        service, url = start_service(env, demo_dir / "serve.log")
        print(f"==> webhook service (python -m loader serve) at {url}", flush=True)
        try:
            _admin(sim_url, "configure_webhooks", url=f"{url}/webhooks/zoho", secret=secret)
            return _change_a_price(sim_url, conn, product)
        finally:
            service.terminate()
            service.wait(timeout=60)
    finally:
        conn.close()


def _change_a_price(sim_url: str, conn: Any, product: tuple[str, str, str]) -> int:
    product_id, sku, name = product
    before = product_price_rows(conn, product_id)
    with conn.cursor() as cur:
        cur.execute(
            "select rate, last_modified_time from zoho_staging.items where item_id = %s",
            (product_id,),
        )
        rate, stored_at = cur.fetchone()
    old = Decimal(rate or 0).normalize()
    # The edit must be newer than every version of the item seen so far: the stored one
    # and those earlier demos' webhooks delivered (the simulator's clock starts over each
    # run, and the same record at the same time again is a redelivery to the receiver,
    # not a new edit). Zoho's stamp has seconds.
    latest = max([t for t in (stored_at, *_webhook_versions(conn, product_id)) if t], default=None)
    now = parse_zoho_timestamp(requests.get(f"{sim_url}/_sim/state", timeout=30).json()["now"])
    behind = (latest - now).total_seconds() if now and latest else 0
    _admin(sim_url, "advance", max(1, int(behind) + 1))
    new = (old * Decimal("1.1") + 1).quantize(Decimal("1"))
    print(f"==> Zoho (simulator): the rate of {sku} {name!r}: {old:f} -> {new:f}", flush=True)
    started = time.perf_counter()
    item = _admin(sim_url, "update_item", product_id, rate=float(new))
    while time.perf_counter() - started < WAIT_SECONDS:
        after = product_price_rows(conn, product_id)
        if after != before:
            seconds = time.perf_counter() - started
            break
        time.sleep(0.1)
    else:
        print(
            f"error: the new price was not in analytics.product_prices after "
            f"{WAIT_SECONDS:.0f} s: see serve.log in .local/demo (or DEMO_DIR)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    print(
        f"==> analytics.product_prices {seconds:.1f} s later (webhook -> receiver -> "
        f"worker -> dbt build), modified {item.get('last_modified_time')}:"
    )
    columns = ("pricelist_id", "price", "currency_code", "price_source")
    print("  " + "  ".join(f"{c:<20}" for c in columns))
    for row in after:
        mark = "  <- new" if row not in before else ""
        print("  " + "  ".join(f"{v!s:<20}" for v in row) + mark)
    return EXIT_OK


def _webhook_versions(conn: Any, item_id: str) -> list[Any]:
    """The last_modified_time of every stored webhook event of the item (none before the
    receiver ever ran)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('zoho_staging.webhook_events')")
        if cur.fetchone()[0] is None:
            return []
        cur.execute(
            "select distinct last_modified_time from zoho_staging.webhook_events"
            " where module = 'items' and entity_id = %s and last_modified_time is not null",
            (item_id,),
        )
        stamps = []
        for (text,) in cur.fetchall():
            try:
                stamps.append(parse_zoho_timestamp(text))
            except ValueError:  # a malformed time was refused; it is no version
                continue
        return stamps


def _a_product(conn: Any) -> tuple[str, str, str] | None:
    """A product priced by its own rate somewhere (a rate change shows in the mart)."""
    with conn.cursor() as cur:
        cur.execute("select to_regclass('analytics.product_prices')")
        if cur.fetchone()[0] is None:
            return None
        cur.execute(
            "select p.product_id, p.sku, p.product_name from analytics.product_prices pp"
            " join analytics.products p using (organization_id, product_id)"
            " where pp.price_source = 'default' order by p.product_id limit 1"
        )
        found = cur.fetchone()
    return None if found is None else (str(found[0]), str(found[1]), str(found[2]))


def product_price_rows(conn: Any, product_id: str) -> list[tuple]:
    """The product's rows of analytics.product_prices (also used by bench/realtime.py)."""
    with conn.cursor() as cur:
        cur.execute(
            "select pricelist_id, price, currency_code, price_source"
            " from analytics.product_prices where product_id = %s order by 1",
            (product_id,),
        )
        return cur.fetchall()


def _admin(sim_url: str, call: str, *args: Any, **kwargs: Any) -> Any:
    answer = requests.post(
        f"{sim_url}/_sim/{call}", json={"args": list(args), "kwargs": kwargs}, timeout=30
    )
    answer.raise_for_status()
    return answer.json()["result"]


def start_service(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """`python -m loader serve` on a free loopback port, its output in `log_path`; returns
    once it answers (also used by bench/realtime.py)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open(log_path, "a") as log:
        service = subprocess.Popen(
            [sys.executable, "-m", "loader", "serve", "--port", str(port)],
            cwd=warehouse.ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and service.poll() is None:
        try:
            requests.get(f"{url}/health", timeout=2)
            return service, url
        except requests.ConnectionError:
            time.sleep(0.1)
    service.terminate()
    raise SystemExit(f"error: `loader serve` did not answer within 60 s: see {log_path}")


if __name__ == "__main__":
    sys.exit(main())
