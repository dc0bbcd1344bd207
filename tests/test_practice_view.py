"""The practice view: supervisors and admins see every open request, find one, reassign it; the practice's numbers."""

import json
from datetime import date

from sqlmodel import select

from bot.store import AuditEvent, FlowRun, Member, Reminder, session_scope
from tests.cli_helpers import run_cli
from tests.conversation_helpers import Person, open_conversation
from tests.test_flow_transcripts import ALL_REVIEW, NOTHING_FOUND, request_row, start_request

TODAY = date(2026, 11, 5)


def two_requests(conversation) -> tuple[Person, Person]:
    alex, sam = Person(conversation, "Alex"), Person(conversation, "Sam")
    start_request(alex)  # received 2026-11-02: due 2026-12-02
    start_request(sam, client_label="CD-2", received_on="2026-10-20")  # due 2026-11-19: sooner
    return alex, sam


def test_a_supervisor_lists_the_whole_practice_soonest_first_and_a_clinician_their_own(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, _ = two_requests(conversation)
    dana = Person(conversation, "Dana")
    dana.types("list")
    dana.sees("Open requests in the practice, soonest deadline first:\n- RR-2026-0002")
    text = dana.texts
    assert text.index("RR-2026-0002 · CD-2 · owner Sam") < text.index("RR-2026-0001 · AB-17 · owner Alex")
    dana.sees("due 2026-11-19 (14 days left)", "step: acknowledge")
    alex.types("list")
    alex.sees("Your open requests:\n- RR-2026-0001")
    assert "RR-2026-0002" not in alex.texts and "owner" not in alex.texts


def test_find_by_reference_or_client_label(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, _ = two_requests(conversation)
    dana = Person(conversation, "Dana")
    dana.types("find cd-2")
    dana.sees('Requests matching "cd-2":', "RR-2026-0002 · CD-2 · owner Sam")
    alex.types("find CD-2")  # a colleague's request stays out of a clinician's search
    alex.sees('No request you can see matches "CD-2"')


def test_an_admin_reassigns_a_request_audited_and_the_new_owner_gets_its_reminders_and_its_run(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, sam = two_requests(conversation)
    alex.types("reassign RR-2026-0001 Sam")
    alex.sees("Only a practice admin can reassign")
    pat = Person(conversation, "Pat")
    pat.types("reassign RR-2026-0001 sam")
    pat.sees("RR-2026-0001 now belongs to Sam (was Alex)")
    assert [m.target for m in pat.reply.outbound] == ["Sam"]
    with session_scope(conversation.engine) as session:
        sam_id = session.exec(select(Member).where(Member.name == "Sam")).one().id
        run = session.exec(select(FlowRun).where(FlowRun.request_id == request_row(conversation).id)).one()
        targets = {r.target for r in session.exec(select(Reminder).where(Reminder.request_id == run.request_id))}
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert request_row(conversation).owner_id == sam_id and run.member_id == sam_id
    assert targets == {"Sam"} and "request.reassigned" in actions
    sam.types("resume RR-2026-0001")
    assert sam.step == "acknowledge"


def test_a_request_under_a_complaint_stays_in_the_list_marked(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "none", "release"):
        alex.answers(answer)
    alex.answers({"released_on": "", "method": "", "included": "Progress notes", "fee": ""})
    alex.answers("sent")
    alex.types("resume RR-2026-0001")
    alex.answers("board_complaint")
    alex.types("list")
    alex.sees("RR-2026-0001", "COMPLAINT")


def test_records_bot_report_counts_without_client_details(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    two_requests(conversation)
    db_url = f"sqlite:///{tmp_path / 'records.db'}"
    done = run_cli(tmp_path, db_url, "report", "--json")
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout)
    assert numbers["year"]["requests"] == (2 if date.today().year == 2026 else 0) and numbers["open"] == 2
    assert numbers["open_by_step"] == {"acknowledge": 2}
    assert "AB-17" not in done.stdout and "RR-2026" not in done.stdout
    text = run_cli(tmp_path, db_url, "report")
    assert "This year (" in text.stdout and "Open now: 2 (acknowledge: 2)" in text.stdout


def test_the_case_file_speaks_plain_words_and_shows_the_complaint(tmp_path):
    from bot.services.export import export_case_file

    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, requester_type="parent_of_minor")
    alex.answers("representative")  # the parent acts for the client here
    for answer in ("sent_today", "on_track", "2026-11-20"):
        alex.answers(answer)
    alex.answers(alex.question.choices and [c.value for c in alex.question.choices])
    for answer in (NOTHING_FOUND, "none", "release"):
        alex.answers(answer)
    alex.answers({"released_on": "", "method": "", "included": "Progress notes", "fee": ""})
    alex.answers("sent")
    alex.types("resume RR-2026-0001")
    alex.answers("board_complaint")
    with session_scope(conversation.engine) as session:
        md, _ = export_case_file(session, "RR-2026-0001", tmp_path / "out", fernet=None, tz=conversation.practice.tz)
    text = md.read_text()
    assert "| Requester | A parent of a minor client |" in text
    assert "Who asked: — → A parent of a minor client" in text and "Step: review → consult" in text
    assert "| Status | under a licensing-board or HHS complaint" in text
    for field_id in ("parent_of_minor", "requester_type", "release_cover", "access_type", "True", "False"):
        assert field_id not in text, field_id
