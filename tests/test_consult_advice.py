"""Consults carry advice: every colleague's answer has a note, the asker sees where each consult stands, no double asks."""

from datetime import date

from bot.services.export import export_case_file
from bot.store import session_scope
from tests.conversation_helpers import Person, open_conversation
from tests.test_flow_transcripts import ALL_REVIEW, NOTHING_FOUND, start_request
from tests.test_terminal_chat import INTAKE, chat

TODAY = date(2026, 11, 5)


def ask_sam(alex: Person) -> None:
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "colleague", "Sam"):
        alex.answers(answer)
    alex.answers("Could you read the last three notes for clarity?")
    assert alex.step == "consult"


def test_an_answer_without_a_note_is_asked_again_and_the_note_reaches_the_asker_and_the_case_file(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, sam = Person(conversation, "Alex"), Person(conversation, "Sam")
    ask_sam(alex)
    alex.types("status RR-2026-0001")
    alex.sees("Consult with Sam: waiting for an answer")
    sam.reply = type(alex.reply)(prompts=conversation.waiting_consults("Sam"))
    assert "short note" in sam.question.text
    sam.answers("I can help")  # a button alone
    sam.sees("Please add a short note")
    assert conversation.waiting_consults("Sam")  # still waiting on Sam
    sam.reply = type(alex.reply)(prompts=conversation.waiting_consults("Sam"))
    sam.answers({"answer": "can_help", "note": "Notes read clearly; the 10/2 note needs a signature."})
    relay = [m for m in sam.reply.outbound if m.target == "Alex"]
    assert "the 10/2 note needs a signature" in relay[0].prompts[0].text
    alex.types("status RR-2026-0001")
    alex.sees('Consult with Sam: can help: "Notes read clearly; the 10/2 note needs a signature."')
    with session_scope(conversation.engine) as session:
        md, _ = export_case_file(session, "RR-2026-0001", tmp_path / "out", fernet=None, tz=conversation.practice.tz)
    assert "the 10/2 note needs a signature" in md.read_text()


def test_the_same_colleague_is_not_asked_twice_while_the_first_question_is_open(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    ask_sam(alex)
    alex.answers("colleague")
    alex.answers("Sam")
    alex.answers("And the intake form too?")
    assert "Sam already has an open question about RR-2026-0001" in alex.question.error
    assert len(conversation.waiting_consults("Sam")) == 1


def test_in_the_terminal_the_colleague_answers_with_a_note(tmp_path):
    from tests.test_terminal_chat import PRACTICE_TOML

    (tmp_path / "practice.toml").write_text(PRACTICE_TOML)
    to_consult = [*INTAKE, "1", "1", "", "all", "1", "1", "1", "1", "supervisor", "Dana"]
    chat(tmp_path, [*to_consult, "Is the file complete enough to release?", "quit"])
    done = chat(tmp_path, ["1", "", "Looks complete; release it.", "quit"], "--as", "Dana")
    assert "Your note" in done.stdout
    again = chat(tmp_path, ["status RR-2026-0001", "quit"])
    assert 'Consult with Dana: can help: "Looks complete; release it."' in again.stdout
