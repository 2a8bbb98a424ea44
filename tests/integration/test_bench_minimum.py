"""`make bench`'s call accounting under a details budget (its 1M size reads stock per
location a budget at a time): each of the three runs makes exactly the calls the bench
counts as the minimum for what was pending before it, resource by resource."""

from __future__ import annotations

from bench.__main__ import Bench, Size, api_runs


def test_each_run_makes_the_minimum_calls_under_a_details_budget(pg_server_env, tmp_path):
    size = Size("testbudget", 3_000, 200, 200, details_budget=500)
    bench = Bench(size, {**pg_server_env, "PGDATABASE": "postgres"}, tmp_path)
    try:
        runs = api_runs(bench)
    finally:
        bench.close()

    for name, run in runs.items():
        assert run["calls"]["other"] == 0, name
        spent = {k: v for k, v in run["calls"].items() if k != "other"}
        assert spent == run["minimum"], name
    # the first run's budget is spent (stock waits), and the backfill goes on after it
    first_details = sum(
        runs["first"]["calls"][k] for k in ("invoice details", "bill details", "item details")
    )
    assert first_details == size.details_budget
    assert runs["no change"]["calls"]["item details"] == size.details_budget
