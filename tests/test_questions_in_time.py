"""Questions that apply, once, at the right time: each participant's authorization, no reminder ahead of the person."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from bot.services import reminders
from bot.store import Reminder, session_scope
from tests.conversation_helpers import Person, make_practice, open_conversation
from tests.test_flow_transcripts import ALL_REVIEW, NOTHING_FOUND, request_row, start_request

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


def test_with_one_day_left_the_timeframe_offers_only_what_is_still_possible(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, received_on="2026-10-07")  # 30 days: due tomorrow, 2026-11-06
    alex.answers("sent_today")
    assert alex.step == "timeframe"
    alex.sees("One day left: due tomorrow, 2026-11-06.", "What is still possible: release what is ready by 2026-11-06")
    alex.sees('or send the one extension notice today (it must reach the client by 2026-11-06: "extend RR-2026-0001")')
    assert [c.label for c in alex.question.choices] == [
        "Release by the deadline",
        "Send the one extension notice today",
    ]
    alex.answers("release by the deadline")
    assert alex.step == "review", "no target date to pick: the target is the deadline itself"
    assert request_row(conversation).target_on == date(2026, 11, 6)


def test_on_the_last_day_the_consult_question_says_a_colleague_may_not_answer_in_time(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, received_on="2026-10-06")  # due today
    alex.answers("sent_today")
    alex.sees("Due today (2026-11-05).")
    alex.answers("release by the deadline")
    alex.answers(ALL_REVIEW)
    alex.answers(NOTHING_FOUND)
    assert alex.step == "consult"
    alex.sees("Due today (2026-11-05).", "A colleague may not answer in time")


def test_a_deadline_on_a_saturday_counts_the_day_left_to_the_friday_before(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 12, 4))  # a Friday
    alex = Person(conversation, "Alex")
    start_request(alex, received_on="2026-11-05")  # 30 days: Saturday, 2026-12-05
    alex.answers("sent_today")
    alex.sees("Due today (2026-12-04, the last business day before the deadline of 2026-12-05).")
    alex.answers("release by the deadline")
    assert request_row(conversation).target_on == date(2026, 12, 4)
