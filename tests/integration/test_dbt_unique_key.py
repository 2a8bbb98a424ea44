"""The `unique_key` source test: it trusts only a unique index that enforces exactly the key.

A raw table the loader indexed cannot hold a repeated key, so the test reads nothing there;
anywhere else (a warehouse loaded before the indexes, or an index on other columns or on
some rows only) it must still find a repeated key."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import dbt_env, execute, run_dbt_build
from tests.integration.raw_tables import load_fixture

TABLE = "zoho_staging.pricebook_items"
KEY = "pricebook_id, item_id"


@pytest.fixture(scope="module")
def build_key_test(pg_env, tmp_path_factory):
    """Runs the pricebook_items source tests; returns the unique_key test's status."""
    env = dbt_env(pg_env, tmp_path_factory.mktemp("dbt_profiles"))
    load_fixture(pg_env)
    # one target folder: dbt parses the project once and then only what changed (nothing)
    target = tmp_path_factory.mktemp("dbt_target")

    def build() -> str:
        (target / "run_results.json").unlink(missing_ok=True)  # this build's, or none
        result = run_dbt_build(env, target, "--select", "source:zoho_books.pricebook_items")
        results = json.loads((target / "run_results.json").read_text())["results"]
        [status] = [
            r["status"]
            for r in results
            if "unique_key" in r["unique_id"] and "pricebook_items" in r["unique_id"]
        ]
        assert (result.returncode == 0) == (status == "pass"), result.stdout[-2000:]
        return status

    return build


def repeat_a_row(pg_env, **changes: str) -> None:
    changes = {"_dlt_id": "'copy'", "pricebook_item_id": "'other'", **changes}
    sets = ", ".join(f"{column} = {value}" for column, value in changes.items())
    execute(
        pg_env,
        f"create temporary table copied as select * from {TABLE} limit 1; "
        f"update copied set {sets}; "
        f"insert into {TABLE} select * from copied;",
    )


def test_unique_key_passes_unique_rows_and_fails_a_repeated_key(build_key_test, pg_env):
    assert build_key_test() == "pass"  # no index at all: every row is checked
    repeat_a_row(pg_env)
    assert build_key_test() == "fail"


def test_unique_key_does_not_trust_an_index_on_other_columns_or_some_rows(build_key_test, pg_env):
    execute(pg_env, f"create unique index wider on {TABLE} ({KEY}, pricebook_item_id)")
    assert build_key_test() == "fail"
    execute(pg_env, f"drop index zoho_staging.wider; delete from {TABLE} where _dlt_id = 'copy'")
    repeat_a_row(pg_env, is_deleted="true")
    execute(pg_env, f"create unique index live on {TABLE} ({KEY}) where not is_deleted")
    assert build_key_test() == "fail"


def test_unique_key_passes_where_postgresql_enforces_the_key(build_key_test, pg_env):
    execute(pg_env, "drop index if exists zoho_staging.live")
    execute(pg_env, f"delete from {TABLE} where _dlt_id = 'copy'")
    execute(pg_env, f"create unique index enforced on {TABLE} ({KEY})")
    assert build_key_test() == "pass"
