"""How the job reads dbt's artifacts and exit statuses into its record, no database."""

from __future__ import annotations

import json

from loader.ops.job import _killed
from loader.warehouse.job_runs import build_outcome, freshness_outcome


def result(unique_id: str, status: str, message: str | None = None, seconds: float = 0.5):
    return {"unique_id": unique_id, "status": status, "message": message, "execution_time": seconds}


def test_build_counts_tests_by_outcome_and_names_the_first_failure(tmp_path):
    path = tmp_path / "run_results.json"
    path.write_text(
        json.dumps(
            {
                "results": [
                    result("model.zoho.products", "success"),
                    result("model.zoho.invoices", "error", "Database Error\n  relation missing"),
                    result("test.zoho.unique_products_product_id.abc", "pass"),
                    result("test.zoho.assert_price_coverage_meets_target", "warn", "Got 1 result"),
                    result("test.zoho.not_null_x.def", "fail", "Got 3 results, configured to fail"),
                    result("snapshot.zoho.items_snapshot", "success", seconds=1.25),
                    result("snapshot.zoho.prices_snapshot", "skipped", seconds=0.0),
                ]
            }
        )
    )

    counts, snapshots, error = build_outcome(path)

    assert counts == {
        "models_ok": 1,
        "models_failed": 1,
        "skipped": 1,
        "tests_passed": 1,
        "tests_warned": 1,
        "tests_failed": 1,
    }
    assert snapshots == {"snapshots_ok": 1, "snapshots_failed": 0, "seconds": 1.25}
    assert error == "model invoices: Database Error relation missing"  # the cause kept


def test_a_build_killed_before_writing_results_has_no_counts(tmp_path):
    assert build_outcome(tmp_path / "run_results.json") == ({}, {}, None)


def test_freshness_reports_the_worst_source_and_the_oldest_load(tmp_path):
    path = tmp_path / "sources.json"
    path.write_text(
        json.dumps(
            {
                "results": [
                    {"status": "pass", "max_loaded_at_time_ago_in_s": 60.4},
                    {"status": "warn", "max_loaded_at_time_ago_in_s": 9000.0},
                ]
            }
        )
    )

    counts, worst = freshness_outcome(path)

    assert worst == "warn"
    assert counts == {"sources_pass": 1, "sources_warn": 1, "data_age_seconds": 9000}


def test_a_step_killed_by_a_signal_is_named_and_an_ordinary_failure_is_not():
    assert _killed(-9, "dbt build") == (
        "dbt build was killed (SIGKILL) before it finished; the next job builds again"
    )
    assert _killed(137, "dbt build").startswith("dbt build was killed (SIGKILL)")
    assert _killed(1, "dbt build") is None
    assert _killed(2, "dbt build") is None
