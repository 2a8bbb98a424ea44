"""The one place the loader leans on dlt behaviour that is not public API.

Checked against dlt 1.31.0 (pinned in pyproject.toml). tests/unit/loader/test_dlt_overrides.py
runs the real dlt path each override depends on and fails loudly when an upgrade changes it.

JSON columns in arrow tables: dlt loads arrow tables into PostgreSQL through its CSV
writer, which refuses nested arrow types and tells to "convert them to json strings"; the
`json` column hint then makes the column jsonb. dlt's extractor compares the arrow type
(string -> text) with that hint and logs a warning, "when merging arrow schema with dlt
schema, several column hints were different", for every arrow table of a table with a
JSON column (items, pricebook_items): noise on every run, no information. No hint setting
keeps the column jsonb and silences it, so this filter drops exactly that message.
"""

from __future__ import annotations

import logging

DLT_VERSION_CHECKED = "1.31.0"
ARROW_HINT_WARNING = "when merging arrow schema with dlt schema"


class ArrowJsonHintFilter(logging.Filter):
    """Drops dlt's arrow-vs-hint warning (JSON travels as text by design, see above)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return ARROW_HINT_WARNING not in record.getMessage()


_FILTER = ArrowJsonHintFilter()


def install() -> None:
    """Install the filter on dlt's logger (idempotent)."""
    logger = logging.getLogger("dlt")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
