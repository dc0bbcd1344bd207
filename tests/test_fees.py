"""Fee estimates: the clinician asks what to quote; the bot counts only what 45 CFR 164.524(c)(4) allows."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import FeeSchedule
from bot.domain.deadlines import UnknownJurisdiction
from bot.domain.fees import DELIVERIES, FORMS, FeeEstimate, UnknownFeeInput, estimate_fee
from bot.text import say

DEFAULT = FeeSchedule()  # $20/hour, 15 minutes per 100 pages, $0.05 a page, $3 media, $6.50 flat fee


def quote(**overrides) -> FeeEstimate:
    args = {"pages": 100, "form": "paper", "delivery": "pickup", "jurisdiction": "US", "schedule": DEFAULT}
    return estimate_fee(**(args | overrides))


def cents_by_citation(estimate: FeeEstimate) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in estimate.lines:
        totals[line.citation] = totals.get(line.citation, 0) + line.cents
    return totals


def test_paper_copy_picked_up_is_copying_labour_plus_paper():
    estimate = quote()
    # 100 pages at 15 minutes per 100 pages and $20 an hour = $5.00; paper 100 x $0.05 = $5.00.
    assert [line.cents for line in estimate.lines] == [500, 500]
    assert estimate.total_cents == 1000
    assert all(line.citation == "45 CFR 164.524(c)(4)" for line in estimate.lines)


def test_mailed_paper_copy_adds_the_postage_passed_in():
    estimate = quote(delivery="mail", postage_cents=287)
    assert estimate.total_cents == 1287
    assert estimate.lines[-1].label == say("fees.postage_line")


def test_postage_is_not_charged_when_the_copy_is_not_mailed():
    assert quote(delivery="pickup", postage_cents=287).total_cents == 1000


def test_labour_is_rounded_to_the_nearest_cent():
    estimate = quote(pages=3, schedule=FeeSchedule(paper_per_page=0))
    # 3 pages -> 0.45 minutes at $20/hour = $0.15.
    assert estimate.lines[0].cents == 15


def test_electronic_copy_with_the_flat_fee_is_6_50_whatever_the_pages_media_or_postage():
    for pages in (1, 40, 4000):
        estimate = quote(pages=pages, form="electronic", delivery="mail", portable_media=True, postage_cents=500)
        assert estimate.total_cents == 650
        assert [line.citation for line in estimate.lines] == ["HHS FAQs 2029 and 2030"]


def test_electronic_copy_without_the_flat_fee_has_no_per_page_charge():
    schedule = FeeSchedule(use_electronic_flat_fee=False)
    assert quote(pages=10, form="electronic", delivery="portal", schedule=schedule).total_cents == 0
    assert quote(pages=5000, form="electronic", delivery="portal", schedule=schedule).total_cents == 0
    assert say("fees.no_per_page_electronic") in quote(form="electronic", schedule=schedule).notes


def test_portable_media_is_charged_only_when_the_client_asked_for_it():
    schedule = FeeSchedule(use_electronic_flat_fee=False)
    assert quote(form="electronic", delivery="pickup", schedule=schedule, portable_media=True).total_cents == 300
    assert quote(form="electronic", delivery="pickup", schedule=schedule, portable_media=False).total_cents == 0


def test_summary_fee_only_when_agreed_in_advance():
    schedule = FeeSchedule(summary_fee=25.0)
    assert quote(schedule=schedule).total_cents == 1000
    agreed = quote(schedule=schedule, summary_agreed=True)
    assert agreed.total_cents == 3500
    assert agreed.lines[-1].label == say("fees.summary_line")


def test_california_cap_of_25_cents_a_page_wins_when_lower_than_cost():
    costly = FeeSchedule(paper_per_page=0.30)
    estimate = quote(jurisdiction="CA", schedule=costly)  # cost 500 + 3000 = 3500 > cap 2500
    assert estimate.total_cents == 2500
    assert cents_by_citation(estimate)["Cal. HSC 123110(b)"] == -1000


def test_california_cost_based_fee_stands_when_lower_than_the_cap():
    estimate = quote(jurisdiction="ca")
    assert estimate.total_cents == 1000
    assert "Cal. HSC 123110(b)" not in cents_by_citation(estimate)


def test_california_cap_also_lowers_a_small_electronic_flat_fee():
    assert quote(pages=10, form="electronic", jurisdiction="CA").total_cents == 250


def test_cap_does_not_swallow_postage():
    costly = FeeSchedule(paper_per_page=0.30)
    assert quote(jurisdiction="CA", schedule=costly, delivery="mail", postage_cents=400).total_cents == 2900


def test_new_york_cap_of_75_cents_applies_to_paper_copies():
    costly = FeeSchedule(labour_per_hour=100, copy_minutes_per_100_pages=60)  # $100 labour + $5 paper
    estimate = quote(jurisdiction="NY", schedule=costly)
    assert estimate.total_cents == 7500
    assert "N.Y. PHL 18(2)(e)" in cents_by_citation(estimate)


def test_new_york_cap_is_for_paper_so_an_electronic_flat_fee_is_unchanged():
    assert quote(pages=1, form="electronic", jurisdiction="NY").total_cents == 650


def test_no_search_retrieval_or_review_time_can_be_passed_in():
    params = set(inspect.signature(estimate_fee).parameters)
    assert not {p for p in params if any(w in p for w in ("search", "retriev", "review", "prepar", "segregat"))}
    with pytest.raises(TypeError):
        quote(review_minutes=30)


def test_third_party_copy_gets_a_ciox_note_and_the_same_cost_based_estimate():
    directed = quote(third_party=True)
    assert directed.total_cents == quote().total_cents
    assert "Ciox" in directed.notes[0]


def test_every_estimate_reminds_that_records_are_never_withheld_for_unpaid_bills():
    assert say("fees.never_withhold_for_unpaid_bills") in quote().notes
    assert say("fees.never_withhold_for_unpaid_bills") in quote(form="electronic").notes


def test_unknown_form_delivery_or_jurisdiction_is_refused():
    with pytest.raises(UnknownFeeInput, match="paper, electronic"):
        quote(form="fax")
    with pytest.raises(UnknownFeeInput, match="encrypted_email"):
        quote(delivery="pigeon")
    with pytest.raises(UnknownJurisdiction):
        quote(jurisdiction="XX")
    with pytest.raises(UnknownFeeInput):
        quote(pages=-1)


@given(
    pages=st.integers(0, 5000),
    form=st.sampled_from(FORMS),
    delivery=st.sampled_from(DELIVERIES),
    jurisdiction=st.sampled_from(["US", "CA", "NY", "TX"]),
    postage=st.integers(0, 2000),
    media=st.booleans(),
    flat=st.booleans(),
)
def test_property_total_is_the_sum_of_lines_and_never_negative(
    pages, form, delivery, jurisdiction, postage, media, flat
):
    estimate = quote(
        pages=pages,
        form=form,
        delivery=delivery,
        jurisdiction=jurisdiction,
        postage_cents=postage,
        portable_media=media,
        schedule=FeeSchedule(use_electronic_flat_fee=flat),
    )
    assert estimate.total_cents == sum(line.cents for line in estimate.lines) >= 0
    if form == "electronic" and flat:
        assert estimate.total_cents <= 650
