"""Consults: PHI-free questions to a colleague or supervisor, or a phone call to the insurer or association."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from bot import text
from bot.config import Contact, PracticeSettings
from bot.prompts import Choice, Outbound, Prompt
from bot.refs import consult_ref, offer_ref
from bot.services.reminders import insert_if_absent
from bot.store import Consult, Member, RecordsRequest, Reminder, utcnow

MEMBER_KINDS = ("colleague", "supervisor")
PHONE_KINDS = ("insurance", "association")
KINDS = MEMBER_KINDS + PHONE_KINDS
ANSWERS = ("can_help", "call_me", "not_now")
OFFER_CHOICES = ("ask_other", "keep_waiting")
NOTE_LENGTH = 500  # a short note: a sentence or two


class ConsultError(ValueError):
    """The consult cannot be asked, answered or recorded as given; the message says why, for people."""


def _audit(session: Session, consult: Consult, actor: str, action: str, after: dict) -> None:
    from bot.services.audit import record

    record(
        session, request_id=consult.request_id, actor=actor, action=action, after={"consult_id": consult.id, **after}
    )


def _header(request: RecordsRequest) -> str:
    return text.say("consults.header", reference=request.reference, due=request.effective_due)


def _answer_choices() -> tuple[Choice, ...]:
    return tuple(Choice(value, text.say("consults.answer_label", answer=value)) for value in ANSWERS)


def card(consult: Consult, request: RecordsRequest, asker: str) -> Prompt:
    """The question as the consultee sees it: reference, due date, step and question; no client details."""
    return Prompt(
        kind="choice",
        ref=consult_ref(consult.id),
        header=_header(request),
        text=text.say("consults.card", asker=asker, kind=consult.kind, step=consult.step, question=consult.question),
        choices=_answer_choices(),
    )


def _contact(practice: PracticeSettings, kind: str) -> Contact:
    contact = practice.insurance if kind == "insurance" else practice.association
    if contact is None:
        raise ConsultError(text.say("consults.no_contact", kind=kind))
    return contact


def call_summary(consult: Consult, request: RecordsRequest, practice: PracticeSettings) -> str:
    """What to read aloud (or email) to the insurer's risk line or the association: no client details."""
    return text.say(
        "consults.call_summary",
        practice=practice.name,
        reference=request.reference,
        step=consult.step,
        question=consult.question,
    )


def ask(
    session: Session,
    *,
    request: RecordsRequest,
    step: str,
    kind: str,
    asked_by: Member,
    asked_member: Member | None,
    question: str,
    practice: PracticeSettings,
) -> tuple[Consult, list[Outbound]]:
    """Record a consult and return what to send: a card to the consultee, or the phone script for the asker."""
    if kind not in KINDS:
        raise ConsultError(text.say("consults.bad_kind", kind=kind, kinds=KINDS))
    question = question.strip()
    if not question or len(question) > 1000:
        raise ConsultError(text.say("consults.bad_question"))
    if kind in MEMBER_KINDS:
        if asked_member is None or asked_member.id == asked_by.id:
            raise ConsultError(text.say("consults.pick_someone", kind=kind))
        if kind == "supervisor" and asked_member.role != "supervisor":
            raise ConsultError(text.say("consults.not_a_supervisor", name=asked_member.name))
        if waiting_on(session, request, asked_member) is not None:  # one open question per person per request
            raise ConsultError(
                text.say("consults.already_waiting", name=asked_member.name, reference=request.reference)
            )
    else:
        contact = _contact(practice, kind)
        asked_member = None
    consult = Consult(
        request_id=request.id,  # type: ignore[arg-type]
        step=step,
        kind=kind,
        asked_by_id=asked_by.id,
        asked_member_id=asked_member.id if asked_member else None,
        question=question,
        asked_at=utcnow(),
    )
    session.add(consult)
    session.flush()
    _audit(
        session,
        consult,
        asked_by.name,
        "consult.asked",
        {"kind": kind, "step": step, "asked": getattr(asked_member, "name", None)},
    )
    header = _header(request)
    if asked_member is not None:
        hours = practice.reminders.consult_nudge_after_hours
        insert_if_absent(
            session,
            [
                {
                    "kind": "consult_nudge",
                    "request_id": request.id,
                    "consult_id": consult.id,
                    "due_at": consult.asked_at + timedelta(hours=hours),
                    "target_kind": "member",
                    "target": asked_member.name,
                    "dedupe_key": f"consult:{consult.id}:nudge",
                    "payload": {"reference": request.reference},
                }
            ],
        )
        sent = text.say("consults.asked", name=asked_member.name, hours=hours)
        return consult, [
            Outbound(target_kind="member", target=asked_member.name, prompts=(card(consult, request, asked_by.name),)),
            Outbound(
                target_kind="member", target=asked_by.name, prompts=(Prompt(kind="notice", text=sent, header=header),)
            ),
        ]
    script = text.say(
        "consults.phone_notice",
        kind=kind,
        name=contact.name,
        phone=contact.phone,
        policy_number=contact.policy_number if kind == "insurance" else None,
        summary=call_summary(consult, request, practice),
    )
    return consult, [
        Outbound(
            target_kind="member", target=asked_by.name, prompts=(Prompt(kind="notice", text=script, header=header),)
        )
    ]


def waiting_on(session: Session, request: RecordsRequest, member: Member) -> Consult | None:
    """The consult on this request still waiting on this member, if any."""
    query = select(Consult).where(
        Consult.request_id == request.id, Consult.asked_member_id == member.id, Consult.status == "waiting"
    )
    return session.exec(query).first()


def states(session: Session, request: RecordsRequest) -> list[dict[str, str | None]]:
    """Every consult on a request as it stands: whom, and their answer with its note, or that it is waiting."""
    rows = session.exec(select(Consult).where(Consult.request_id == request.id).order_by(Consult.id)).all()
    names = {m.id: m.name for m in session.exec(select(Member))}
    return [
        {
            "who": names.get(c.asked_member_id) if c.asked_member_id else c.spoken_to,
            "kind": c.kind,
            "status": c.status,
            "answer": c.answer,
            "note": c.note,
        }
        for c in rows
    ]


def _notice_to(member: str, body: str) -> Outbound:
    return Outbound(target_kind="member", target=member, prompts=(Prompt(kind="notice", text=body),))


def answer(session: Session, *, consult_id: int, member: Member, answer: str, note: str | None) -> list[Outbound]:
    """Record the consultee's answer once and relay it to the asker; anyone else, or a second answer, changes nothing."""
    if answer not in ANSWERS:
        raise ConsultError(text.say("consults.bad_answer", answer=answer))
    consult = session.get(Consult, consult_id)
    if consult is None:
        raise ConsultError(text.say("consults.not_found", consult_id=consult_id))
    request = session.get(RecordsRequest, consult.request_id)
    reference = request.reference if request else ""
    if consult.asked_member_id != member.id:
        asked = session.get(Member, consult.asked_member_id) if consult.asked_member_id else None
        return [
            _notice_to(
                member.name, text.say("consults.not_yours", reference=reference, asked=getattr(asked, "name", None))
            )
        ]
    if consult.status != "waiting":
        return [_notice_to(member.name, text.say("consults.already_answered", reference=reference))]
    note = (note or "").strip() or None
    if note is None or len(note) > NOTE_LENGTH:  # the asker needs words, not only a button
        raise ConsultError(text.say("consults.needs_note", reference=reference, most=NOTE_LENGTH))
    consult.answer, consult.note, consult.status, consult.answered_at = answer, note, "answered", utcnow()
    session.add(consult)
    # the nudge is pointless now; the sweep would skip it anyway, this just keeps `reminders list` honest
    session.execute(
        update(Reminder.__table__)  # type: ignore[attr-defined]
        .where(Reminder.__table__.c.consult_id == consult.id, Reminder.__table__.c.status == "pending")  # type: ignore[attr-defined]
        .values(status="cancelled")
    )
    _audit(session, consult, member.name, "consult.answered", {"answer": answer, "note": note})
    asker = session.get(Member, consult.asked_by_id) if consult.asked_by_id else None
    out = [_notice_to(member.name, text.say("consults.thanks", reference=reference))]
    if asker is not None:
        relay = text.say("consults.relay", name=member.name, reference=reference, answer=answer, note=note)
        out.insert(
            0,
            Outbound(
                target_kind="member",
                target=asker.name,
                prompts=(Prompt(kind="notice", text=relay),),
                phi_free=note is None,
            ),
        )
    return out


def record_call_outcome(
    session: Session,
    *,
    consult_id: int,
    spoken_on: date,
    spoken_to: str,
    reference_number: str | None,
    advice: str,
    actor: str | None = None,
) -> Consult:
    """Record a phone consult: when, with whom, their reference number and the advice in a sentence."""
    consult = session.get(Consult, consult_id)
    if consult is None:
        raise ConsultError(text.say("consults.not_found", consult_id=consult_id))
    if consult.kind not in PHONE_KINDS:
        raise ConsultError(text.say("consults.not_a_call"))
    if consult.status != "waiting":
        raise ConsultError(text.say("consults.outcome_already_recorded"))
    spoken_to, advice = spoken_to.strip(), advice.strip()
    reference_number = (reference_number or "").strip() or None
    if not spoken_to or len(spoken_to) > 120 or not advice or len(advice) > 1000:
        raise ConsultError(text.say("consults.bad_outcome"))
    if reference_number and len(reference_number) > 80:
        raise ConsultError(text.say("consults.bad_outcome"))
    if spoken_on > utcnow().date() + timedelta(days=1):
        raise ConsultError(text.say("consults.future_call"))
    consult.status, consult.answer = "answered", "spoke"
    consult.spoken_to, consult.reference_number, consult.note = spoken_to, reference_number, advice
    consult.spoken_on, consult.answered_at = spoken_on, utcnow()
    session.add(consult)
    asker = session.get(Member, consult.asked_by_id) if consult.asked_by_id else None
    _audit(
        session,
        consult,
        actor or getattr(asker, "name", "unknown"),
        "consult.call_recorded",
        {"spoken_on": spoken_on, "spoken_to": spoken_to, "reference_number": reference_number, "advice": advice},
    )
    return consult


def call_summary_email(
    session: Session, *, consult_id: int, practice: PracticeSettings, to: str | None = None
) -> tuple[str, str, str]:
    """The PHI-free call summary as an email to the contact (or `to`): (address, subject, body)."""
    consult = session.get(Consult, consult_id)
    if consult is None or consult.kind not in PHONE_KINDS:
        raise ConsultError(text.say("consults.not_a_call"))
    request = session.get(RecordsRequest, consult.request_id)
    assert request is not None
    address = to or _contact(practice, consult.kind).email
    if not address:
        raise ConsultError(text.say("consults.no_email", kind=consult.kind))
    subject = text.say("consults.email_subject", practice=practice.name, reference=request.reference)
    return address, subject, call_summary(consult, request, practice)


def nudge_messages(session: Session, consult: Consult, practice: PracticeSettings) -> list[tuple[str, Outbound]]:
    """For an unanswered consult: the card again for the consultee, and an offer to ask someone else for the asker."""
    request = session.get(RecordsRequest, consult.request_id)
    asked = session.get(Member, consult.asked_member_id) if consult.asked_member_id else None
    asker = session.get(Member, consult.asked_by_id) if consult.asked_by_id else None
    if request is None or asked is None:
        return []
    asker_name = asker.name if asker else ""
    reminder = card(consult, request, asker_name)
    nudge = Prompt(
        kind="choice",
        ref=reminder.ref,
        header=reminder.header,
        text=text.say("consults.nudge", asker=asker_name, step=consult.step, question=consult.question),
        choices=reminder.choices,
    )
    out = [(f"dm:{asked.name}", Outbound(target_kind="member", target=asked.name, prompts=(nudge,)))]
    if asker is not None:
        offer = Prompt(
            kind="choice",
            ref=offer_ref(consult.id),
            header=reminder.header,
            text=text.say("consults.offer", name=asked.name, hours=practice.reminders.consult_nudge_after_hours),
            choices=tuple(Choice(v, text.say("consults.offer_label", choice=v)) for v in OFFER_CHOICES),
        )
        out.append((f"dm:{asker.name}", Outbound(target_kind="member", target=asker.name, prompts=(offer,))))
    return out
