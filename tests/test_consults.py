"""Consults: a PHI-free card to a colleague, one answer relayed, a nudge if silent, and phone contacts with a script."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import EnvSettings, PracticeSettings
from bot.context import sync_members
from bot.db import open_database
from bot.services.consults import ConsultError, answer, ask, call_summary_email, record_call_outcome
from bot.services.mailer import MailNotConfigured, email_summary
from bot.services.reminders import sweep
from bot.store import Consult, Member, RecordsRequest, Reminder, session_scope

PRACTICE = {
    "name": "Maple Street Therapy",
    "timezone": "America/New_York",
    "members": [
        {"name": "Dana", "role": "clinician"},
        {"name": "Sam", "role": "supervisor"},
        {"name": "Lee", "role": "clinician"},
    ],
    "insurance": {
        "name": "CareRisk risk line",
        "phone": "800-555-0199",
        "email": "risk@example.test",
        "policy_number": "PL-778",
    },
    "association": {"name": "State counseling association", "phone": "800-555-0123"},
}


@pytest.fixture
def practice() -> PracticeSettings:
    return PracticeSettings.model_validate(PRACTICE)


@pytest.fixture
def engine(tmp_path, practice):
    engine = open_database(f"sqlite:///{tmp_path / 'bot.db'}", auto_upgrade=True)
    sync_members(engine, practice)
    with session_scope(engine) as session:
        session.add(
            RecordsRequest(
                reference="RR-2026-0007",
                client_label="Client A.B.",
                received_on=date(2026, 12, 1),
                due_on=date(2026, 12, 31),
                step="review",
                owner_id=session.exec(select(Member.id).where(Member.name == "Dana")).one(),
            )
        )
    yield engine
    engine.dispose()


def people(session) -> dict[str, Member]:
    return {m.name: m for m in session.exec(select(Member)).all()}


def ask_in(session, practice, kind, *, by, of=None, question="?", request=None):
    """The clinician `by` asks `of` (or a phone contact) about the one request, at the review step."""
    request = request or session.exec(select(RecordsRequest)).one()
    return ask(
        session,
        request=request,
        step="review",
        kind=kind,
        asked_by=by,
        asked_member=of,
        question=question,
        practice=practice,
    )


def ask_lee(engine, practice) -> int:
    with session_scope(engine) as session:
        who = people(session)
        consult, out = ask_in(
            session,
            practice,
            "colleague",
            by=who["Dana"],
            of=who["Lee"],
            question="Is an addendum the right way to fix a wrong session date?",
        )
        card, confirmation = out
        assert (card.target, confirmation.target) == ("Lee", "Dana")
        prompt = card.prompts[0]
        assert prompt.kind == "choice" and prompt.ref == f"consult:{consult.id}"
        assert prompt.header == "RR-2026-0007 · due 2026-12-31"
        assert "step: review" in prompt.text and "addendum" in prompt.text and "A.B." not in prompt.text
        assert [c.value for c in prompt.choices] == ["can_help", "call_me", "not_now"]
        return consult.id


def test_dana_asks_lee_lee_answers_once_and_dana_hears_back(engine, practice):
    consult_id = ask_lee(engine, practice)
    with session_scope(engine) as session:
        who = people(session)
        with pytest.raises(ConsultError, match="maybe"):
            answer(session, consult_id=consult_id, member=who["Lee"], answer="maybe", note=None)

        out = answer(session, consult_id=consult_id, member=who["Sam"], answer="can_help", note=None)
        assert [o.target for o in out] == ["Sam"] and "put to Lee" in out[0].prompts[0].text
        assert session.get(Consult, consult_id).status == "waiting"  # a stranger's answer changes nothing

        out = answer(session, consult_id=consult_id, member=who["Lee"], answer="call_me", note="Free after 3pm")
        assert [o.target for o in out] == ["Dana", "Lee"]
        assert out[0].prompts[0].text == "Lee answered your question on RR-2026-0007: Call me. Note: Free after 3pm"

        again = answer(session, consult_id=consult_id, member=who["Lee"], answer="not_now", note=None)
        assert "already answered" in again[0].prompts[0].text
        consult = session.get(Consult, consult_id)
        assert (consult.answer, consult.note, consult.answered_at is not None) == ("call_me", "Free after 3pm", True)
        nudge = session.exec(select(Reminder).where(Reminder.consult_id == consult_id)).one()
        assert nudge.status == "cancelled"


def test_no_answer_in_time_brings_a_nudge_and_an_offer_to_ask_someone_else(engine, practice):
    consult_id = ask_lee(engine, practice)
    sent = []
    with session_scope(engine) as session:
        asked_at = session.get(Consult, consult_id).asked_at
    # a weekday mid-morning in New York, just after the nudge falls due
    moment = asked_at + timedelta(hours=24, minutes=1)
    while not 14 <= moment.astimezone(UTC).hour < 22:
        moment += timedelta(hours=1)
    report = sweep(engine, practice, sent.append, now=moment, worker="w")
    assert report.sent == 1
    assert [o.target for o in sent] == ["Lee", "Dana"]
    assert "gentle nudge" in sent[0].prompts[0].text and sent[0].prompts[0].ref == f"consult:{consult_id}"
    offer = sent[1].prompts[0]
    assert offer.ref == f"consult:{consult_id}:offer" and [c.value for c in offer.choices] == [
        "ask_other",
        "keep_waiting",
    ]
    with session_scope(engine) as session:
        assert session.get(Consult, consult_id).nudged_at is not None


def test_a_supervisor_consult_must_go_to_a_supervisor(engine, practice):
    with session_scope(engine) as session:
        who = people(session)
        request = session.exec(select(RecordsRequest)).one()
        with pytest.raises(ConsultError, match="not set up as a supervisor"):
            ask_in(session, practice, "supervisor", by=who["Dana"], of=who["Lee"], request=request)
        with pytest.raises(ConsultError, match="other than yourself"):
            ask_in(session, practice, "colleague", by=who["Dana"], of=who["Dana"], request=request)


def test_the_insurance_risk_line_is_a_phone_call_with_a_script_then_an_outcome(engine, practice):
    with session_scope(engine) as session:
        who = people(session)
        consult, out = ask_in(
            session,
            practice,
            "insurance",
            by=who["Dana"],
            question="May we withhold the intake questionnaire a third party filled in?",
        )
        assert [o.target for o in out] == ["Dana"]
        script = out[0].prompts[0].text
        assert "800-555-0199" in script and "PL-778" in script and "CareRisk risk line" in script
        assert "our reference RR-2026-0007" in script and "A.B." not in script
        assert session.exec(select(Reminder).where(Reminder.consult_id == consult.id)).first() is None

        today = datetime.now(UTC).date()

        recorded = record_call_outcome(
            session,
            consult_id=consult.id,
            spoken_on=today,
            spoken_to="Pat, risk consultant",
            reference_number="CR-55120",
            advice="Withhold it only if releasing it would identify the third party's confidential source.",
        )
        assert (recorded.status, recorded.answer, recorded.spoken_to) == ("answered", "spoke", "Pat, risk consultant")
        assert recorded.answered_at.date() == today
        with pytest.raises(ConsultError, match="already recorded"):
            record_call_outcome(
                session, consult_id=consult.id, spoken_on=today, spoken_to="x", reference_number=None, advice="y"
            )


def test_the_association_has_no_policy_number_and_a_missing_contact_is_explained(engine, practice):
    bare = PracticeSettings.model_validate({k: v for k, v in PRACTICE.items() if k != "association"})
    with session_scope(engine) as session:
        who = people(session)
        request = session.exec(select(RecordsRequest)).one()
        _, out = ask(
            session,
            request=request,
            step="deny",
            kind="association",
            asked_by=who["Dana"],
            asked_member=None,
            question="Which review rights apply?",
            practice=practice,
        )
        assert "800-555-0123" in out[0].prompts[0].text and "policy number" not in out[0].prompts[0].text
        with pytest.raises(ConsultError, match=r"\[association\]"):
            ask(
                session,
                request=request,
                step="deny",
                kind="association",
                asked_by=who["Dana"],
                asked_member=None,
                question="?",
                practice=bare,
            )


def test_the_call_summary_can_be_emailed_through_a_local_smtp_server(engine, practice, smtp_server):
    handler, port = smtp_server
    env = EnvSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="records@maple.test")
    with session_scope(engine) as session:
        who = people(session)
        consult, _ = ask_in(
            session,
            practice,
            "insurance",
            by=who["Dana"],
            question="Is a summary instead of a copy acceptable if the client agrees?",
        )
        address, subject, body = call_summary_email(session, consult_id=consult.id, practice=practice)
    assert address == "risk@example.test"
    email_summary(env, to=address, subject=subject, body=body)
    (envelope,) = handler.messages
    assert envelope.mail_from == "records@maple.test" and envelope.rcpt_tos == ["risk@example.test"]
    body = envelope.content.decode()
    assert "Subject: Maple Street Therapy: question about records request RR-2026-0007" in body
    assert "summary instead of a copy" in body and "A.B." not in body


def test_without_smtp_settings_nothing_is_sent():
    with pytest.raises(MailNotConfigured):
        email_summary(EnvSettings(smtp_host=None), to="a@example.test", subject="s", body="b")


def test_a_header_cannot_be_smuggled_in_through_the_subject(smtp_server):
    handler, port = smtp_server
    env = EnvSettings(smtp_host="127.0.0.1", smtp_port=port)
    email_summary(env, to="a@example.test", subject="Hello\r\nBcc: evil@example.test", body="b")
    assert "Bcc:" not in handler.messages[0].content.decode().split("\r\n\r\n")[0].replace("Subject: Hello Bcc:", "")
    assert handler.messages[0].rcpt_tos == ["a@example.test"]


def test_nothing_is_asked_in_the_past(engine, practice):
    with session_scope(engine) as session:
        who = people(session)
        consult, _ = ask_in(session, practice, "insurance", by=who["Dana"], question="q?")
        with pytest.raises(ConsultError, match="future"):
            record_call_outcome(
                session,
                consult_id=consult.id,
                spoken_on=datetime.now(UTC).date() + timedelta(days=5),
                spoken_to="Pat",
                reference_number=None,
                advice="a",
            )
