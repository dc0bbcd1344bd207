"""Transcripts of the records-request conversation, from /records-request to the follow-up."""

from datetime import date

from sqlmodel import select

from bot.services.audit import verify
from bot.store import (
    AuditEvent,
    ChecklistItem,
    Consult,
    Draft,
    FlowRun,
    Member,
    RecordsRequest,
    Reminder,
    session_scope,
)
from tests.conversation_helpers import INTAKE, Person, open_conversation

TODAY = date(2026, 11, 5)
ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
NOTHING_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"}


def request_row(conversation, reference="RR-2026-0001") -> RecordsRequest:
    with session_scope(conversation.engine) as session:
        return session.exec(select(RecordsRequest).where(RecordsRequest.reference == reference)).one()


def start_request(alex: Person, **intake) -> None:
    alex.types("/records-request")
    assert alex.question.kind == "form"
    alex.answers({**INTAKE, **intake})


def test_individual_request_from_intake_to_follow_up(tmp_path, any_db_url):
    """The whole walk, on SQLite and (with TEST_DATABASE_URL) on PostgreSQL."""
    conversation = open_conversation(tmp_path, TODAY, db_url=any_db_url)
    alex = Person(conversation, "Alex")

    alex.types("/records-request")
    alex.sees("This is a normal request")
    assert alex.question.kind == "form"
    assert [f.name for f in alex.question.fields][:2] == ["client_label", "requester_type"]

    alex.answers(INTAKE)
    alex.sees("Created RR-2026-0001", "Deadline: 2026-12-02")
    channel = [m for m in alex.reply.outbound if m.target_kind == "channel"]
    assert channel and channel[0].target == "#records"
    assert "AB-17" not in channel[0].prompts[0].text and "RR-2026-0001" in channel[0].prompts[0].text
    assert alex.question.kind == "draft" and alex.step == "acknowledge"
    alex.sees("November 2, 2026", "555-0100")  # received date and who to contact, in the letter

    alex.answers("1")  # mark as sent today
    assert alex.step == "timeframe"
    alex.sees("45 CFR 164.524(b)(2)", "act by 2026-12-02", "I need the one extension")

    alex.answers("on track: set a target date")
    assert alex.step == "target"
    alex.answers("2026-11-25")
    assert alex.step == "review" and alex.question.kind == "checklist"

    alex.answers("1,2")  # part of the checklist: it waits for the rest
    assert alex.step == "review"
    alex.sees("Still open:")
    alex.answers(ALL_REVIEW[2:])
    assert alex.step == "findings"
    alex.answers(NOTHING_FOUND)
    assert alex.step == "consult"
    alex.answers("none")
    assert alex.step == "decision"
    alex.answers("release")
    alex.answers(
        {
            "released_on": "2026-11-05",
            "method": "portal",
            "included": "Progress notes 2025-2026, intake, treatment plan",
            "fee": "6.50",
        }
    )
    assert alex.step == "release_letter"
    alex.sees("Progress notes 2025-2026")
    alex.answers("sent")
    assert [m.prompts[0].text for m in alex.reply.outbound if m.target_kind == "channel"]
    alex.sees("I'll check in on December 5, 2026 to ask how it turned out")  # not seconds after release
    alex.types("resume RR-2026-0001")
    assert alex.step == "follow_up"
    alex.answers("moved on")
    alex.sees("That's everything for RR-2026-0001", "records-bot export RR-2026-0001")

    row = request_row(conversation)
    assert (row.status, row.outcome, row.acknowledged_on, row.released_on) == ("closed", "moved_on", TODAY, TODAY)
    assert row.target_on == date(2026, 11, 25) and row.release["fee_cents"] == 650
    with session_scope(conversation.engine) as session:
        kinds = sorted(d.kind for d in session.exec(select(Draft)))
        assert kinds == ["acknowledgement", "release_cover"]
        assert all(i.done for i in session.exec(select(ChecklistItem)))
        assert verify(session).ok
        assert session.exec(select(AuditEvent)).all()
        assert session.exec(select(FlowRun)).one().status == "done"
    conversation.engine.dispose()


def test_couples_request_with_a_partner_not_yet_consenting_ends_in_partial_denial(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, therapy_format="couples")
    assert alex.step == "parties"
    alex.answers({"others": "Partner B"})
    assert alex.step == "party_consents"
    alex.answers({"consent_1": "pending"})
    assert request_row(conversation).parties == [{"label": "Partner B", "consent": "pending"}]
    alex.answers("sent_today")
    alex.answers("on_track")
    alex.answers("2026-11-20")
    assert "party_authorizations" in [c.value for c in alex.question.choices]
    alex.answers([*ALL_REVIEW, "party_authorizations"])
    alex.answers({**NOTHING_FOUND, "others_info": "withhold"})
    alex.answers("none")
    # withholding a part is never all-or-nothing: the rest goes out with a partial-denial letter
    assert [c.value for c in alex.question.choices] == ["partial_denial"]
    alex.answers("partial_denial")
    assert alex.step == "denial"
    alex.answers(
        {
            "grounds": ["harm_to_other_person"],
            "withheld": "Partner B's statements in joint sessions",
            "reviewer": "Sam",
        }
    )
    assert alex.step == "release"
    alex.answers(
        {"released_on": "2026-11-05", "method": "portal", "included": "Individual notes and billing", "fee": "0"}
    )
    assert alex.step == "denial_letter"
    alex.sees("555-0101", "Privacy Officer", "Individual notes and billing")
    alex.answers("sent")
    row = request_row(conversation)
    assert row.status == "partially_denied" and row.denial["reviewer"] == "Sam"
    with session_scope(conversation.engine) as session:
        assert sorted(d.kind for d in session.exec(select(Draft))) == [
            "acknowledgement",
            "partial_denial",
            "release_cover",
        ]


def walk_to_decision(alex: Person, findings: dict) -> None:
    start_request(alex)
    walk_from_acknowledgement_to_decision(alex, findings)


def walk_from_acknowledgement_to_decision(alex: Person, findings: dict) -> None:
    alex.answers("sent_today")
    alex.answers("on_track")
    alex.answers("2026-11-20")
    alex.answers(ALL_REVIEW)
    alex.answers(findings)
    alex.answers("none")


def test_risk_to_life_leads_to_a_reviewable_denial_with_another_licensed_reviewer(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, {**NOTHING_FOUND, "risk": "yes"})
    alex.sees("reviewable")
    assert "release" not in [c.value for c in alex.question.choices]
    alex.answers("denial")
    reviewers = [c.value for c in next(f for f in alex.question.fields if f.name == "reviewer").choices]
    assert "Alex" not in reviewers and "Pat" not in reviewers  # a different, licensed member
    alex.answers({"grounds": ["endanger_life"], "withheld": "Specific safety plan details", "reviewer": ""})
    assert alex.question.error and "reviewing official" in alex.question.error
    alex.answers({"grounds": ["endanger_life"], "withheld": "Specific safety plan details", "reviewer": "Dana"})
    assert alex.step == "denial_letter"
    alex.sees("review", "555-0101", "Privacy Officer")
    alex.answers("sent")
    assert request_row(conversation).status == "denied"


def test_a_practice_without_a_privacy_contact_is_asked_for_it_once_and_the_denial_letter_carries_it(tmp_path):
    conversation = open_conversation(tmp_path, TODAY, privacy_contact=None)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    assert alex.step == "practice_details"
    assert [f.name for f in alex.question.fields] == ["privacy_name", "privacy_phone"]
    alex.answers({"privacy_name": "Office Manager", "privacy_phone": "12"})
    assert "not a phone number" in alex.question.error and alex.step == "practice_details"
    alex.answers({"privacy_name": "Office Manager", "privacy_phone": ""})  # Enter: the practice's own number
    alex.sees("Let's go on", "This is a normal request")
    assert alex.step == "intake"
    alex.answers(INTAKE)
    walk_from_acknowledgement_to_decision(alex, {**NOTHING_FOUND, "risk": "yes"})
    alex.answers("denial")
    alex.answers({"grounds": ["endanger_life"], "withheld": "Safety", "reviewer": "Dana"})
    assert alex.step == "denial_letter"
    alex.sees("Office Manager", "555-0100")
    alex.types("/records-request")
    assert alex.step == "intake"  # asked once


def test_extension_with_its_notice_before_the_original_deadline(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.answers("sent_today")
    alex.answers("extension")
    assert alex.step == "extension_reason"
    alex.answers("Older records are archived offsite")
    alex.answers("2027-01-15")  # beyond the 30-day extension
    assert "can't be after 2027-01-01" in alex.question.error
    alex.answers("2026-12-20")
    assert alex.step == "extension_notice"
    alex.sees("archived offsite", "December 20, 2026")
    alex.answers("sent")
    row = request_row(conversation)
    assert (row.extended_to, row.extension_notice_sent_on, row.effective_due) == (
        date(2026, 12, 20),
        TODAY,
        date(2026, 12, 20),
    )
    assert alex.step == "target"
    assert any(m.target_kind == "channel" and "extended" in m.prompts[0].text for m in alex.reply.outbound)
    alex.answers("2026-12-18")
    assert alex.step == "review"


def test_no_extension_is_offered_once_the_original_deadline_has_passed(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 12, 3))
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.answers("sent_today")
    assert [c.value for c in alex.question.choices] == ["on_track"]
    alex.sees("No extension is available", "overdue")


def test_a_copy_sent_to_a_third_party_needs_the_signed_direction_before_release(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, third_party="yes")
    assert alex.step == "direction", "asked as the request is taken, before the acknowledgement"
    alex.sees("signed, written direction", "HIPAA authorization")
    alex.answers({"recipient": "Dr. Lee Park", "kind": "ehr_electronic", "on_file": "no"})
    assert alex.step == "acknowledge"
    alex.answers("sent_today")
    alex.answers("on_track")
    alex.answers("2026-11-20")
    alex.answers(ALL_REVIEW)
    alex.answers(NOTHING_FOUND)
    alex.answers("none")
    alex.answers("release")
    release = {"released_on": "2026-11-05", "method": "portal", "included": "All notes", "fee": "0"}
    alex.answers({**release, "direction_on_file": "no"})
    assert alex.step == "release" and "signed direction" in alex.question.error
    alex.answers({**release, "direction_on_file": "yes"})
    assert alex.step == "release_letter"
    assert request_row(conversation).direction_on_file is True


def test_unencrypted_email_records_the_risk_notice_and_the_clients_choice(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, delivery="unencrypted_email")
    alex.answers("sent_today")
    assert alex.step == "email_risk"
    alex.sees("someone else could read it")
    alex.answers("waiting for the client")
    assert alex.step == "email_risk"
    alex.answers("1")
    assert alex.step == "timeframe"
    assert request_row(conversation).email_risk_accepted_on == TODAY
    with session_scope(conversation.engine) as session:
        assert [d.kind for d in session.exec(select(Draft))] == ["acknowledgement", "email_risk_notice"]


def test_a_repeated_or_stale_answer_changes_nothing(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    form = alex.question
    alex.answers(INTAKE, key="view-1:hash-1")
    again = alex.answers(INTAKE, key="view-1:hash-1", ref=form.ref)
    assert again.duplicate
    alex.sees("already done")
    stale = alex.answers(INTAKE, key="view-1:hash-2", ref=form.ref)  # a different click on the old form
    assert stale.duplicate
    with session_scope(conversation.engine) as session:
        assert len(session.exec(select(RecordsRequest)).all()) == 1


def test_two_clicks_on_the_same_version_advance_the_step_once(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    ack = alex.question
    first = alex.answers("sent_today", key="a1")
    second = alex.answers("sent_today", key="a2", ref=ack.ref)
    assert not first.duplicate and second.duplicate
    with session_scope(conversation.engine) as session:
        assert len(session.exec(select(Draft)).all()) == 1


def test_bad_input_at_every_kind_of_question_is_asked_again_with_a_reason(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    alex.answers({**INTAKE, "received_on": "2026-12-01"})  # future
    assert alex.step == "intake" and "can't be after 2026-11-05" in alex.question.error
    alex.answers({**INTAKE, "received_on": "1989-12-31"})
    assert "can't be before 1990-01-01" in alex.question.error
    alex.answers({**INTAKE, "received_on": "2026-02-30"})
    assert "YYYY-MM-DD" in alex.question.error
    alex.answers({**INTAKE, "client_label": ""})
    assert "needs an answer" in alex.question.error
    alex.answers({**INTAKE, "client_label": "X" * 41})
    assert "under 40" in alex.question.error
    alex.answers({**INTAKE, "delivery": "carrier pigeon"})
    assert "not one of the options" in alex.question.error
    alex.answers("not a form")
    assert alex.question.error
    alex.answers(INTAKE)
    alex.answers("7")  # choice out of range
    assert alex.step == "acknowledge" and "number from 1 to 3" in alex.question.error
    alex.answers("sent_today")
    alex.answers("on_track")
    alex.answers("2026-12-03")  # target after the deadline
    assert "can't be after 2026-12-02" in alex.question.error
    alex.answers("2026-11-20")
    alex.answers("1, 99")
    assert alex.step == "review" and "not one of the options" in alex.question.error


def test_quitting_and_starting_again_resumes_where_it_stopped(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.answers("sent_today")
    assert alex.step == "timeframe"

    restarted = open_conversation(tmp_path, TODAY)  # a new process on the same database
    run_ids = restarted.open_runs("Alex")
    assert len(run_ids) == 1
    alex = Person(restarted, "Alex")
    alex.reply = restarted.current(run_ids[0], "Alex")
    assert alex.step == "timeframe"
    alex.types("resume RR-2026-0001")
    assert alex.step == "timeframe"


def test_list_status_cancel_and_settings(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, sam, pat = Person(conversation, "Alex"), Person(conversation, "Sam"), Person(conversation, "Pat")
    start_request(alex)
    alex.types("list")
    alex.sees("RR-2026-0001", "27 days left")
    alex.types("status RR-2026-0001")
    alex.sees("due 2026-12-02", "Owner: Alex")
    sam.types("status RR-2026-0001")
    sam.sees("belongs to a colleague")
    alex.types("status RR-2026-9999")
    alex.sees("There is no request RR-2026-9999")
    alex.types("cancel RR-2026-0001")
    alex.sees("Please give a reason")
    alex.types("settings")
    alex.sees("Only a practice admin")
    pat.types("settings")
    pat.sees("Riverbend Counseling", "Privacy Officer")
    alex.types("cancel RR-2026-0001 client withdrew the request")
    alex.sees("cancelled")
    assert request_row(conversation).status == "cancelled"
    assert any(m.target_kind == "channel" for m in alex.reply.outbound)
    alex.types("frobnicate")
    alex.sees('Type "help"')


def test_a_consult_goes_to_the_colleague_without_phi_and_the_answer_comes_back(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, sam = Person(conversation, "Alex"), Person(conversation, "Sam")
    walk_to_decision(alex, NOTHING_FOUND)  # at decision; go back through consult via a fresh request instead
    start_request(alex, client_label="CD-2")
    alex.answers("sent_today")
    alex.answers("on_track")
    alex.answers("2026-11-20")
    alex.answers(ALL_REVIEW)
    alex.answers(NOTHING_FOUND)
    alex.answers("colleague")
    assert alex.step == "consult_who"
    alex.answers("Sam")
    alex.answers("Could you read the last three notes for clarity?")
    card = [m for m in alex.reply.outbound if m.target == "Sam"]
    assert (
        card
        and "CD-2" not in card[0].prompts[0].text
        and "RR-2026-0002" in (card[0].prompts[0].header or card[0].prompts[0].text)
    )
    assert alex.step == "consult"
    sam.reply = type(alex.reply)(prompts=conversation.waiting_consults("Sam"))
    sam.answers("call_me: after 3pm")
    relay = [m for m in sam.reply.outbound if m.target == "Alex"]
    assert relay and "after 3pm" in relay[0].prompts[0].text
    with session_scope(conversation.engine) as session:
        consult = session.exec(select(Consult)).one()
        assert (consult.answer, consult.note) == ("call_me", "after 3pm")


def test_the_insurers_risk_line_is_a_phone_call_whose_outcome_is_recorded(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, NOTHING_FOUND)
    # decision step is open; the consult menu stays reachable through a new request
    start_request(alex, client_label="EF-3")
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "insurance"):
        alex.answers(answer)
    assert alex.step == "consult_question"
    alex.answers("May we withhold the partner's statements without a harm determination?")
    assert alex.step == "consult_call"
    alex.sees("My question: May we withhold")
    alex.sees("800-555-0199", "PL-1", "RR-2026-0002")
    assert "EF-3" not in alex.texts
    alex.answers(
        {
            "spoken_on": "2026-11-05",
            "spoken_to": "J. Smith",
            "reference_number": "C-77",
            "advice": "Release with a partial denial",
        }
    )
    assert alex.step == "consult"
    with session_scope(conversation.engine) as session:
        consult = session.exec(select(Consult)).one()
        assert (consult.kind, consult.spoken_to, consult.reference_number) == ("insurance", "J. Smith", "C-77")


def test_client_contact_details_entered_in_chat_are_encrypted_at_rest(tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    from bot.services.secrets import decrypt_contact

    key = Fernet.generate_key()
    monkeypatch.setenv("RECORDS_BOT_KEY", key.decode())
    conversation = open_conversation(tmp_path, TODAY, phi_in_chat=True)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    assert "client_email" in [f.name for f in alex.question.fields]
    contact = {"client_name": "Maria Lopez", "client_email": "maria@example.org", "client_address": "1 Elm St"}
    alex.answers({**INTAKE, **contact, "client_email": "not an email"})
    assert "doesn't look like an email" in alex.question.error
    alex.answers({**INTAKE, **contact})
    # with client details on, the draft in chat greets the client by name; the stored copy keeps a placeholder
    alex.sees("Dear Maria Lopez,")
    row = request_row(conversation)
    assert decrypt_contact(Fernet(key), row.client_contact) == {
        "name": "Maria Lopez",
        "email": "maria@example.org",
        "address": "1 Elm St",
    }
    alex.answers("sent_today")  # the acknowledgement is stored in drafts: still no name in clear
    raw = (tmp_path / "records.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("records.db-wal"))
    assert b"Maria" not in raw and b"maria@example.org" not in raw and b"Elm St" not in raw


def test_a_licensing_board_complaint_offers_the_case_file(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, NOTHING_FOUND)
    alex.answers("release")
    alex.answers({"released_on": "2026-11-05", "method": "portal", "included": "All notes", "fee": "0"})
    alex.answers("sent")
    alex.types("resume RR-2026-0001")  # the follow-up reminder's question, answered early
    alex.answers("nothing yet")
    assert alex.step == "follow_up"  # still open: the follow-up reminder will ask again
    alex.answers("board complaint")
    alex.sees("records-bot export RR-2026-0001", "risk line")
    assert request_row(conversation).outcome == "board_complaint"


def test_no_answer_to_a_consult_offers_to_ask_someone_else(tmp_path):
    from bot.prompts import Reply
    from bot.services.consults import nudge_messages

    conversation = open_conversation(tmp_path, TODAY, consult_colleagues=["Sam", "Dana"])
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "colleague", "Sam"):
        alex.answers(answer)
    alex.answers("A quick read of the last note, please?")
    alex.answers("none")
    assert alex.step == "decision"
    with session_scope(conversation.engine) as session:
        consult = session.exec(select(Consult)).one()
        messages = dict(nudge_messages(session, consult, conversation.practice))
    offer = messages["dm:Alex"].prompts[0]
    alex.reply = Reply(prompts=[offer])
    alex.answers("ask someone else")
    assert alex.step == "consult"  # back to the consult menu, the first consult withdrawn
    with session_scope(conversation.engine) as session:
        assert session.exec(select(Consult)).one().status == "withdrawn"


def test_a_supervisor_steps_in_the_owner_gets_the_next_step_and_can_take_the_request_over(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, dana, sam = Person(conversation, "Alex"), Person(conversation, "Dana"), Person(conversation, "Sam")
    start_request(alex)
    sam.types("resume RR-2026-0001")
    sam.sees("belongs to a colleague")
    dana.types("resume RR-2026-0001")
    assert dana.step == "acknowledge"
    dana.answers("sent_today")
    dana.sees("The next step of RR-2026-0001 went to Alex", "take RR-2026-0001")
    (to_alex,) = [m for m in dana.reply.outbound if m.target == "Alex"]
    assert "Dana stepped in on RR-2026-0001" in to_alex.prompts[0].text and to_alex.prompts[-1].expects_answer
    dana.types("take RR-2026-0001")
    dana.sees("RR-2026-0001 is yours now")
    assert dana.step == "timeframe"
    assert [m.target for m in dana.reply.outbound] == ["Alex"], "Alex is told the request moved to Dana"
    with session_scope(conversation.engine) as session:
        pending = session.exec(select(Reminder).where(Reminder.status == "pending", Reminder.target_kind == "member"))
        assert {r.target for r in pending} == {"Dana"}, "the reminders follow the request to Dana"
    dana.answers("extension")
    dana.answers("Records archived offsite")
    dana.answers("2026-12-20")
    dana.answers("sent")
    posts = [m.prompts[0].text for m in dana.reply.outbound if m.target_kind == "channel"]
    assert posts and "@Dana" in posts[0], "the channel names the owner, now Dana"
    alex.types("list")
    alex.sees("You have no open records requests")


def test_separately_kept_psychotherapy_notes_never_make_a_full_denial(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, {**NOTHING_FOUND, "psychotherapy_notes": "separate_withhold"})
    assert [c.value for c in alex.question.choices] == ["partial_denial"]  # Riverside: the rest still goes out
    alex.answers("partial_denial")
    form = {"grounds": ["psychotherapy_notes"], "withheld": "Process notes kept separately"}
    alex.answers({**form, "letter": "denial"})  # trying to turn it into a full denial on the form: not a field
    assert alex.step == "release"
    assert request_row(conversation).denial["letter"] == "partial_denial"


def test_a_solo_practice_names_its_outside_reviewer(tmp_path):
    solo = [{"name": "Alex", "role": "admin"}]
    conversation = open_conversation(tmp_path, TODAY, members=solo, consult_colleagues=[])
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, {**NOTHING_FOUND, "risk": "yes"})
    alex.answers("denial")
    form = {"grounds": ["endanger_life"], "withheld": "Safety plan details", "reviewer": "outside"}
    alex.answers(form)
    assert "Name the outside reviewer" in alex.question.error
    alex.answers({**form, "outside_reviewer": "Dr. Jane Roe, PsyD (pre-arranged)"})
    assert alex.step == "denial_letter"
    assert request_row(conversation).denial["reviewer"] == "Dr. Jane Roe, PsyD (pre-arranged)"


def test_the_extension_can_be_taken_later_and_the_conversation_comes_back(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW):
        alex.answers(answer)
    assert alex.step == "findings"
    alex.types("extend RR-2026-0001")  # the records turn out to be archived offsite
    assert alex.step == "extension_reason"
    alex.answers("Older records are archived offsite")
    alex.answers("2026-12-20")
    alex.answers("sent")
    assert alex.step == "target"
    alex.answers("2026-12-15")
    assert alex.step == "findings"  # back where it was
    alex.types("extend RR-2026-0001")
    alex.sees("already extended to 2026-12-20")


def test_no_extension_where_the_state_rule_allows_none(tmp_path):
    conversation = open_conversation(tmp_path, TODAY, jurisdiction="CA")
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.types("extend RR-2026-0001")
    alex.sees("allows none")


def test_a_consult_question_naming_the_client_is_asked_again(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "colleague", "Sam"):
        alex.answers(answer)
    alex.answers("Should ab-17 get the notes from March?")
    assert alex.step == "consult_question" and 'leave "AB-17" out' in alex.question.error


def test_odd_characters_and_numbers_are_asked_again_not_crashed_on(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    alex.answers({**INTAKE, "pages": "²"})
    assert "is not a number" in alex.question.error
    alex.answers(INTAKE)
    alex.answers("²")
    assert alex.step == "acknowledge" and "not one of the options" in alex.question.error
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "none", "release"):
        alex.answers(answer)
    for fee in ("inf", "1e400", "-3", "nan"):
        alex.answers({"released_on": "2026-11-05", "method": "portal", "included": "All", "fee": fee})
        assert alex.step == "release" and "not an amount" in alex.question.error


def test_a_partner_who_has_not_consented_keeps_their_information_withheld(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, therapy_format="family")
    alex.answers({"others": "Parent B, Sibling C"})
    alex.answers({"consent_1": "pending", "consent_2": "pending"})
    for answer in ("sent_today", "on_track", "2026-11-20", [*ALL_REVIEW, "party_authorizations"]):
        alex.answers(answer)
    alex.answers({**NOTHING_FOUND, "others_info": "consented"})  # contradicts the intake
    assert alex.step == "findings" and "Parent B, Sibling C have not authorized" in alex.question.error
    alex.answers({**NOTHING_FOUND, "consent_now": "yes"})  # they have signed since
    assert alex.step == "consult"
    assert {p["consent"] for p in request_row(conversation).parties} == {"given"}


def test_an_inspection_costs_nothing_and_a_summary_needs_the_clients_agreement(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    alex.answers({**INTAKE, "access_type": "summary"})
    assert "agreement in advance" in alex.question.error
    alex.answers({**INTAKE, "access_type": "inspect"})
    assert request_row(conversation).fee_estimate_cents == 0


def test_cancelling_a_request_withdraws_its_waiting_consults(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "colleague", "Sam"):
        alex.answers(answer)
    alex.answers("Could you read the last note?")
    alex.types("cancel RR-2026-0001 client withdrew the request")
    with session_scope(conversation.engine) as session:
        assert session.exec(select(Consult)).one().status == "withdrawn"
    assert conversation.waiting_consults("Sam") == []


def test_a_request_already_past_its_deadline_still_moves_on(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 12, 10))
    alex = Person(conversation, "Alex")
    start_request(alex)  # received 2026-11-02, due 2026-12-02: already late
    alex.answers("sent_today")
    alex.answers("on_track")
    alex.sees("past its deadline")
    assert alex.question.default == "2026-12-10"
    alex.answers(alex.question.default)
    assert alex.step == "review"


def test_the_extension_is_not_taken_before_the_request_is_acknowledged(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.types("extend RR-2026-0001")
    alex.sees("Acknowledge the request first")


def test_not_yet_sending_the_acknowledgement_never_skips_it(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, delivery="unencrypted_email", third_party="yes")
    assert alex.step == "direction"
    alex.answers({"recipient": "Dr. Lee Park", "kind": "ehr_electronic", "on_file": "yes"})
    alex.answers("later")
    assert alex.step == "acknowledge"
    alex.answers("sent_today")
    assert alex.step == "email_risk"
    alex.answers("waiting for the client")
    assert alex.step == "email_risk"
    alex.answers("confirmed")
    assert alex.step == "timeframe"


def test_an_extension_can_be_dropped_after_all(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW):
        alex.answers(answer)
    alex.types("extend RR-2026-0001")
    alex.answers("Records archived offsite")
    alex.answers("2026-12-20")
    alex.answers("not yet")
    assert alex.step == "extension_notice"
    alex.answers("don't extend after all")
    assert alex.step == "findings"  # back where it was, nothing extended
    assert request_row(conversation).extended_to is None


def test_the_denial_form_keeps_to_what_the_review_found(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, {**NOTHING_FOUND, "psychotherapy_notes": "separate_withhold"})
    alex.answers("partial_denial")
    assert "letter" not in [f.name for f in alex.question.fields], "the kind of letter just chosen is not re-asked"
    alex.answers({"grounds": ["endanger_life"], "withheld": "the notes", "reviewer": "Dana"})
    assert "found no risk to life" in alex.question.error


def test_material_prepared_for_litigation_never_denies_the_whole_chart(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    walk_to_decision(alex, {**NOTHING_FOUND, "risk": "yes"})
    alex.answers("denial")
    alex.answers({"grounds": ["litigation"], "withheld": "the attorney correspondence", "letter": "denial"})
    assert "cover only part of a record" in alex.question.error


def test_the_client_label_is_caught_however_it_is_written_but_short_labels_only_as_words():
    from flows.steps.consult import names_label

    assert names_label("Should AB17 get the notes?", "AB-17")
    assert names_label("about ab 17's file", "AB-17")
    assert not names_label("Is a partial denial right here?", "A")  # one letter identifies no one
    assert names_label("Is JD ready?", "JD") and not names_label("adjusted notes", "JD")


def test_a_label_that_could_identify_the_client_is_refused(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    for label in ("Jane Smith", "JS DOB 1980-02-03", "js@example.org", "J.S. 02/03/1980"):
        alex.answers({**INTAKE, "client_label": label})
        assert alex.step == "intake" and "could identify the client" in alex.question.error, label
    alex.answers({**INTAKE, "client_label": "Chart 4411"})
    assert alex.step == "acknowledge"


def test_a_colleague_consulted_on_the_request_is_not_offered_as_its_reviewer(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in (
        "sent_today",
        "on_track",
        "2026-11-20",
        ALL_REVIEW,
        {**NOTHING_FOUND, "risk": "yes"},
        "colleague",
        "Sam",
    ):
        alex.answers(answer)
    alex.answers("Is a safety-based denial justified here?")
    alex.answers("none")
    alex.answers("denial")
    reviewers = [c.value for c in next(f for f in alex.question.fields if f.name == "reviewer").choices]
    assert "Sam" not in reviewers and "Dana" in reviewers


def test_with_smtp_set_the_phone_consult_summary_can_be_emailed_first(tmp_path, smtp_server):
    from bot.config import EnvSettings

    handler, port = smtp_server
    insurer = {"name": "Acme Risk Line", "phone": "800-555-0199", "email": "risk@acme.test", "policy_number": "PL-1"}
    conversation = open_conversation(tmp_path, TODAY, insurance=insurer)
    conversation.env = EnvSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="records@riverbend.test")
    alex = Person(conversation, "Alex")
    start_request(alex, client_label="GH-5")
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "insurance"):
        alex.answers(answer)
    alex.answers("Is a partial denial right for joint-session notes?")
    assert alex.step == "consult_email"
    alex.answers("yes, email it now")
    alex.sees("The summary is on its way to risk@acme.test")
    assert alex.step == "consult_call"
    assert handler.messages == [], "nothing is sent inside the answer's transaction"
    report = send_outbox(conversation)
    assert report.sent == 1
    mail = handler.messages[-1].content.decode()
    assert "RR-2026-0001" in mail and "joint-session notes" in mail and "GH-5" not in mail
    alex.answers({"spoken_on": "2026-11-05", "spoken_to": "R. Lee", "reference_number": "", "advice": "Partial denial"})
    with session_scope(conversation.engine) as session:
        consult = session.exec(select(Consult)).one()  # the call asked and the call recorded are one consult
        assert (consult.status, consult.spoken_to) == ("answered", "R. Lee")


def send_outbox(conversation):  # type: ignore[no-untyped-def]
    """What a running sender would do after the answer committed: send the queued email."""
    import asyncio

    from bot.delivery.email import email_transports
    from bot.delivery.sender import OutboxSender

    sender = OutboxSender(conversation.engine, conversation.router, email_transports(conversation.env), worker="t:1")
    return asyncio.run(sender.send_due())


def test_an_email_the_server_refuses_is_told_to_the_asker_and_the_step_moves_on(tmp_path, smtp_server):
    from bot.config import EnvSettings

    _handler, port = smtp_server
    insurer = {"name": "Acme Risk Line", "phone": "800-555-0199", "email": "risk@acme.test", "policy_number": "PL-1"}
    conversation = open_conversation(tmp_path, TODAY, insurance=insurer)
    conversation.env = EnvSettings(smtp_host="127.0.0.1", smtp_port=port + 1)  # nobody listens there
    alex = Person(conversation, "Alex")
    start_request(alex, client_label="GH-6")
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND, "insurance"):
        alex.answers(answer)
    alex.answers("Is a partial denial right for joint-session notes?")
    alex.answers("yes, email it now")
    assert alex.step == "consult_call", "the answer is kept; the email goes after"
    report = send_outbox(conversation)
    assert report.retried == 1 and "ConnectionRefusedError" in report.problems[0][1]


def test_a_paper_copy_cannot_go_by_email_or_portal(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    alex.types("/records-request")
    alex.answers({**INTAKE, "form": "paper", "delivery": "encrypted_email"})
    assert alex.step == "intake" and "Paper copies go by pickup or mail" in alex.question.error


def test_an_unreachable_phone_consult_goes_back_to_the_menu_and_a_partner_label_stays_out(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, therapy_format="couples")
    alex.answers({"others": "Partner B"})
    alex.answers({"consent_1": "given"})
    for answer in (
        "sent_today",
        "on_track",
        "2026-11-20",
        [*ALL_REVIEW, "party_authorizations"],
        NOTHING_FOUND,
        "insurance",
    ):
        alex.answers(answer)
    alex.answers("What about partner b's statements?")
    assert alex.step == "consult_question" and 'leave "Partner B" out' in alex.question.error
    alex.answers("May joint-session statements be withheld?")
    assert alex.step == "consult_call"
    assert alex.texts.count("My question:") == 1  # one script, not two
    alex.answers({"reached": "no_answer"})
    assert alex.step == "consult"
    with session_scope(conversation.engine) as session:
        assert session.exec(select(Consult)).one().status == "withdrawn"


def test_a_solo_practice_is_offered_only_the_consults_it_can_make(tmp_path):
    solo = [{"name": "Alex", "role": "admin"}]
    conversation = open_conversation(tmp_path, TODAY, members=solo, consult_colleagues=[])
    alex = Person(conversation, "Alex")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW, NOTHING_FOUND):
        alex.answers(answer)
    assert [c.value for c in alex.question.choices] == ["insurance", "none"]


def test_the_step_handed_back_to_the_owner_is_built_for_the_owner_and_take_moves_the_consults(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex, dana = Person(conversation, "Alex"), Person(conversation, "Dana")
    start_request(alex)
    for answer in ("sent_today", "on_track", "2026-11-20", ALL_REVIEW):
        alex.answers(answer)
    dana.types("resume RR-2026-0001")
    dana.answers(NOTHING_FOUND)  # Dana steps in: the consult step goes to Alex
    (to_alex,) = [m for m in dana.reply.outbound if m.target == "Alex"]
    (run_id,) = conversation.open_runs("Alex")
    as_alex_sees_it = [p for p in conversation.current(run_id, "Alex").prompts if p.expects_answer]
    assert list(to_alex.prompts[1:]) == as_alex_sees_it, "whom to consult is worked out for Alex, not for Dana"

    alex.reply = conversation.current(run_id, "Alex")
    alex.answers("colleague")
    alex.answers("Sam")
    alex.answers("Is the 2019 intake part of the designated record set?")
    dana.types("take RR-2026-0001")
    dana.sees("RR-2026-0001 is yours now")
    with session_scope(conversation.engine) as session:
        consult = session.exec(select(Consult)).one()
        dana_id = session.exec(select(Member.id).where(Member.name == "Dana")).one()
        assert consult.asked_by_id == dana_id, "the waiting consult answers to the new owner"


def test_a_target_date_before_today_or_after_the_deadline_is_refused_with_the_reason(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.answers("sent_today")
    alex.answers("on_track")
    assert alex.step == "target"
    alex.answers("2026-11-04")  # yesterday
    assert alex.step == "target" and alex.question.error
    alex.answers("2026-12-09")  # after the 2026-12-02 deadline
    assert alex.step == "target" and alex.question.error
    alex.answers("2026-11-25")
    assert alex.step == "review"
