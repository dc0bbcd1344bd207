"""The records-request procedure, step by step, as the practice would describe it."""

from __future__ import annotations

from bot.engine import Ctx, Flow, Go, Step
from bot.services.requests import OPEN_STATUSES
from flows.steps.acknowledge import AcknowledgeSteps
from flows.steps.common import CONTACT_FIELDS
from flows.steps.consult import ConsultSteps
from flows.steps.decision import DecisionSteps
from flows.steps.intake import IntakeSteps
from flows.steps.review import ReviewSteps
from flows.steps.rights import RightsSteps
from flows.steps.setup import SetupSteps
from flows.steps.timeframe import TimeframeSteps

__all__ = ["CONTACT_FIELDS", "FLOWS", "RecordsRequestFlow"]


class RecordsRequestFlow(
    SetupSteps,
    IntakeSteps,
    AcknowledgeSteps,
    TimeframeSteps,
    ReviewSteps,
    ConsultSteps,
    DecisionSteps,
    RightsSteps,
    Flow,
):
    """A client asked for their records: intake, acknowledge, deadline, review, consult, release or deny, follow up."""

    name = "records_request"
    first = "intake"
    # the practice's details are saved to practice.toml (corrected there, or with records-bot init); the request made at
    # intake is corrected with "edit RR-… received|requester|delivery"
    no_way_back = ("practice_details", "intake")

    def allows_back(self, ctx: Ctx) -> bool:
        """No way back once the records or the denial went out: what follows is recorded, not redone."""
        return ctx.request is None or ctx.request.status in OPEN_STATUSES

    # 0. Once, before the first request: the practice's own details every letter needs (saved to practice.toml).
    practice_details = Step(
        ask="ask_practice_details", read="read_practice_details", do="save_practice_details", then=(Go("intake"),)
    )
    # 1-2. Orientation and intake: who asked, for what, when it arrived, how it goes out.
    intake = Step(
        ask="ask_intake",
        read="read_intake",
        do="create_request",
        remember="without_contact",
        then=(
            Go("representative", when="needs_representative_check"),
            Go("parties", when="multi_party"),
            Go("direction", when="direction_first"),
            Go("acknowledge"),
        ),
    )
    # A parent or representative: do they act for the client for these records (45 CFR 164.502(g), 164.524(a)(3)(iii))?
    representative = Step(
        ask="ask_representative",
        read="read_representative",
        do="record_representative",
        then=(
            Go("parties", when="multi_party_request"),
            Go("direction", when="direction_first"),
            Go("acknowledge"),
        ),
    )
    parties = Step(ask="ask_parties", read="read_parties", then=(Go("party_consents"),))
    party_consents = Step(
        ask="ask_party_consents",
        read="read_party_consents",
        do="save_parties",
        then=(Go("direction", when="direction_first"), Go("acknowledge")),
    )
    # A copy sent to someone else, asked when the request is taken: who receives it, and the client's written, signed
    # direction for an electronic EHR copy (45 CFR 164.524(c)(3)(ii), as limited by Ciox v. Azar), otherwise a HIPAA
    # authorization (164.508). Release waits until it is on file; the deadline reminders say so meanwhile.
    direction = Step(
        ask="ask_direction",
        read="read_direction",
        do="record_direction",
        then=(Go("acknowledge", when="not_acknowledged"), Go("timeframe")),
    )
    # 3. Acknowledge the request in writing.
    acknowledge = Step(
        ask="ask_acknowledge",
        read="read_acknowledge",
        do="record_acknowledgement",
        then=(
            Go("acknowledge_date", when="sent_another_day"),
            Go("email_risk", when="needs_email_risk"),
            Go("direction", when="needs_direction"),
            Go("timeframe", when="ready_for_timeframe"),
        ),
    )
    acknowledge_date = Step(
        ask="ask_acknowledge_date",
        read="read_acknowledge_date",
        do="record_acknowledgement_date",
        then=(
            Go("email_risk", when="needs_email_risk"),
            Go("direction", when="needs_direction"),
            Go("timeframe", when="ready_for_timeframe"),
        ),
    )
    # Unencrypted email at the client's request: warn, then do as they ask (78 FR 5634; HHS FAQ 2061).
    email_risk = Step(
        ask="ask_email_risk",
        read="read_email_risk",
        do="record_email_risk",
        then=(
            Go("delivery_change", when="chose_other_delivery"),
            Go("direction", when="needs_direction"),
            Go("timeframe", when="ready_for_timeframe"),
        ),
    )
    delivery_change = Step(
        ask="ask_delivery_change",
        read="read_delivery_change",
        do="record_delivery_change",
        then=(Go("direction", when="needs_direction"), Go("timeframe", when="ready_for_timeframe")),
    )
    # 4. Timeframe: the deadline with its rule and citation, a target date, or the one extension.
    timeframe = Step(
        ask="ask_timeframe",
        read="read_timeframe",
        do="record_timeframe",
        then=(
            Go("extension_reason", when="chose_extension"),
            # a day left: the target is the deadline itself, no date to pick
            Go("@after_target", when="target_is_the_deadline"),
            Go("target"),
        ),
    )
    # after an extension taken later (the "extend" command), back to where the person was
    target = Step(
        ask="ask_target", read="read_target", do="record_target", then=(Go("@after_target"),), forget=("return_to",)
    )
    extension_reason = Step(
        ask="ask_extension_reason",
        read="read_reason",
        then=(Go("@back_from_extension", when="extension_dropped"), Go("extension_date")),
    )
    extension_date = Step(ask="ask_extension_date", read="read_extension_date", then=(Go("extension_notice"),))
    extension_notice = Step(
        ask="ask_extension_notice",
        read="read_extension_notice",
        do="record_extension",
        then=(
            Go("target", when="extension_sent"),
            Go("@back_from_extension", when="extension_dropped"),
            Go("timeframe", when="extension_window_closed"),
        ),
    )
    # 5. Review the record.
    review = Step(
        ask="ask_review", read="read_review", do="record_review", then=(Go("findings", when="review_complete"),)
    )
    findings = Step(
        ask="ask_findings",
        read="read_findings",
        do="record_findings",
        then=(Go("addendum", when="errors_found"), Go("consult")),
    )
    addendum = Step(ask="ask_addendum", read="read_addendum", do="save_addendum", then=(Go("consult"),))
    # 6. Consult: optional, always offered.
    consult = Step(
        ask="ask_consult",
        read="read_consult",
        then=(
            Go("consult_who", when="consult_in_practice"),
            Go("consult_question", when="consult_by_phone"),
            Go("decision"),
        ),
    )
    consult_who = Step(ask="ask_consult_who", read="read_consult_who", then=(Go("consult_question"),))
    consult_question = Step(
        ask="ask_consult_question",
        read="read_consult_question",
        do="send_consult",
        then=(Go("consult_email", when="can_email_summary"), Go("consult_call", when="asking_by_phone"), Go("consult")),
    )
    # The insurer's risk line and the association are phone calls: email them the PHI-free summary first if SMTP is set.
    consult_email = Step(
        ask="ask_consult_email", read="read_consult_email", do="email_summary", then=(Go("consult_call"),)
    )
    consult_call = Step(ask="ask_consult_call", read="read_consult_call", do="record_call", then=(Go("consult"),))
    # 7. Release or deny.
    decision = Step(
        ask="ask_decision",
        read="read_decision",
        do="record_decision",
        then=(Go("release", when="chose_release"), Go("denial")),
    )
    release = Step(
        ask="ask_release",
        read="read_release",
        do="record_release_details",
        then=(Go("denial_letter", when="is_partial_denial"), Go("release_letter")),
    )
    release_letter = Step(
        ask="ask_release_letter",
        read="read_letter_sent",
        do="record_release",
        then=(Go("follow_up", when="letter_sent"),),
    )
    denial = Step(
        ask="ask_denial",
        read="read_denial",
        do="record_denial_details",
        then=(
            Go("denial_items", when="several_grounds"),
            Go("release", when="is_partial_denial"),
            Go("denial_letter"),
        ),
    )
    # Several grounds: each withheld item gets its own ground, reviewability and words in every letter.
    denial_items = Step(
        ask="ask_denial_items",
        read="read_denial_items",
        do="record_denial_items",
        then=(Go("release", when="is_partial_denial"), Go("denial_letter")),
    )
    denial_letter = Step(
        ask="ask_denial_letter",
        read="read_letter_sent",
        do="record_denial",
        then=(Go("designated", when="state_rights_offered"), Go("follow_up", when="letter_sent")),
    )
    # A state right beyond HIPAA: the client names a professional who receives what was withheld
    # (Cal. HSC 123115(b), Tex. HSC 611.0045(e), RCW 70.02.090, N.J.A.C. 13:42-8.3(e)).
    designated = Step(
        ask="ask_designated",
        read="read_designated",
        do="record_designated",
        then=(Go("designated_letter", when="professional_named"), Go("follow_up")),
    )
    designated_letter = Step(
        ask="ask_designated_letter",
        read="read_designated_letter",
        do="record_designated_letter",
        then=(Go("follow_up", when="letter_sent"),),
    )
    # 8. What happens next.
    follow_up = Step(
        ask="ask_follow_up",
        read="read_follow_up",
        do="record_outcome",
        then=(Go("designated", when="naming_professional"), Go("follow_up", when="still_waiting")),
        final=True,
    )


FLOWS: dict[str, Flow] = {RecordsRequestFlow.name: RecordsRequestFlow()}
