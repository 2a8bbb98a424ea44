"""The pending details list (loader/zoho/stored.py `Pending`): held as arrow arrays, read
back as the (id, last_modified_time) tuples the details resources batch."""

from datetime import datetime, timedelta, timezone

import pytest

from loader.zoho import stored
from loader.zoho.stored import Pending


def test_pending_reads_back_ids_and_instants_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored, "FETCH_ROWS", 3)  # several chunks
    plus3 = timezone(timedelta(hours=3))
    rows = [(1000 + n, datetime(2025, 10, 31, 14, n, tzinfo=plus3)) for n in range(7)]
    pending = Pending.from_rows(iter(rows))
    assert len(pending) == 7
    first = pending[0]
    assert first == ("1000", datetime(2025, 10, 31, 11, 0, tzinfo=timezone.utc))
    assert pending[-1][0] == "1006"
    assert [i for i, _ in pending[2:5]] == ["1002", "1003", "1004"]
    assert [t for _, t in pending[5:50]] == [r[1] for r in rows[5:]]  # same instants
    assert pending[7:9] == []
    with pytest.raises(IndexError):
        pending[7]


def test_no_pending_rows() -> None:
    assert len(Pending.from_rows(iter([]))) == 0
