"""The names the project's parts share, each declared once: the checkout's folders, the dlt
pipeline and the raw schema it loads into (its dataset), and the marts' schema.

A fact two concerns share lives here and the others import it: copies drift, and that is
how a health check and an alert come to disagree."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"

PIPELINE_NAME = "zoho_books"
# The raw landing schema: the dlt pipeline's dataset, and the dbt sources' schema.
RAW_SCHEMA = "zoho_staging"
# The marts' schema; dbt puts staging views in <schema>_staging, snapshots in <schema>_snapshots.
ANALYTICS_SCHEMA_VARIABLE = "ANALYTICS_SCHEMA"
DEFAULT_ANALYTICS_SCHEMA = "analytics"


def analytics_schema(env: Mapping[str, str] | None = None) -> str:
    """The marts' schema in use (`ANALYTICS_SCHEMA`, default `analytics`)."""
    env = os.environ if env is None else env
    return env.get(ANALYTICS_SCHEMA_VARIABLE) or DEFAULT_ANALYTICS_SCHEMA
