"""Fixing answers: one step back in a run, and later corrections to a request's received date, requester or delivery."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.answers import read_choice, read_date
from bot.config import PracticeSettings
from bot.domain.deadlines import due_dates
from bot.engine import TRAIL, Invalid
from bot.prompts import Prompt
from bot.refs import edit_ref
from bot.services import audit, requests
from bot.services.reminders import plan_reminders
from bot.store import FlowRun, Member, RecordsRequest, Reminder, utcnow
from bot.text import say
from flows.records_request import RecordsRequestFlow
from flows.steps.common import DELIVERIES, EARLIEST_RECEIPT, REQUESTERS, choices

# steps a run never goes back into: the request exists (fix it with edit), the practice is set up (records-bot init)
NOT_BACK_INTO = RecordsRequestFlow.no_way_back
# a consult already sent is not sent twice: going back from its follow-up steps lands on the consult menu
BACK_TO_MENU = ("consult_who", "consult_question", "consult_email")
# what `edit RR-… <field>` corrects, by the words people use for it
EDITABLE = {
    "received": "received_on",
    "received_on": "received_on",
    "date": "received_on",
    "requester": "requester_type",
    "requester_type": "requester_type",
    "who": "requester_type",
    "delivery": "delivery",
    "third-party": "third_party_direction",
    "third_party": "third_party_direction",
    "recipient": "third_party_direction",
}


class EditRefused(Exception):
    """The correction cannot be made; the message says why and what to do instead."""


class LostRace(EditRefused):
    """Someone moved the run at the same moment: their change stands, this one is dropped."""


def previous_step(run: FlowRun) -> str | None:
    """The step before this one, by the run's trail (None at the start, or where back is not possible)."""
    trail = [s for s in (run.answers or {}).get(TRAIL, []) if s != run.step]
    return trail[-1] if trail else None


def step_back(session: Session, run: FlowRun, member: Member, request: RecordsRequest | None) -> str:
    """Move the run one step back, keeping every answer; returns the step it is on now. Raises EditRefused."""
    if run.status != "active" or (request is not None and request.status not in requests.OPEN_STATUSES):
        raise EditRefused(say("editing.back_finished"))
    target = previous_step(run)
    if target is None:
        raise EditRefused(say("editing.back_at_start"))
    if target in NOT_BACK_INTO:
        raise EditRefused(say("editing.back_into_intake", reference=request.reference if request else ""))
    trail = list(run.answers.get(TRAIL, []))
    while trail and trail[-1] in (target, run.step):
        trail.pop()
    if target in BACK_TO_MENU:
        target = "consult"
        while trail and trail[-1] in (*BACK_TO_MENU, "consult"):
            trail.pop()
    moved = session.execute(
        update(FlowRun)
        .where(col(FlowRun.id) == run.id, col(FlowRun.version) == run.version)
        .values(step=target, answers={**run.answers, TRAIL: trail}, version=run.version + 1, updated_at=utcnow())
        .returning(col(FlowRun.id))
    ).first()
    if moved is None:
        session.refresh(run)
        raise LostRace(say("already_done"))
    if request is not None:
        audit.record(
            session,
            request_id=request.id,
            actor=member.name,
            action="step.back",
            after={"from": run.step, "to": target},
        )
        requests.update_request(session, request, {"step": target}, actor=member.name)
    session.refresh(run)
    return target


def field_of(word: str) -> str | None:
    return EDITABLE.get(word.strip().lower())


def question(request: RecordsRequest, field: str) -> Prompt:
    """What to ask for a correction of `field`; answered with ref edit:<reference>:<field>."""
    ref = edit_ref(request.reference, field)
    text = say("editing.ask", field=field, reference=request.reference, request=request)
    if field == "received_on":
        return Prompt(kind="date", text=text, ref=ref)
    return Prompt(kind="choice", text=text, ref=ref, choices=_options(field))


def _options(field: str):  # type: ignore[no-untyped-def]
    if field == "third_party_direction":
        return choices("yesno", ("no", "yes"))
    return choices("requester", REQUESTERS) if field == "requester_type" else choices("delivery", DELIVERIES)


def correct(
    session: Session,
    request: RecordsRequest,
    field: str,
    raw: Any,
    *,
    member: Member,
    practice: PracticeSettings,
    today: date,
) -> str:
    """Make the correction (audited), recompute what depends on it; returns what to tell the person. Raises Invalid."""
    if request.status not in requests.OPEN_STATUSES:
        raise EditRefused(say("already_closed", request=request))
    if field == "received_on":
        value: Any = read_date(
            raw, not_before=EARLIEST_RECEIPT, not_after=today, what=say("editing.field", field=field)
        )
        changes = _new_deadlines(request, value, practice)
    elif field == "requester_type":
        value = read_choice(raw, _options(field))
        changes = {"requester_type": value}
    elif field == "third_party_direction":
        value = read_choice(raw, _options(field)) == "yes"
        changes = {"third_party_direction": value}
        if not value:  # the copy goes to the client after all: no signed direction is waited for
            release = {k: v for k, v in (request.release or {}).items() if k != "direction"}
            changes |= {"direction_on_file": False, "release": release}
    else:
        value = read_choice(raw, _options(field))
        if value in ("encrypted_email", "unencrypted_email", "portal") and request.form == "paper":
            raise Invalid(say("records_request.paper_by_email"))
        if value == "unencrypted_email" and request.email_risk_accepted_on is None:
            raise Invalid(say("editing.unencrypted_needs_warning"))
        changes = {"delivery": value}
    before = {k: getattr(request, k) for k in changes}
    requests.update_request(session, request, changes, actor=member.name)
    audit.record(
        session,
        request_id=request.id,
        actor=member.name,
        action="request.corrected",
        before={field: before.get(field)},
        after={field: value},
    )
    if field == "received_on":
        _move_ack_reminder(session, request, practice)
    if field == "third_party_direction" and not value:
        _leave_direction_step(session, request, member)
    plan_reminders(session, request, practice, now=utcnow())
    return say("editing.corrected", field=field, request=request, before=before, today=today)


def _leave_direction_step(session: Session, request: RecordsRequest, member: Member) -> None:
    """A run waiting at the third-party direction step goes on to the acknowledgement (or, acknowledged, the
    timeframe): that question no longer applies."""
    run = session.exec(
        select(FlowRun).where(FlowRun.request_id == request.id, FlowRun.status == "active", FlowRun.step == "direction")
    ).first()
    if run is None:
        return
    step = "timeframe" if request.acknowledged_on else "acknowledge"
    session.execute(
        update(FlowRun)
        .where(col(FlowRun.id) == run.id, col(FlowRun.version) == run.version)
        .values(step=step, version=run.version + 1, updated_at=utcnow())
    )
    requests.update_request(session, request, {"step": step}, actor=member.name)


def _new_deadlines(request: RecordsRequest, received: date, practice: PracticeSettings) -> dict[str, Any]:
    deadline = due_dates(
        received,
        request.jurisdiction,
        request.access_type,
        hipaa_covered=practice.hipaa_covered_entity,
        custom_rules=practice.custom_rules,
    )
    fee = (request.deadline or {}).get("fee")
    changes: dict[str, Any] = {
        "received_on": received,
        "due_on": deadline.due,
        "extended_due_on": deadline.extended_due,
        "deadline": {**deadline.to_json(), **({"fee": fee} if fee is not None else {})},
    }
    if request.extended_to and deadline.extended_due and request.extended_to > deadline.extended_due:
        changes["extended_to"] = deadline.extended_due  # never past what the law allows from the true date
    due = changes.get("extended_to", request.extended_to) or deadline.due
    if request.target_on and request.target_on > due:
        changes["target_on"] = None  # a target past the new deadline is no target: the next reminder asks again
    return changes


def _move_ack_reminder(session: Session, request: RecordsRequest, practice: PracticeSettings) -> None:
    """The "acknowledge it" nudge is counted from receipt: a pending one follows the corrected date."""
    from bot.services.reminders.planning import ladder

    wanted = {row["dedupe_key"]: row["due_at"] for row in ladder(request, practice) if row["kind"] == "ack"}
    pending = select(Reminder).where(
        Reminder.request_id == request.id, Reminder.kind == "ack", Reminder.status == "pending"
    )
    for row in session.exec(pending):
        if row.dedupe_key in wanted:
            row.due_at = wanted[row.dedupe_key]
            session.add(row)
