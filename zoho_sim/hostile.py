"""Values real Zoho data has been seen to carry that break naive loaders (issue 14).

Put them into records with the edit API, e.g. ``sim.update_item(id, name=HOSTILE_VALUES
["nul"])``, or over HTTP (``POST /_sim/edits``; JSON carries all of them, a lone surrogate
as the escape ``"\\ud800"``).
"""

from __future__ import annotations

from typing import Any

HOSTILE_VALUES: dict[str, Any] = {
    "nul": "H12 NUL \u0000 inside",
    "lone_surrogate": "bad \ud800 surrogate",
    "long_string": "long " + "x" * 100_000,
    "null": None,
    "number_as_string": "12.50",
    "empty_number": "",
    "huge_id": "9" * 40,
    "bidi_controls": "\u202eRTL override\u202c and \u200b zero width",
    "sql_and_markup": "'; drop table items; -- <script>alert(1)</script>",
}
"""Name -> value. ``huge_id`` is beyond bigint (and 2^53): keep IDs as text."""
