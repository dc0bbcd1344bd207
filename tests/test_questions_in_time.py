"""Questions that apply, once, at the right time: each participant's authorization, no reminder ahead of the person."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.services import reminders
from bot.store import Reminder, session_scope
from tests.conversation_helpers import Person, make_practice, open_conversation
from tests.test_flow_transcripts import request_row, start_request

TODAY = date(2026, 11, 5)  # the conversation's today, for the transcripts that don't meet the reminder clock


def test_each_participants_authorization_is_recorded_on_its_own(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, therapy_format="family")
    assert alex.step == "parties"
    alex.answers({"others": "Parent B, Parent B"})
    assert "each different" in alex.question.error  # two people, two labels
    alex.answers({"others": "Parent B, Teen C"})
    assert alex.step == "party_consents"
    assert [f.label for f in alex.question.fields] == [
        "Parent B's authorization to release",
        "Teen C's authorization to release",
    ]
    alex.answers({"consent_1": "signed authorization", "consent_2": "refused"})
    assert request_row(conversation).parties == [
        {"label": "Parent B", "consent": "given"},
        {"label": "Teen C", "consent": "refused"},
    ]
    assert alex.step == "acknowledge"


def test_no_acknowledgement_reminder_fires_while_the_request_is_being_entered(tmp_path):
    # received ten days before it was entered: counted from receipt, the "acknowledge it" nudge is long due
    tz = make_practice().tz
    today = datetime.now(tz).date()  # the practice's today (after midnight UTC it is still yesterday in New York)
    conversation = open_conversation(tmp_path, today)
    alex = Person(conversation, "Alex")
    start_request(alex, received_on=(today - timedelta(days=10)).isoformat())
    assert alex.step == "acknowledge"
    reminders.sweep(conversation.engine, conversation.practice, lambda message: None, now=datetime.now(UTC))
    with session_scope(conversation.engine) as session:
        ack = session.exec(select(Reminder).where(Reminder.kind == "ack")).one()
    assert ack.status == "pending"  # nothing was said while the person is on that very step
    assert ack.due_at.astimezone(tz).date() > today  # tomorrow at the earliest, if it is still not sent
