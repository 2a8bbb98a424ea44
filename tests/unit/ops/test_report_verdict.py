"""The report's verdict and axes, as the owner reads them: one sentence that names what
needs attention, and chart ticks that are whole counts and plain ages."""

from __future__ import annotations

from loader.ops.report.charts import age_unit, count_axis, whole_step
from loader.ops.report.verdict import Facts, age_in_words, percent_in_words, verdict

FRESH = Facts(
    hours_since_update=0.2,
    last_update_failed=False,
    products_without_price=0,
    line_items_percent=100.0,
)


def test_a_fresh_complete_warehouse_is_all_good():
    level, sentence = verdict(FRESH)
    assert level == "good"
    assert sentence == "All good: the data was updated 12 minutes ago and is complete."


def test_missing_prices_and_pending_line_items_need_attention_in_one_sentence():
    facts = Facts(0.5, False, products_without_price=12, line_items_percent=63.9)
    assert verdict(facts) == (
        "attention",
        "Needs attention: 12 products have no price, line items are 63 % loaded.",
    )


def test_one_product_without_a_price_is_said_in_the_singular():
    facts = Facts(0.5, False, products_without_price=1, line_items_percent=None)
    assert verdict(facts)[1] == "Needs attention: 1 product has no price."


def test_stale_data_and_a_failed_update_are_a_problem_named_first():
    facts = Facts(30.0, True, products_without_price=3, line_items_percent=100.0)
    assert verdict(facts) == (
        "problem",
        "Needs attention: the last update failed, the data is 30 hours old, "
        "3 products have no price.",
    )


def test_data_older_than_the_warning_age_needs_attention():
    assert verdict(FRESH, stale_hours=2, critical_hours=26)[0] == "good"
    facts = Facts(5.0, False, 0, 100.0)
    assert verdict(facts, stale_hours=2, critical_hours=26) == (
        "attention",
        "Needs attention: the data is 5 hours old.",
    )


def test_a_warehouse_never_loaded_says_so():
    facts = Facts(None, False, None, None)
    assert verdict(facts) == (
        "problem",
        "Needs attention: nothing has been loaded from Zoho Books yet.",
    )


def test_almost_complete_is_not_rounded_up_to_complete():
    assert percent_in_words(99.7) == "99 %"
    assert percent_in_words(100.0) == "100 %"


def test_ages_read_in_whole_minutes_hours_or_days():
    assert [age_in_words(h) for h in (0.001, 0.5, 1.0, 5.4, 47.0, 80.0)] == [
        "1 minute",
        "30 minutes",
        "1 hour",
        "5 hours",
        "47 hours",
        "3 days",
    ]
    assert age_unit(0.5)[0] == "minutes" and age_unit(5)[0] == "hours"
    assert age_unit(100)[0] == "days"


def test_count_axes_tick_in_whole_numbers_from_zero():
    assert [whole_step(n) for n in (0, 1, 3, 5, 6, 12, 95, 1_319, 9_800)] == [
        1,
        1,
        1,
        1,
        2,
        5,
        20,
        500,
        2000,
    ]
    axis = count_axis("runs", 1)
    assert axis["dtick"] == 1 and axis["range"] == [0, 2] and axis["tickformat"] == ",d"
