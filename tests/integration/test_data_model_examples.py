"""Every example query of docs/data-model.md returns rows on what `make demo` builds (the
simulator's demo data, seed 1): an analyst copying one gets an answer, not an empty result
because a SKU or a date exists only in the documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.conftest import connect

DATA_MODEL = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"


def example_queries() -> list[str]:
    """The ```sql blocks of docs/data-model.md, psql meta-commands and comments removed."""
    blocks = re.findall(r"```sql\n(.*?)```", DATA_MODEL.read_text(), flags=re.DOTALL)
    return [
        "\n".join(
            line for line in block.splitlines() if not line.lstrip().startswith(("--", "\\"))
        ).strip()
        for block in blocks
    ]


def test_the_data_model_has_example_queries():
    assert len(example_queries()) >= 8


@pytest.mark.parametrize(
    "query", example_queries(), ids=lambda q: re.sub(r"\W+", "_", q[:60]).strip("_")
)
def test_example_query_returns_rows_on_the_demo_data(demo_warehouse, query):
    conn = connect(demo_warehouse)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            rows = cur.fetchall()
    finally:
        conn.close()
    assert rows, f"no rows on the demo data for:\n{query}"
