"""Fee estimate for a client's copy: cost-based items only (45 CFR 164.524(c)(4)), capped by state per-page limits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from bot.domain.deadlines import normalize_jurisdiction
from bot.domain.jurisdictions import STATE_NAMES
from bot.text import say

if TYPE_CHECKING:
    from bot.config import FeeSchedule

FORMS = ("paper", "electronic")
DELIVERIES = ("pickup", "mail", "portal", "encrypted_email", "unencrypted_email")

COST_BASED = "45 CFR 164.524(c)(4)"
FLAT_FEE = "HHS FAQs 2029 and 2030"


@dataclass(frozen=True)
class PageCap:
    cents_per_page: int
    citation: str
    forms: tuple[str, ...]


# Per-page caps the fact sheet confirms; the estimate is the lower of the cost-based fee and the cap.
PAGE_CAPS = {
    # The statute caps "copies" without naming a medium; applying it to electronic copies too only lowers the fee.
    "CA": PageCap(25, "Cal. HSC 123110(b)", ("paper", "electronic")),
    "NY": PageCap(75, "N.Y. PHL 18(2)(e)", ("paper",)),
}


class UnknownFeeInput(ValueError):
    """A form, delivery or page count the estimate does not accept; the message says what is accepted."""


@dataclass(frozen=True)
class FeeLine:
    label: str
    cents: int
    citation: str


@dataclass(frozen=True)
class FeeEstimate:
    total_cents: int
    lines: tuple[FeeLine, ...]
    notes: tuple[str, ...]


def _cents(dollars: float | Decimal) -> int:
    return int((Decimal(str(dollars)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def estimate_fee(
    *,
    pages: int,
    form: str,
    delivery: str,
    jurisdiction: str,
    schedule: FeeSchedule,
    portable_media: bool = False,
    postage_cents: int = 0,
    summary_agreed: bool = False,
    third_party: bool = False,
) -> FeeEstimate:
    """The approximate fee to tell the client in advance.

    Only copying labour, supplies, postage and an agreed summary fee count; review, search, retrieval and
    preparation time never do, so there is no way to pass them in. `form="electronic"` means an electronic
    copy of records kept electronically: no per-page charge.
    """
    jurisdiction = normalize_jurisdiction(jurisdiction)
    if form not in FORMS:
        raise UnknownFeeInput(say("fees.unknown_form", given=form, accepted=FORMS))
    if delivery not in DELIVERIES:
        raise UnknownFeeInput(say("fees.unknown_delivery", given=delivery, accepted=DELIVERIES))
    if pages < 0 or postage_cents < 0:
        raise UnknownFeeInput(say("fees.negative_amount"))

    mailed = delivery == "mail"
    copying: list[FeeLine] = []
    others: list[FeeLine] = []

    if form == "electronic" and schedule.use_electronic_flat_fee:
        # The flat fee covers labour, supplies and postage for the whole request.
        copying.append(FeeLine(say("fees.flat_fee_line"), _cents(schedule.electronic_flat_fee), FLAT_FEE))
    elif form == "electronic":
        if portable_media:
            copying.append(FeeLine(say("fees.portable_media_line"), _cents(schedule.portable_media), COST_BASED))
        if mailed and postage_cents:
            others.append(FeeLine(say("fees.postage_line"), postage_cents, COST_BASED))
    else:
        minutes = Decimal(pages) * Decimal(str(schedule.copy_minutes_per_100_pages)) / 100
        labour = minutes * Decimal(str(schedule.labour_per_hour)) / 60
        copying.append(FeeLine(say("fees.labour_line", pages=pages, minutes=minutes), _cents(labour), COST_BASED))
        paper = Decimal(pages) * Decimal(str(schedule.paper_per_page))
        copying.append(FeeLine(say("fees.paper_line", pages=pages), _cents(paper), COST_BASED))
        if mailed and postage_cents:
            others.append(FeeLine(say("fees.postage_line"), postage_cents, COST_BASED))

    cap = PAGE_CAPS.get(jurisdiction)
    if cap and form in cap.forms:
        copying_cents = sum(line.cents for line in copying)
        cap_cents = pages * cap.cents_per_page
        if copying_cents > cap_cents:
            label = say("fees.cap_line", state=STATE_NAMES[jurisdiction], per_page=cap.cents_per_page, pages=pages)
            copying.append(FeeLine(label, cap_cents - copying_cents, cap.citation))

    if summary_agreed:
        others.append(FeeLine(say("fees.summary_line"), _cents(schedule.summary_fee), COST_BASED))

    # which rate applies: the client's own copy is held to the patient rate; a copy sent to someone else is not
    # (Ciox Health v. Azar vacated HHS's extension of the patient rate to third-party directives)
    notes = [say("fees.third_party") if third_party else say("fees.patient_rate")]
    notes.append(say("fees.never_withhold_for_unpaid_bills"))
    if form == "electronic":
        notes.append(say("fees.no_per_page_electronic"))

    lines = tuple(copying + others)
    return FeeEstimate(total_cents=sum(line.cents for line in lines), lines=lines, notes=tuple(notes))
