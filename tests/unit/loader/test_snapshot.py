"""What a run writes of a full listing, judged against the compact stored snapshot."""

from __future__ import annotations

from loader.zoho.stored import Snapshot, Verdict, hash_version, id_key


def stored(*rows):
    return Snapshot.from_rows(rows)


def test_unchanged_rows_are_not_written_and_changed_ones_are():
    snap = stored(("1", 100, False), ("2", 200, False))
    assert snap.classify("1", 100) is Verdict.UNCHANGED
    assert snap.classify("2", 201) is Verdict.CHANGED


def test_new_rows_are_written_once_even_when_the_listing_repeats_them():
    snap = stored(("1", 100, False))
    assert snap.classify("9", 5) is Verdict.NEW
    assert snap.classify("9", 5) is Verdict.REPEATED


def test_a_stored_row_repeated_in_the_listing_counts_once():
    snap = stored(("1", 100, False))
    assert snap.classify("1", 101) is Verdict.CHANGED
    assert snap.classify("1", 101) is Verdict.REPEATED


def test_a_row_listed_unchanged_then_again_newer_is_written_once():
    # renamed across a page boundary while the listing was read: seen at both places
    snap = stored(("1", 100, False))
    assert snap.classify("1", 100) is Verdict.UNCHANGED
    assert snap.classify("1", 101) is Verdict.CHANGED
    assert snap.classify("1", 101) is Verdict.REPEATED


def test_a_row_stored_as_deleted_that_is_listed_again_reappears():
    snap = stored(("1", 100, True))
    assert snap.classify("1", 100) is Verdict.REAPPEARED


def test_rows_not_seen_by_the_listing_are_missing_unless_already_deleted():
    snap = stored(("1", 1, False), ("2", 2, False), ("3", 3, True))
    snap.classify("2", 2)
    assert list(snap.missing()) == ["1"]


def test_a_key_stored_twice_and_listed_is_not_missing():
    # a warehouse without the unique indexes may hold a key twice: listing it must not
    # mark it deleted
    snap = stored(("2", 2, False), ("1", 1, False), ("2", 2, False))
    snap.classify("1", 1)
    snap.classify("2", 2)
    assert list(snap.missing()) == []


def test_full_refresh_writes_unchanged_rows_too():
    snap = stored(("1", 100, False))
    assert snap.classify("1", 100, force=True).write


def test_lookup_works_across_many_rows_in_any_order():
    rows = [(str(2155127100000000000 + i * 7919 % 100_003), i, False) for i in range(50_000)]
    snap = Snapshot.from_rows(reversed(rows))
    assert len(snap) == 50_000
    assert all(snap.classify(i, v) is Verdict.UNCHANGED for i, v, _ in rows[::997])


def test_write_mask_for_a_page():
    snap = stored(("1", 1, False), ("2", 2, False))
    assert snap.classify_many(["1", "2", "3"], [1, 3, 1]) == [False, True, True]


def test_empty_snapshot_treats_everything_as_new():
    snap = Snapshot.empty()
    assert snap.classify("1", 1) is Verdict.NEW
    assert list(snap.missing()) == []


def test_zoho_ids_key_as_their_own_number_and_others_as_a_digest():
    assert id_key("2155127100000000001") == 2155127100000000001
    assert id_key("not-a-number") != id_key("not-a-numbe")
    assert -(2**63) <= id_key("9" * 30) < 2**63


def test_hash_version_is_stable_and_signed_64_bit():
    assert hash_version("ffffffffffffffff00") == -1
    assert hash_version("0000000000000001") == 1
    assert hash_version(None) == -1


def test_missing_ids_are_rebuilt_exactly_including_odd_ones():
    snap = stored(("2155127100000000001", 1, False), ("ABC-7", 1, False), ("007", 1, False))
    assert sorted(snap.missing()) == sorted(["2155127100000000001", "ABC-7", "007"])


def test_arabic_indic_digits_are_not_mistaken_for_a_number():
    assert id_key("٣") != 3
    snap = stored(("٣", 1, False))
    assert list(snap.missing()) == ["٣"]
