"""Deleted contacts and invoices: a complete ID listing against the stored ids."""

from loader.zoho.reconcile import compare_ids


def test_a_record_gone_from_the_listing_is_to_be_marked_deleted():
    result = compare_ids([["1", "2"]], [("1", False), ("2", False), ("3", False)])
    assert result.to_delete == ["3"]
    assert result.to_undelete == [] and result.unknown == []


def test_a_deleted_record_listed_again_is_to_be_undeleted():
    result = compare_ids([["1"], ["3"]], [("1", False), ("3", True)])
    assert result.to_undelete == ["3"]
    assert result.to_delete == []


def test_a_record_already_marked_deleted_and_still_gone_changes_nothing():
    result = compare_ids([["1"]], [("1", False), ("2", True)])
    assert result.changes == 0


def test_a_listed_record_never_stored_is_reported_for_fetching():
    result = compare_ids([["1", "9"], ["9"]], [("1", False)])
    assert result.unknown == ["9"]


def test_repeats_across_pages_neither_delete_nor_undelete():
    pages = [["1", "2"], ["2", "3"], ["3"]]
    result = compare_ids(pages, [("1", False), ("2", False), ("3", False)])
    assert result.changes == 0


def test_ids_that_are_not_plain_numbers_come_back_as_stored():
    result = compare_ids([["1"]], [("1", False), ("inv-007", False)])
    assert result.to_delete == ["inv-007"]


def test_an_empty_listing_marks_every_stored_record_deleted():
    # Only a COMPLETE listing may be compared; an empty complete listing means all gone.
    result = compare_ids([], [("1", False), ("2", False)])
    assert result.to_delete == ["1", "2"]
