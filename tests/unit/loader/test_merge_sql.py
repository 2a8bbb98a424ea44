"""The merge's DELETE: one statement per key, never `OR` across keys (see SplitKeyMergeJob)."""

from loader.pipeline import SplitKeyMergeJob, _Postgres


def test_primary_and_merge_key_delete_in_separate_statements() -> None:
    clauses = SplitKeyMergeJob.gen_key_table_clauses(
        "t", "st", ['"line_id"'], ['"invoice_id"'], for_delete=True
    )
    assert clauses == [
        'FROM t as d WHERE EXISTS (SELECT 1 FROM st as s WHERE d."line_id" = s."line_id")',
        'FROM t as d WHERE EXISTS (SELECT 1 FROM st as s WHERE d."invoice_id" = s."invoice_id")',
    ]
    assert not any(" OR " in clause for clause in clauses)


def test_single_key_tables_keep_dlts_statement() -> None:
    ours = SplitKeyMergeJob.gen_key_table_clauses("t", "st", ['"id"'], [], for_delete=True)
    assert ours == [
        'FROM t as d WHERE EXISTS (SELECT 1 FROM st as s WHERE d."id" = s."id")',
    ]


def test_destination_keeps_postgres_type() -> None:
    destination = _Postgres("postgresql://u:p@localhost:5432/db")
    assert destination.destination_type == "dlt.destinations.postgres"
    assert destination.destination_name == "postgres"
