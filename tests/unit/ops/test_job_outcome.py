"""How the job reads dbt's artifacts and exit statuses into its record, no database."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from loader.ops import freshness
from loader.ops.job import _killed, build_reason
from loader.warehouse.job_runs import build_outcome


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


def test_freshness_from_the_run_log_uses_dbts_limits_for_every_source():
    rules = freshness.limits()  # the sources YAML: warn after 2 h, error after 26 h
    assert (rules.warn_seconds, rules.error_seconds) == (2 * 3600, 26 * 3600)
    now = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)

    fresh = freshness.judge(now - timedelta(minutes=30), now, rules)
    stale = freshness.judge(now - timedelta(hours=3), now, rules)
    dead = freshness.judge(now - timedelta(hours=27), now, rules)

    assert fresh == ({"sources_pass": rules.tables, "data_age_seconds": 1800}, "pass")
    assert stale[1] == "warn" and dead[1] == "error"
    assert freshness.judge(None, now, rules) == ({"sources_error": rules.tables}, "error")


INPUTS = {"writing_runs": 4, "webhook_events_applied": 2, "project": "abc", "marts_exist": True}


def built(status="ok", **inputs):
    return ("job-1", {"status": status, "counts": {"inputs": {**INPUTS, **inputs}}})


def test_the_build_is_skipped_only_when_nothing_it_reads_changed():
    assert build_reason(built(), INPUTS) is None
    assert build_reason(built("unchanged"), INPUTS) is None
    assert build_reason(built(writing_runs=3), INPUTS) == "loader runs wrote rows"
    assert build_reason(built(webhook_events_applied=1), INPUTS) == "webhook events were applied"
    assert (
        build_reason(built(project="old"), INPUTS) == "the dbt project or the marts' schema changed"
    )


def test_the_build_runs_after_a_failed_or_unrecorded_build_or_without_marts():
    assert build_reason(None, INPUTS) == "no earlier build on this warehouse"
    assert "did not finish" in build_reason(built("failed"), INPUTS)
    assert "did not finish" in build_reason(("job-1", {"status": "ok", "counts": {}}), INPUTS)
    assert build_reason(built(), {**INPUTS, "marts_exist": False}) == "the marts are missing"


def test_a_step_killed_by_a_signal_is_named_and_an_ordinary_failure_is_not():
    assert _killed(-9, "dbt build") == (
        "dbt build was killed (SIGKILL) before it finished; the next job builds again"
    )
    assert _killed(137, "dbt build").startswith("dbt build was killed (SIGKILL)")
    assert _killed(1, "dbt build") is None
    assert _killed(2, "dbt build") is None
