"""Deadline engine: a clinician logs a request's date and jurisdiction; the bot says when it is due and why."""

from __future__ import annotations

from datetime import date

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import JURISDICTIONS, CustomRule
from bot.domain.deadlines import (
    ACCESS_TYPES,
    DeadlineResult,
    UnknownAccess,
    UnknownJurisdiction,
    days_left,
    due_dates,
    extension_allowed,
)

HIPAA_CITATION = "45 CFR 164.524(b)(2)"


def rule(result: DeadlineResult, citation: str):
    return next(r for r in result.rules if r.citation == citation)


def citations(result: DeadlineResult) -> set[str]:
    return {r.citation for r in result.rules}


def notes_text(result: DeadlineResult) -> str:
    return " ".join(result.notes)


# --- HIPAA and calendar counting -------------------------------------------------------------------------------


def test_request_received_in_us_is_due_30_calendar_days_later_with_one_30_day_extension():
    result = due_dates(date(2026, 3, 2))
    assert (result.jurisdiction, result.access) == ("US", "copy")
    assert result.due == date(2026, 4, 1)
    assert result.extended_due == date(2026, 5, 1)
    assert result.extension_possible()
    hipaa = rule(result, HIPAA_CITATION)
    assert (hipaa.days, hipaa.counting, hipaa.extension_days) == (30, "calendar", 30)
    assert result.notes == ()


def test_request_received_feb_1_of_a_leap_year_counts_feb_29():
    assert due_dates(date(2028, 2, 1)).due == date(2028, 3, 2)
    assert due_dates(date(2028, 2, 1)).extended_due == date(2028, 4, 1)
    assert due_dates(date(2027, 2, 1)).due == date(2027, 3, 3)


def test_request_received_on_a_month_end_rolls_through_short_february():
    result = due_dates(date(2026, 1, 31))
    assert result.due == date(2026, 3, 2)
    assert result.extended_due == date(2026, 4, 1)


def test_request_received_at_year_end_is_due_in_the_new_year():
    assert due_dates(date(2026, 12, 31)).due == date(2027, 1, 30)


def test_calendar_deadline_on_a_sunday_is_not_rolled_forward_but_a_note_says_send_friday():
    result = due_dates(date(2026, 11, 20))
    assert result.due == date(2026, 12, 20)  # a Sunday, kept as the hard deadline
    assert len(result.notes) == 1
    assert "Sunday" in result.notes[0]
    assert "December 18, 2026" in result.notes[0]


def test_calendar_deadline_on_christmas_says_send_by_christmas_eve():
    result = due_dates(date(2026, 11, 25))
    assert result.due == date(2026, 12, 25)
    assert "Christmas Day" in notes_text(result)
    assert "December 24, 2026" in notes_text(result)


def test_deadline_on_a_weekday_has_no_send_early_note():
    assert due_dates(date(2026, 3, 2)).notes == ()


# --- California ------------------------------------------------------------------------------------------------


def test_california_copy_is_due_in_15_calendar_days_with_no_extension():
    result = due_dates(date(2026, 3, 2), "CA", "copy")
    assert result.due == date(2026, 3, 17)
    assert result.extended_due == result.due
    assert not result.extension_possible()
    assert citations(result) == {"Cal. HSC 123110(b)", HIPAA_CITATION}
    assert rule(result, "Cal. HSC 123110(b)").extension_days is None


def test_california_inspection_counts_5_working_days_over_thanksgiving():
    # The holidays package lists the day after Thanksgiving as a California holiday, but Gov. Code 6700 does not:
    # it is a working day, and the notes say so [counting conventions; Cal. Gov. Code 6700].
    ca = holidays.US(subdiv="CA", years=2026)
    assert date(2026, 11, 26) in ca and date(2026, 11, 27) in ca
    result = due_dates(date(2026, 11, 20), "CA", "inspect")
    assert result.due == date(2026, 11, 30)
    assert rule(result, "Cal. HSC 123110(a)").counting == "working"
    assert not result.extension_possible()
    assert result.calendar == "CA"
    assert "Cal. Gov. Code 6700" in notes_text(result)
    assert (
        "Day After Thanksgiving (November 27, 2026) counted as a working day: it is not on California's statutory "
        "holiday list." in result.notes
    )


def test_california_summary_is_10_working_days_extendable_to_30_calendar_days_from_request():
    result = due_dates(date(2026, 11, 20), "CA", "summary")
    assert result.due == date(2026, 12, 7)  # the day after Thanksgiving is a working day (Gov. Code 6700)
    assert result.extended_due == date(2026, 12, 20)
    summary = rule(result, "Cal. HSC 123130(a)")
    assert summary.extended_due == date(2026, 12, 20)
    assert summary.extension_days == 13
    assert result.extension_rule() == "ca_summary"


def test_lowercase_jurisdiction_and_access_are_accepted():
    assert due_dates(date(2026, 3, 2), "ca", " Copy ").jurisdiction == "CA"


# --- Texas, New York, Washington -------------------------------------------------------------------------------


def test_texas_copy_is_due_on_the_15th_calendar_day_and_lists_the_ehr_rule_in_business_days():
    result = due_dates(date(2026, 3, 2), "TX", "copy")
    assert result.due == date(2026, 3, 17)
    assert not result.extension_possible()
    ehr = rule(result, "Tex. HSC 181.102(a)")
    assert (ehr.counting, ehr.due) == ("working", date(2026, 3, 23))
    assert "Tex. HSC 611.008(a)" in citations(result)


def test_texas_inspection_uses_the_mental_health_rule_only():
    result = due_dates(date(2026, 3, 2), "TX", "inspect")
    assert citations(result) == {"Tex. HSC 611.008(a)", HIPAA_CITATION}
    assert result.due == date(2026, 3, 17)


def test_texas_summary_has_no_confirmed_rule_so_hipaa_applies_with_verify_note():
    result = due_dates(date(2026, 3, 2), "TX", "summary")
    assert citations(result) == {HIPAA_CITATION}
    assert "verify Texas law" in notes_text(result)


def test_new_york_inspection_is_10_days():
    result = due_dates(date(2026, 3, 2), "NY", "inspect")
    assert result.due == date(2026, 3, 12)
    assert rule(result, "N.Y. PHL 18(2)").days == 10
    assert not result.extension_possible()


def test_new_york_copies_are_unconfirmed_so_hipaa_applies_with_verify_ny_note():
    result = due_dates(date(2026, 3, 2), "NY", "copy")
    assert citations(result) == {HIPAA_CITATION}
    assert result.due == date(2026, 4, 1)
    assert "verify NY law for copies" in notes_text(result)


def test_washington_copy_counts_15_working_days_across_christmas_and_new_year():
    result = due_dates(date(2026, 12, 15), "WA", "copy")
    assert result.due == date(2027, 1, 7)
    # One delay, with written reasons, to no later than 21 working days after the request.
    assert result.extended_due == date(2027, 1, 15)
    assert rule(result, "RCW 70.02.080(1)").counting == "working"


def test_washington_summary_falls_back_to_hipaa_with_verify_note():
    result = due_dates(date(2026, 3, 2), "WA", "summary")
    assert citations(result) == {HIPAA_CITATION}
    assert "verify Washington law" in notes_text(result)


# --- New Jersey, Illinois, Georgia, DC, Montana ----------------------------------------------------------------


def test_new_jersey_applies_the_psychologists_30_days_with_no_extension_and_says_so():
    result = due_dates(date(2026, 3, 2), "NJ", "copy")
    assert result.due == date(2026, 4, 1)
    assert result.extended_due == result.due
    assert "N.J.A.C. 13:42-8.3(b)" in citations(result)
    assert "psychologists" in notes_text(result)
    assert "LPC" in notes_text(result)


def test_illinois_copy_is_30_days_and_no_extension_is_counted_because_its_length_is_unconfirmed():
    result = due_dates(date(2026, 3, 2), "IL", "copy")
    assert "735 ILCS 5/8-2001" in citations(result)
    assert result.extended_due == result.due == date(2026, 4, 1)
    assert "unconfirmed" in notes_text(result)


def test_georgia_mental_health_records_follow_hipaa_with_the_extension():
    result = due_dates(date(2026, 3, 2), "GA", "copy")
    assert citations(result) == {HIPAA_CITATION}
    assert result.extended_due == date(2026, 5, 1)
    assert "31-33-4" in notes_text(result)
    assert "verify" not in notes_text(result).lower()


def test_dc_copy_is_30_days_with_no_extension():
    result = due_dates(date(2026, 3, 2), "DC", "copy")
    assert "D.C. Code 7-1205.01" in citations(result)
    assert result.extended_due == result.due == date(2026, 4, 1)


def test_montana_covered_practice_follows_hipaa_with_a_note():
    result = due_dates(date(2026, 3, 2), "MT", "copy", hipaa_covered=True)
    assert citations(result) == {HIPAA_CITATION}
    assert result.due == date(2026, 4, 1)
    assert "Part 8" in notes_text(result)


def test_montana_practice_that_is_not_a_covered_entity_gets_10_days_extendable_to_21():
    result = due_dates(date(2026, 3, 2), "MT", "copy", hipaa_covered=False)
    assert "Mont. Code 50-16-541" in citations(result)
    assert result.due == date(2026, 3, 12)
    assert result.extended_due == date(2026, 3, 23)
    assert "not a HIPAA covered entity" in notes_text(result)


def test_practice_that_is_not_a_covered_entity_still_sees_hipaa_as_the_safe_default():
    result = due_dates(date(2026, 3, 2), "US", hipaa_covered=False)
    assert citations(result) == {HIPAA_CITATION}
    assert "safe default" in notes_text(result)


def test_state_without_confirmed_rule_falls_back_to_hipaa_and_names_the_state():
    result = due_dates(date(2026, 3, 2), "OH", "copy")
    assert citations(result) == {HIPAA_CITATION}
    assert "verify Ohio law" in notes_text(result)


def test_state_notes_come_before_the_send_early_note():
    result = due_dates(date(2026, 11, 20), "OH", "copy")
    assert "Ohio" in result.notes[0]
    assert "December 18, 2026" in result.notes[-1]


# --- Working-day calendars: the statute's list and observance rule only ([C-sec] counting conventions) -------------


def test_california_susan_b_anthony_day_is_a_working_day_not_on_gov_code_6700():
    assert "Susan B. Anthony Day" in holidays.US(subdiv="CA", years=2028).get(date(2028, 2, 15))
    result = due_dates(date(2028, 2, 10), "CA", "inspect")
    assert result.due == date(2028, 2, 17)  # 11, 14, 15 (counted), 16, 17
    assert (
        "Susan B. Anthony Day (February 15, 2028) counted as a working day: it is not on California's statutory "
        "holiday list." in result.notes
    )


def test_california_saturday_christmas_is_not_moved_to_friday():
    # Gov. Code 6701 moves only Sunday holidays (and Nov 11 on a Saturday): Friday Dec 24, 2027 is a working day
    result = due_dates(date(2027, 12, 20), "CA", "inspect")
    assert result.due == date(2027, 12, 27)


def test_california_veterans_day_on_a_saturday_is_observed_the_friday_before():
    result = due_dates(date(2028, 11, 6), "CA", "inspect")
    assert result.due == date(2028, 11, 14)  # 7, 8, 9, (Fri 10 is the holiday), 13, 14


def test_california_sunday_holiday_moves_to_monday():
    result = due_dates(date(2027, 7, 1), "CA", "inspect")
    assert result.due == date(2027, 7, 9)  # 2, (Mon 5 is Independence Day), 6, 7, 8, 9


def test_texas_san_jacinto_day_keeps_offices_staffed_so_counts_as_a_working_day_and_says_so():
    result = due_dates(date(2026, 4, 15), "TX", "copy")
    ehr = rule(result, "Tex. HSC 181.102(a)")
    assert ehr.due == date(2026, 5, 6)
    assert result.calendar == "TX"
    assert "Tex. Gov. Code 662.003(a)" in notes_text(result)
    assert (
        "San Jacinto Day (April 21, 2026) counted as a working day: it is uncertain whether it stops the clock, so it "
        "is counted (the deadline can only come earlier)." in result.notes
    )


def test_texas_christmas_eve_and_the_day_after_christmas_stop_the_clock():
    result = due_dates(date(2026, 12, 16), "TX", "copy")
    # 17, 18, 21, 22, 23, (24, 25 closed), 28, 29, 30, 31, (Jan 1), 4, 5, 6, 7, 8, 11
    assert rule(result, "Tex. HSC 181.102(a)").due == date(2027, 1, 11)


def test_washington_moves_saturday_holidays_to_friday_per_rcw_1_16_050():
    result = due_dates(date(2027, 12, 20), "WA", "copy")
    # Christmas and New Year's Day 2028 fall on Saturdays: Dec 24 and Dec 31 are the holidays
    assert result.due == date(2028, 1, 12)
    assert result.calendar == "WA"
    assert "RCW 1.16.050" in notes_text(result)
    assert result.extension_rule() == "wa"


def test_a_state_whose_holiday_statute_was_not_checked_skips_weekends_only_and_says_so():
    own = CustomRule(name="Three working days", days=3, counting="working")
    result = due_dates(date(2026, 12, 23), "NY", "inspect", custom_rules=[own])
    assert rule(result, "Practice policy").due == date(2026, 12, 28)  # Christmas counted: earlier, never later
    assert "Working days counted without New York holidays" in notes_text(result)


def test_calendar_only_rules_name_no_calendar():
    result = due_dates(date(2026, 3, 2), "CA", "copy")
    assert result.calendar is None
    assert "Working days" not in notes_text(result)


# --- Practice custom rules -------------------------------------------------------------------------------------


def test_practice_stricter_custom_rule_sets_the_deadline_and_caps_the_extension():
    own = CustomRule(name="Our 10 working days", days=10, counting="working", access=["copy"])
    result = due_dates(date(2026, 11, 20), "CA", "summary", custom_rules=[own])
    assert "Practice policy" not in citations(result)  # summary is not in the rule's access list
    result = due_dates(date(2026, 3, 2), "US", "copy", custom_rules=[own])
    assert result.due == date(2026, 3, 16)
    assert result.extended_due == result.due
    assert rule(result, "Practice policy").extension_days is None


def test_custom_working_day_rule_skips_the_practice_states_holidays():
    own = CustomRule(name="Three working days", days=3, counting="working")
    result = due_dates(date(2026, 11, 25), "CA", "inspect", custom_rules=[own])
    # Thanksgiving is skipped; the day after is not on Gov. Code 6700's list, so it counts
    assert rule(result, "Practice policy").due == date(2026, 12, 1)


# --- Bad input -------------------------------------------------------------------------------------------------


def test_unknown_jurisdiction_is_refused_with_a_message_listing_what_is_accepted():
    with pytest.raises(UnknownJurisdiction) as caught:
        due_dates(date(2026, 3, 2), "ZZ")
    assert "'ZZ'" in str(caught.value)
    assert "CA" in str(caught.value) and "US" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_unknown_access_is_refused_with_the_accepted_types():
    with pytest.raises(UnknownAccess, match="copy, inspect, summary"):
        due_dates(date(2026, 3, 2), "US", "view")


# --- Extensions and days left ----------------------------------------------------------------------------------


def test_extension_may_be_taken_until_the_original_deadline_and_only_once():
    result = due_dates(date(2026, 3, 2))
    assert extension_allowed(result, date(2026, 3, 20), already_extended=False)
    assert extension_allowed(result, date(2026, 4, 1), already_extended=False)
    assert not extension_allowed(result, date(2026, 4, 2), already_extended=False)
    assert not extension_allowed(result, date(2026, 3, 20), already_extended=True)


def test_no_extension_where_a_shorter_state_rule_has_none():
    result = due_dates(date(2026, 3, 2), "CA", "copy")
    assert not extension_allowed(result, date(2026, 3, 3), already_extended=False)


def test_days_left_counts_down_to_zero_and_goes_negative_when_overdue():
    assert days_left(date(2026, 4, 1), date(2026, 3, 30)) == 2
    assert days_left(date(2026, 4, 1), date(2026, 4, 1)) == 0
    assert days_left(date(2026, 4, 1), date(2026, 4, 3)) == -2


def test_json_has_iso_dates_and_the_agreed_keys():
    data = due_dates(date(2026, 3, 2), "CA", "copy").to_json()
    assert list(data) == [
        "received",
        "jurisdiction",
        "access",
        "due",
        "extended_due",
        "rules",
        "notes",
        "calendar",
        "extension_rule",
    ]
    assert data["due"] == "2026-03-17"
    assert set(data["rules"][0]) == {"name", "due", "extended_due", "days", "counting", "citation"}
    assert isinstance(data["notes"], list)


# --- Properties ------------------------------------------------------------------------------------------------

custom_rules = st.lists(
    st.builds(
        CustomRule,
        name=st.just("Practice rule"),
        days=st.integers(1, 60),
        counting=st.sampled_from(["calendar", "working"]),
        access=st.lists(st.sampled_from(ACCESS_TYPES), min_size=1, max_size=3, unique=True),
    ),
    max_size=2,
)
requests = st.fixed_dictionaries(
    {
        "received": st.dates(date(2000, 1, 1), date(2060, 12, 31)),
        "jurisdiction": st.sampled_from(JURISDICTIONS),
        "access": st.sampled_from(ACCESS_TYPES),
        "hipaa_covered": st.booleans(),
        "custom_rules": custom_rules,
    }
)


@settings(max_examples=300, deadline=None)
@given(requests)
def test_property_deadlines_never_pass_hipaa_and_extension_never_precedes_due(request_args):
    result = due_dates(**request_args)
    hipaa = rule(result, HIPAA_CITATION)
    assert result.due <= hipaa.due
    assert result.due <= result.extended_due <= hipaa.extended_due
    assert result.due == min(r.due for r in result.rules)
    assert all(r.due <= r.extended_due for r in result.rules)
    assert result.due > result.received


@settings(max_examples=100, deadline=None)
@given(requests)
def test_property_same_request_gives_same_answer(request_args):
    assert due_dates(**request_args) == due_dates(**request_args)
