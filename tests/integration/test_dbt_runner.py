"""dbt kept warm (loader/ops/dbt.py): the real dbt, in this process, on a real warehouse
loaded by the real loader from the simulator. The project is parsed once and the manifest
reused while the project's files are the same; a rebuild of what a change touches brings
the change to the marts, the storefront's first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from loader.ops.dbt import DbtRunner, selectors
from zoho_sim import ZohoSimulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim():
    with ZohoSimulator(scale="unit", seed=5, per_minute=100_000) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dbt_runner")
    shutil.copy(ROOT / "profiles.example.yml", path / "profiles.yml")
    return path


def load(sim, pg_env, work: Path, *args: str) -> None:
    from tests.loader_checks import loader_env

    env = {**os.environ, **loader_env(sim, pg_env, work), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "loader", "run", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_a_warm_runner_parses_once_and_rebuilds_what_a_price_change_touches(
    sim, pg_env, work, pg_query
):
    load(sim, pg_env, work)
    runner = DbtRunner(target_path=work / "target", profiles_dir=work)
    runner.build(pg_env, ["source:zoho_books+"])
    runner.build(pg_env, selectors(["items"]))  # one build of what an item change touches
    one_build = built_nodes(work)
    product = next(i for i, r in sorted(sim.items.items()) if r["status"] == "active")

    sim.advance(60)
    sim.update_item(product, rate=6543.21)
    sim.advance(60)
    load(sim, pg_env, work, "--resources", "items")
    runner.rebuild(pg_env, ["items"])

    ((price,),) = pg_query("select price from analytics.products where product_id = %s", (product,))
    assert price == Decimal("6543.21")
    assert runner.parses == 1  # the second build reused the first one's manifest
    # the storefront's marts came first, and the rebuild built what one build would have
    rebuilt = built_nodes(work)
    assert set(rebuilt) == set(one_build)
    storefront = ["model.zoho_books.products", "model.zoho_books.product_prices"]
    rest = ["model.zoho_books.product_costs", "snapshot.zoho_books.items_snapshot"]
    assert max(map(rebuilt.index, storefront)) < min(map(rebuilt.index, rest))
    assert one_build.index("model.zoho_books.product_prices") > min(map(one_build.index, rest))


def built_nodes(work: Path) -> list[str]:
    """The models, snapshots and tests of the runner's last build, in the order dbt ran
    them (an exposure's entry is a no-op)."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    built = ("model.", "snapshot.", "test.")
    return [node["unique_id"] for node in results if node["unique_id"].startswith(built)]


def test_a_changed_project_is_parsed_again():
    versions = iter(["a", "a", "b"])
    runner = DbtRunner(fingerprint=lambda: next(versions))
    parsed: list[str] = []

    class Parsed:
        success, exception, result = True, None, object()

    def invoke(args):
        parsed.append(args[0])
        return Parsed()

    runner._invoke = invoke  # type: ignore[method-assign]  # dbt itself is the test above
    for _ in range(3):
        runner.build({}, selectors(["items"]))

    assert parsed == ["parse", "build", "build", "parse", "build"]
    assert runner.parses == 2
