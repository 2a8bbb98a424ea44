"""``python -m zoho_sim``: serve a simulated Zoho Books organisation until stopped, or
``python -m zoho_sim run [options] -- CMD ARGS...`` to serve it while one command runs.

Exit codes (serve): 0 stopped by SIGINT/SIGTERM, 2 bad arguments (argparse), 3 port in use.
``run`` exits with CMD's code (128 + N when a signal N killed it, 127 when CMD cannot be
started), or 2 / 3 as above before CMD starts.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
from types import FrameType

from .config import DEFAULT_FAULT_KINDS, FAULT_KINDS, STOCK_SHAPES, SimConfig
from .simulator import ORGANIZATION_ID, ZohoSimulator
from .webhooks import WebhookConfig

ADMIN_URL_VARIABLE = "ZOHO_SIM_URL"
"""Set for ``run``'s command: the simulator's base URL (its ``/_sim/...`` admin endpoints)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zoho_sim",
        description="Local stand-in for the Zoho Books v3 API and the Zoho accounts server. "
        "'python -m zoho_sim run [options] -- CMD ARGS...' serves it while CMD runs.",
    )
    _add_simulator_options(parser, default_port=8080)
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print 'export SOURCES__ZOHO_BOOKS__...=' lines instead of a summary line",
    )
    return parser


def build_run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m zoho_sim run",
        description="Start the simulator, run CMD with SOURCES__ZOHO_BOOKS__* (and "
        f"{ADMIN_URL_VARIABLE}) pointing at it, stop the simulator, exit with CMD's code.",
    )
    _add_simulator_options(parser, default_port=0)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    return parser


def _add_simulator_options(parser: argparse.ArgumentParser, default_port: int) -> None:
    defaults = SimConfig()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port, help="0 picks a free port")
    parser.add_argument("--scale", default="demo", help="unit, demo or bench (default demo)")
    parser.add_argument("--items", type=int, help="explicit item count (overrides --scale)")
    parser.add_argument("--contacts", type=int, help="explicit contact count")
    parser.add_argument("--invoices", type=int, help="explicit invoice count")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--orgs",
        type=int,
        default=1,
        help="organizations to serve (default 1): IDs 60012345678, 60012345679..., seeds "
        "SEED, SEED+1..., each with its own quotas and webhook rules; one refresh token "
        "reaches all (ZOHO_SIM_ORGANIZATIONS lists them when more than one)",
    )
    parser.add_argument(
        "--stock-shape",
        choices=STOCK_SHAPES,
        default=SimConfig().item_stock_shape,
        help="per-location stock in GET /items/{id}: locations[], warehouses[] or mixed",
    )
    parser.add_argument("--per-minute", type=int, default=defaults.per_minute)
    parser.add_argument("--window-seconds", type=float, default=defaults.per_minute_window_seconds)
    parser.add_argument("--max-concurrent", type=int, default=defaults.max_concurrent)
    parser.add_argument("--daily-quota", type=int, default=defaults.daily_quota)
    parser.add_argument("--token-lifetime", type=int, default=defaults.token_lifetime_seconds)
    parser.add_argument("--fault-rate", type=float, default=defaults.fault_rate)
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_FAULT_KINDS),
        help=f"comma-separated subset of {','.join(FAULT_KINDS)}",
    )
    parser.add_argument("--fault-seed", type=int, default=defaults.fault_seed)
    parser.add_argument("--slow-seconds", type=float, default=defaults.slow_seconds)
    parser.add_argument("--duplicate-rate", type=float, default=defaults.duplicate_rate)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    parser.add_argument(
        "--frozen-clock",
        action="store_true",
        help="keep the sim clock at its start instant (default: it follows real time)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    hooks = WebhookConfig()
    group = parser.add_argument_group("webhooks (Zoho's workflow rules, posted on edits)")
    group.add_argument(
        "--webhook-url",
        default=os.environ.get("ZOHO_SIM_WEBHOOK_URL"),
        help="receiver URL, '{module}' or '/<module>' appended (env ZOHO_SIM_WEBHOOK_URL); "
        "'{organization_id}' is replaced per organization, else with --orgs > 1 each "
        "organization's rules add ?organization_id=ID",
    )
    group.add_argument(
        "--webhook-secret",
        default=os.environ.get("ZOHO_SIM_WEBHOOK_SECRET"),
        help="secret token that signs X-Zoho-Webhook-Signature (env ZOHO_SIM_WEBHOOK_SECRET); "
        "comma-separated, one per organization; organizations without one get the first "
        "with 'orgN' appended",
    )
    group.add_argument("--webhook-form", action="store_true", help="send JSONString=... forms")
    group.add_argument("--webhook-timeout", type=float, default=hooks.timeout_seconds)
    for name in ("duplicate", "reorder", "bad_signature", "drop"):
        group.add_argument(f"--webhook-{name.replace('_', '-')}-rate", type=float, default=0.0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run_command(argv[1:])
    args = build_parser().parse_args(argv)
    sim = _make_simulator(args)
    if isinstance(sim, int):
        return sim
    return _serve(sim, args)


def run_command(argv: list[str]) -> int:
    """``run [options] -- CMD ARGS...``: CMD runs with the simulator's settings added to
    the current environment; a SIGTERM to this process is passed on to CMD."""
    parser = build_run_parser()
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("missing the command to run: ... run [options] -- CMD ARGS...")
    sim = _make_simulator(args)
    if isinstance(sim, int):
        return sim
    try:
        print(
            f"zoho_sim: serving {sim.scale.name} data at {sim.base_url} for: {shlex.join(command)}",
            file=sys.stderr,
            flush=True,
        )
        env = {**os.environ, **sim.env(), ADMIN_URL_VARIABLE: sim.base_url}
        try:
            child = subprocess.Popen(command, env=env)
        except OSError as error:
            print(f"zoho_sim: cannot start {command[0]!r}: {error}", file=sys.stderr)
            return 127
        # Like ``uv run``: a terminal's ^C reaches CMD through its process group, so this
        # process only waits; a SIGTERM (kill, systemd, make) is passed on to CMD.
        previous = {
            signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
            signal.SIGTERM: signal.signal(
                signal.SIGTERM, lambda signum, frame: child.send_signal(signum)
            ),
        }
        try:
            code = child.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return code if code >= 0 else 128 - code
    finally:
        sim.stop()


def _make_simulator(args: argparse.Namespace) -> ZohoSimulator | int:
    """A started simulator from the parsed options, or the exit code (2, 3) when not."""
    scale: str | dict[str, int] = args.scale
    if args.items or args.contacts or args.invoices:
        scale = {
            k: v
            for k, v in (
                ("items", args.items),
                ("contacts", args.contacts),
                ("invoices", args.invoices),
            )
            if v
        }
    try:
        if args.orgs < 1:
            raise ValueError("--orgs must be 1 or more")
        secrets = _webhook_secrets(args.webhook_secret, args.orgs)
        hooks = {
            "url": args.webhook_url,
            "secret": secrets[0],
            "form": args.webhook_form,
            "timeout_seconds": args.webhook_timeout,
            "duplicate_rate": args.webhook_duplicate_rate,
            "reorder_rate": args.webhook_reorder_rate,
            "bad_signature_rate": args.webhook_bad_signature_rate,
            "drop_rate": args.webhook_drop_rate,
        }
        sim = ZohoSimulator(
            scale,
            args.seed,
            host=args.host,
            port=args.port,
            follow_real_time=not args.frozen_clock,
            verbose=args.verbose,
            per_minute=args.per_minute,
            per_minute_window_seconds=args.window_seconds,
            max_concurrent=args.max_concurrent,
            daily_quota=args.daily_quota,
            token_lifetime_seconds=args.token_lifetime,
            fault_rate=args.fault_rate,
            fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k),
            fault_seed=args.fault_seed,
            slow_seconds=args.slow_seconds,
            duplicate_rate=args.duplicate_rate,
            latency_seconds=args.latency,
            item_stock_shape=args.stock_shape,
            webhooks=_org_hooks(hooks, args.orgs, None),
        )
        for n in range(1, args.orgs):
            org_id = str(int(sim.organization_id) + n)
            sim.add_organization(
                organization_id=org_id, webhooks=_org_hooks(hooks, args.orgs, org_id, secrets[n])
            )
    except ValueError as error:
        print(f"zoho_sim: {error}", file=sys.stderr)
        return 2
    try:
        sim.start()
    except OSError as error:
        print(
            f"zoho_sim: cannot listen on {args.host}:{args.port} ({error}); "
            "pick another --port or 0 for a free one",
            file=sys.stderr,
        )
        return 3
    return sim


def _webhook_secrets(given: str | None, orgs: int) -> list[str | None]:
    """One secret per organization: those given (comma-separated), then the first with
    ``orgN`` appended (still 12-50 letters and digits)."""
    if not given:
        return [None] * orgs
    secrets: list[str | None] = [s.strip() for s in given.split(",") if s.strip()]
    first = str(secrets[0])
    while len(secrets) < orgs:
        secrets.append(f"{first[:44]}org{len(secrets) + 1}")
    return secrets[:orgs]


def _org_hooks(
    hooks: dict[str, object], orgs: int, organization_id: str | None, secret: str | None = None
) -> dict[str, object]:
    """One organization's webhook settings: its own secret, and (several organizations,
    no ``{organization_id}`` in the URL) an ``organization_id`` query parameter."""
    own = dict(hooks)
    if organization_id is not None:
        own["secret"] = secret
    url = own.get("url")
    if orgs > 1 and isinstance(url, str) and "{organization_id}" not in url:
        own["params"] = {"organization_id": organization_id or ORGANIZATION_ID}
    return own


def _serve(sim: ZohoSimulator, args: argparse.Namespace) -> int:
    if args.print_env:
        for name, value in sim.env().items():
            print(f"export {name}={shlex.quote(value)}")
    else:
        print(
            f"zoho_sim serving {sim.scale.name} data on {sim.base_url} "
            f"organization_id={sim.organization_id} client_id={sim.client_id} "
            f"client_secret={sim.client_secret} refresh_token={sim.refresh_token}"
        )
        for org in sim.organizations_settings()[1:] if len(sim.organizations) > 1 else []:
            print(
                f"zoho_sim also serving organization_id={org['organization_id']} "
                f"(seed {org['seed']}, {org['name']}) webhook_url={org['webhook_url']} "
                f"webhook_secret={org['webhook_secret']}"
            )
    sys.stdout.flush()
    _wait_for_signal()
    sim.stop()
    return 0


def _wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM, so ``kill`` from a Makefile stops the server cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop.wait(0.5):
        pass


if __name__ == "__main__":
    sys.exit(main())
