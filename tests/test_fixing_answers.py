"""Fixing answers: back a step, edit a request later, answers read the way people type them."""

from datetime import date

from sqlmodel import select

from bot.store import AuditEvent, FlowRun, Reminder, session_scope
from tests.conversation_helpers import INTAKE, Person, open_conversation
from tests.test_flow_transcripts import ALL_REVIEW, request_row, start_request

TODAY = date(2026, 11, 5)


def audit_actions(conversation) -> list[str]:
    with session_scope(conversation.engine) as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def test_back_goes_to_the_step_before_and_keeps_the_answers(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.answers("sent_today")
    alex.answers("on_track")
    assert alex.step == "target"
    alex.types("back")  # clinician: "back"
    assert alex.step == "timeframe"  # bot: the timeframe again
    alex.answers("on_track")
    alex.answers("2026-11-20")
    assert alex.step == "review"
    alex.answers(ALL_REVIEW)
    alex.answers({"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"})
    assert alex.step == "consult"
    alex.reply = conversation.back("Alex", alex.question.ref)  # "/back" inside the consult question
    assert alex.step == "findings"
    with session_scope(conversation.engine) as session:
        answers = session.exec(select(FlowRun)).one().answers
    assert answers["acknowledge"] == "sent_today" and answers["findings"]["risk"] == "no"
    assert "step.back" in audit_actions(conversation)


def test_back_into_a_request_already_made_points_to_edit_and_stays_on_the_question(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    alex.reply = conversation.back("Alex", alex.question.ref)
    alex.sees("first question")
    assert alex.step == "intake"
    alex.answers(INTAKE)
    assert alex.step == "acknowledge"
    alex.types("back")
    alex.sees("edit RR-2026-0001 received")
    assert alex.step == "acknowledge"


def test_editing_the_received_date_recomputes_the_deadline_and_reminders_audited(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)  # received 2026-11-02: due 2026-12-02
    alex.answers("sent_today")
    alex.types("edit RR-2026-0001 received")
    assert alex.question.kind == "date"
    alex.answers("10/30/2026")  # typed the American way
    alex.sees("Corrected RR-2026-0001", "received 2026-10-30 (was 2026-11-02)", "Deadline now 2026-11-29")
    assert alex.step == "timeframe"  # and back to where the request stands
    row = request_row(conversation)
    assert (row.received_on, row.due_on) == (date(2026, 10, 30), date(2026, 11, 29))
    assert "request.corrected" in audit_actions(conversation)
    with session_scope(conversation.engine) as session:
        keys = [r.dedupe_key for r in session.exec(select(Reminder).where(Reminder.status == "pending"))]
    assert any("2026-11-29" in k for k in keys) and not any("2026-12-02" in k for k in keys)


def test_editing_requester_and_delivery_with_words_and_refusals_that_say_why(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, form="paper", delivery="pickup")
    alex.types("edit RR-2026-0001 requester parent")
    alex.sees("the requester is now A parent of a minor client")
    alex.types("edit RR-2026-0001 delivery email")  # two options have "email" in them
    assert "could mean Encrypted email or Unencrypted email" in alex.question.error
    alex.answers("encrypted email")
    assert "paper" in alex.question.error.lower()  # a paper copy doesn't go by email
    alex.answers("mail")
    alex.sees("delivery is now Mail")
    assert request_row(conversation).delivery == "mail"
    alex.types("edit RR-2026-0001 colour")
    alex.sees('"colour" is not something I can correct')


def test_someone_else_cannot_edit_a_colleagues_request(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    start_request(Person(conversation, "Alex"))
    sam = Person(conversation, "Sam")
    sam.types("edit RR-2026-0001 received 2026-11-01")
    sam.sees("belongs to a colleague")
    assert request_row(conversation).received_on == date(2026, 11, 2)


def test_dates_and_choices_are_read_the_way_people_type_them(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, received_on="yesterday")
    assert request_row(conversation).received_on == date(2026, 11, 4)
    alex.answers("mark as sent")  # words of "Mark as sent today"
    assert alex.step == "timeframe"
    alex.answers("on track")
    alex.answers("11/24/2026")
    assert request_row(conversation).target_on == date(2026, 11, 24)
    alex.answers(ALL_REVIEW)
    alex.answers({"psychotherapy_notes": "no process", "errors_found": "no", "others_info": "none", "risk": "no"})
    alex.answers("the supervisor")
    assert alex.step == "consult_who"
    alex.answers("dana")
    assert alex.step == "consult_question"


def test_a_copy_for_someone_else_ticked_by_mistake_is_undone_with_edit_and_the_run_moves_on(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, third_party="yes")
    assert alex.step == "direction"
    alex.types("back")
    alex.sees("edit RR-2026-0001 third-party")  # no way back into the intake: edit says how
    alex.types("edit RR-2026-0001 third-party no")
    alex.sees("Corrected RR-2026-0001: the copy goes to the client; no signed direction is needed.")
    assert alex.step == "acknowledge", "the direction question no longer applies"
    row = request_row(conversation)
    assert (row.third_party_direction, row.direction_on_file) == (False, False)
    assert "request.corrected" in audit_actions(conversation)
