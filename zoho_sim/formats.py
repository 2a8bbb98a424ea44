"""Zoho's wire formats: long digit-string IDs, ``+0300`` timestamps, money rounding, hashing.

Everything here is a pure function so the generator can build any record from its index
alone, which is what lets a million-item catalogue exist without being held in memory.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

ORG_OFFSET_SECONDS = 3 * 3600
"""Asia/Baghdad is UTC+3 all year (no daylight saving), so one fixed offset is exact."""
ORG_TZ = timezone(timedelta(seconds=ORG_OFFSET_SECONDS))
_OFFSET_SUFFIX = "+0300"

ID_BASE = 2_155_127_000_000_000_000
"""19-digit IDs, well beyond 2**53, so a client that parses them as floats loses digits."""
ID_KIND_SPAN = 10**11

KIND_ITEM = 1
KIND_CONTACT = 2
KIND_INVOICE = 3
KIND_LINE_ITEM = 4
KIND_PRICEBOOK = 5
KIND_PRICEBOOK_ITEM = 6
KIND_MISC = 7
KIND_BILL = 8
KIND_BILL_LINE = 9
KIND_LOCATION = 10
KIND_ADJUSTMENT = 11
KIND_ADJUSTMENT_LINE = 12

LINE_ITEM_SLOTS = 1000
"""Line-item IDs are ``invoice_index * LINE_ITEM_SLOTS + n``: room for edits to add lines."""
PRICEBOOK_ITEM_SLOTS = 10**9

_MASK64 = (1 << 64) - 1


def make_id(kind: int, index: int) -> str:
    """Zoho ID text for the ``index``-th record of ``kind``; order of IDs follows index."""
    return str(ID_BASE + kind * ID_KIND_SPAN + index)


def parse_id(kind: int, record_id: str) -> int | None:
    """Index behind an ID of ``kind``, or None when the text is not such an ID."""
    if not record_id.isdigit() or len(record_id) != 19:
        return None
    index = int(record_id) - ID_BASE - kind * ID_KIND_SPAN
    if 0 <= index < ID_KIND_SPAN:
        return index
    return None


def mix64(*parts: int) -> int:
    """Deterministic 64-bit hash (splitmix64 chain): cheap per-record randomness by index."""
    x = 0x243F6A8885A308D3
    for part in parts:
        x = (x ^ (part & _MASK64)) + 0x9E3779B97F4A7C15 & _MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 31
    return x


def format_ts(epoch: float) -> str:
    """Epoch seconds -> ``2025-10-31T14:41:13+0300`` (org-local, no colon, as Zoho sends)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(epoch) + ORG_OFFSET_SECONDS)) + (
        _OFFSET_SUFFIX
    )


def format_date(epoch: float) -> str:
    """Epoch seconds -> org-local calendar date ``2025-10-31``."""
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) + ORG_OFFSET_SECONDS))


def parse_ts(text: str) -> int:
    """Zoho timestamp (any ``±HHMM`` or ``±HH:MM`` offset) -> epoch seconds.

    The fast path handles the simulator's own ``+0300`` strings without ``strptime``
    because sorting and filtering parse many of them.
    """
    if len(text) == 24 and text.endswith(_OFFSET_SUFFIX) and text[10] == "T":
        parts = (
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
        )
        return calendar.timegm((*parts, 0, 0, 0)) - ORG_OFFSET_SECONDS
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def money(value: float, decimal_places: int) -> float | int:
    """Round half-up like an invoice does: IQD to whole dinars, USD to cents."""
    quantum = Decimal(1).scaleb(-decimal_places)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if decimal_places == 0 else float(rounded)
