"""Transcripts for issue 11: several grounds, state rights beyond HIPAA, parents of minors, directed copies, the rule's
own extension, and the practice's closed days (each step as a clinician goes through it)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.services.export import export_case_file
from bot.store import Draft, session_scope
from tests.conversation_helpers import Person, open_conversation
from tests.test_flow_transcripts import ALL_REVIEW, NOTHING_FOUND, TODAY, request_row, start_request

RISK = {**NOTHING_FOUND, "risk": "yes"}


def drafts(conversation) -> dict[str, str]:
    with session_scope(conversation.engine) as session:
        return {d.kind: d.body for d in session.exec(select(Draft))}


RISK_DENIAL = {"letter": "denial", "grounds": "endanger_life", "withheld": "your records", "reviewer": "Sam"}


def deny_for_risk_to_the_client(tmp_path, state: str):
    """A request in `state` whose review found a risk to life or safety, denied on that ground (first try)."""
    conversation = open_conversation(tmp_path, TODAY, jurisdiction=state)
    alex = Person(conversation, "Alex")
    start_request(alex)
    walk_to_decision(alex, RISK)
    alex.answers("denial")
    alex.answers(RISK_DENIAL)
    return conversation, alex


def walk_to_decision(alex: Person, findings: dict, review=ALL_REVIEW) -> None:
    for answer in ("sent_today", "on_track", "2026-11-12", review, findings, "none"):
        alex.answers(answer)
    assert alex.step == "decision"


def test_couples_record_withheld_on_two_grounds_keeps_each_items_own_ground_in_every_letter(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, therapy_format="couples")
    alex.answers({"others": "CD-2"})
    alex.answers({"consent_1": "refused"})  # each participant's authorization on its own
    findings = {**NOTHING_FOUND, "psychotherapy_notes": "separate_withhold", "others_info": "withhold"}
    walk_to_decision(alex, findings, review=[*ALL_REVIEW, "party_authorizations"])
    alex.answers("partial_denial")
    alex.answers(
        {
            "letter": "partial_denial",
            "grounds": "psychotherapy_notes,harm_to_other_person",
            "withheld": "the process notes kept apart from the chart",
            "reviewer": "Sam",
        }
    )
    assert alex.step == "denial_items"  # several grounds: what is withheld on each
    alex.sees("Several grounds")
    labels = [f.label for f in alex.question.fields]
    assert labels[0] == "What is withheld on this ground: Psychotherapy notes kept separately (not reviewable)"
    assert alex.question.fields[0].default == "the process notes kept apart from the chart"
    alex.answers(
        {
            "what_psychotherapy_notes": "the process notes kept apart from the chart",
            "what_harm_to_other_person": "what your partner said in joint sessions",
        }
    )
    assert alex.step == "release"
    alex.answers({"released_on": "2026-11-05", "method": "portal", "included": "Progress notes", "fee": "0"})
    assert alex.step == "denial_letter"
    alex.sees(
        "- **the process notes kept apart from the chart:** These are psychotherapy notes",
        "The law does not provide a review of this part.",
        "- **what your partner said in joint sessions:** This information refers to another person",
        "You can ask for this part of the decision to be reviewed.",
    )
    alex.answers("sent")
    alex.sees("I'll check in on")  # no state right beyond HIPAA here (US, no risk to the client): released
    alex.types("resume RR-2026-0001")
    assert alex.step == "follow_up"
    letters = drafts(conversation)
    cover = letters["release_cover"].split("\n")
    assert (
        "- the process notes kept apart from the chart: these are psychotherapy notes, kept separately from your record; "
        "the right to copies does not include them. The law does not provide a review of this part." in cover
    )
    assert (
        "- what your partner said in joint sessions: it is about another person, and a licensed professional judged "
        "that sharing it is reasonably likely to cause that person substantial harm. You can ask for this part of the "
        "decision to be reviewed." in cover
    )
    denial = letters["partial_denial"]
    assert "You can ask for a review of the part of this decision based on what your partner said" in denial
    assert "The part of this decision based on the process notes kept apart from the chart" in denial
    items = request_row(conversation).denial["items"]
    assert [i["ground"] for i in items] == ["psychotherapy_notes", "harm_to_other_person"]
    # the case file gives each item its own ground, reviewability and rule
    with session_scope(conversation.engine) as session:
        md, html = export_case_file(session, "RR-2026-0001", tmp_path / "exports", tz=ZoneInfo("UTC"))
    case_file = md.read_text(encoding="utf-8").split("\n")
    assert (
        "- the process notes kept apart from the chart: psychotherapy notes, not reviewable "
        "(45 CFR 164.524(a)(1)(i), (a)(2)(i))" in case_file
    )
    assert (
        "- what your partner said in joint sessions: harm to other person, reviewable (45 CFR 164.524(a)(3)(ii))"
        in case_file
    )
    assert "what your partner said in joint sessions: harm to other person, reviewable" in html.read_text("utf-8")


def test_california_refusal_for_risk_to_the_client_notes_the_chart_tells_the_right_and_releases_to_the_professional(
    tmp_path,
):
    conversation, alex = deny_for_risk_to_the_client(tmp_path, "CA")
    assert alex.step == "denial" and "specific adverse consequences" in alex.question.error  # 123115(b)(1)
    consequences = "Reading the March assessment is likely to lead to a suicide attempt"
    alex.answers({**RISK_DENIAL, "consequences": consequences})
    assert alex.step == "denial_letter"
    alex.sees(
        "**Your right under California law:**",
        "Tell our Privacy Officer at 555-0101 who that is",
        "Note of refusal to provide records (Cal. Health and Safety Code 123115(b))",
        consequences,
    )
    alex.answers("sent")
    assert alex.step == "designated"
    alex.sees("Cal. HSC 123115(b)", "Has the client named someone?")
    alex.answers({"named": "named", "name": ""})
    assert "name of the person" in alex.question.error
    alex.answers({"named": "named", "name": "Dr. Lee Park", "role": "psychologist"})
    assert alex.step == "designated_letter"
    alex.sees("Dear Dr. Lee Park (psychologist),", "as California law requires (Cal. Health and Safety Code 123115(b))")
    alex.answers("sent")
    alex.sees("That's the denial letter sent for RR-2026-0001. I'll check in on")  # the follow-up waits its turn
    letters = drafts(conversation)
    assert set(letters) == {"acknowledgement", "denial", "refusal_note", "designated_release"}
    assert f"- **Specific adverse or detrimental consequences anticipated:** {consequences}" in letters["refusal_note"]
    assert request_row(conversation).denial["designated"]["sent_on"] == TODAY.isoformat()


def test_texas_denial_for_risk_to_the_client_asks_how_long_it_lasts_and_the_client_can_name_someone_later(tmp_path):
    conversation, alex = deny_for_risk_to_the_client(tmp_path, "TX")
    assert "how long the denial lasts" in alex.question.error  # Tex. HSC 611.0045(c)
    alex.answers({**RISK_DENIAL, "duration": "until your treatment ends"})
    alex.sees("- **How long this decision lasts:** until your treatment ends.", "Signed: ______________________")
    alex.answers("sent")
    alex.answers({"named": "not_yet"})
    alex.sees("I'll check in on")
    alex.types("resume RR-2026-0001")  # the client names someone before the follow-up reminder
    assert alex.step == "follow_up"
    alex.sees("The client named a professional to receive what was withheld")
    alex.answers("professional_named")
    assert alex.step == "designated"
    alex.answers({"named": "named", "name": "Dr. Ruth Cole", "role": "psychiatrist"})
    alex.sees("as Texas law requires (Tex. Health and Safety Code 611.0045(e))")


def test_parent_of_a_minor_who_holds_the_right_gets_a_letter_on_that_ground_addressed_to_the_parent(tmp_path):
    conversation = open_conversation(tmp_path, TODAY, jurisdiction="CA")
    alex = Person(conversation, "Alex")
    start_request(alex, requester_type="parent_of_minor")
    assert alex.step == "representative"
    alex.sees("164.502(g)(3)", "Cal. HSC 123115(a)", "the minor holds the right")
    alex.answers("minor_right_deny")
    assert alex.step == "acknowledge"
    alex.sees("Dear [parent's name],", "Thank you for your request for your child's records.")
    walk_to_decision(alex, NOTHING_FOUND, review=[*ALL_REVIEW, "representative_checked"])
    assert [c.value for c in alex.question.choices] == ["denial"]  # the parent may not have these records
    alex.answers("denial")
    assert next(f for f in alex.question.fields if f.name == "grounds").default == "minor_holds_right"
    alex.answers({"letter": "denial", "grounds": "psychotherapy_notes", "withheld": "your child's records"})
    assert 'needs the ground "The minor holds the right' in alex.question.error
    alex.answers({"letter": "denial", "grounds": "minor_holds_right", "withheld": "your child's records"})
    assert alex.step == "denial_letter"
    alex.answers("sent")
    letter = drafts(conversation)["denial"]
    assert "Dear [parent's name]," in letter
    assert "we received your request for a copy of your child's records" in letter
    assert "- **your child's records:** Your child holds the right to these records" in letter
    assert "**Review:**" in letter  # not a 164.524(a)(3) ground: no review, but a complaint is still possible


def test_parent_of_a_minor_who_holds_the_right_and_asks_themselves_the_letters_go_to_the_minor(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, requester_type="parent_of_minor")
    alex.answers("minor_right_release")
    assert request_row(conversation).requester_type == "client"
    alex.sees("Dear [client's name],", "Thank you for your request for your records.")


def test_a_representative_refused_on_substantial_harm_gets_a_reviewable_denial(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, requester_type="personal_representative")
    assert [c.value for c in alex.question.choices] == ["representative", "harm"]
    alex.answers("harm")
    walk_to_decision(alex, NOTHING_FOUND, review=[*ALL_REVIEW, "representative_checked"])
    alex.answers("denial")
    form = {"letter": "denial", "grounds": "personal_representative_harm", "withheld": "the records", "reviewer": "Sam"}
    alex.answers(form)
    alex.sees(
        "Dear [representative's name],", "the records of the person you represent", "You can ask for this decision"
    )


def test_a_paper_copy_to_an_attorney_needs_a_hipaa_authorization_and_the_letters_name_the_attorney(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    alex = Person(conversation, "Alex")
    start_request(alex, third_party="yes", form="paper", delivery="mail")
    assert alex.step == "direction", "who receives the copy, and on what signed document, is asked as it is taken"
    # a paper copy is never under the client's direction (Ciox v. Azar): it needs a HIPAA authorization
    assert alex.question.fields[1].default == "authorization"
    alex.sees("Ciox Health v. Azar", "45 CFR 164.508", "patient-rate fee limit does not apply")
    alex.answers({"recipient": "Sam Ortiz, Esq.", "kind": "authorization", "on_file": "no"})
    alex.sees("once we have your signed authorization to release them (a HIPAA authorization form")
    alex.answers("sent_today")
    for answer in ("on_track", "2026-11-12", ALL_REVIEW, NOTHING_FOUND, "none", "release"):
        alex.answers(answer)
    assert [f.label for f in alex.question.fields][-1] == "Is the client's signed HIPAA authorization on file now?"
    release = {"released_on": "2026-11-05", "method": "mail", "included": "All notes", "fee": "0"}
    alex.answers({**release, "direction_on_file": "no"})
    assert "signed HIPAA authorization to send the copy to someone else is not on file" in alex.question.error
    alex.answers({**release, "direction_on_file": "yes"})
    alex.sees("As you directed in writing, we have sent your records to Sam Ortiz, Esq.")
    assert request_row(conversation).release["direction"] == {"recipient": "Sam Ortiz, Esq.", "kind": "authorization"}


def test_a_client_copy_fee_names_the_patient_rate_and_a_directed_copy_says_it_does_not_apply(tmp_path):
    conversation = open_conversation(tmp_path, TODAY)
    own, other = Person(conversation, "Alex"), Person(conversation, "Sam")
    start_request(own)
    start_request(other, third_party="yes", client_label="CD-9")
    notes_own = request_row(conversation).deadline["fee"]["notes"]
    notes_other = request_row(conversation, "RR-2026-0002").deadline["fee"]["notes"]
    assert any("Patient rate" in note for note in notes_own)
    assert not any("Patient rate" in note for note in notes_other)
    assert any("patient-rate limit does not apply" in note for note in notes_other)


def test_california_summary_extension_offers_only_the_two_statutory_reasons(tmp_path):
    conversation = open_conversation(tmp_path, TODAY, jurisdiction="CA")
    alex = Person(conversation, "Alex")
    start_request(alex, access_type="summary", summary_agreed="yes")
    alex.answers("sent_today")
    alex.answers("extension")
    assert alex.step == "extension_reason"
    assert [c.value for c in alex.question.choices] == ["extraordinary_length", "recent_discharge", "back"]
    alex.answers("The client is busy")
    assert alex.step == "extension_reason" and alex.question.error
    alex.answers("extraordinary_length")
    alex.answers("2026-12-01")
    assert alex.step == "extension_notice"
    alex.sees(
        "- Your record is of extraordinary length.",
        "California law allows a summary to take up to 30 days from your request only for one of these two reasons",
    )


def test_washington_extension_notice_states_washingtons_rule_not_hipaas(tmp_path):
    conversation = open_conversation(tmp_path, TODAY, jurisdiction="WA")
    alex = Person(conversation, "Alex")
    start_request(alex)
    alex.answers("sent_today")
    alex.answers("extension")
    alex.answers("Older records are in offsite storage")
    alex.answers(str(request_row(conversation).extended_due_on))
    alex.sees("no later than 21 working days after we received it")
    assert "one extension of up to 30 days" not in alex.texts


def test_a_california_inspection_deadline_names_the_calendar_it_counted_on(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 11, 24), jurisdiction="CA")
    alex = Person(conversation, "Alex")
    start_request(alex, access_type="inspect", received_on="2026-11-24")
    alex.answers("sent_today")
    assert alex.step == "timeframe"
    # Thanksgiving stops the clock; the day after is not on Gov. Code 6700's list, and the notes say both
    alex.sees(
        "act by 2026-12-02",
        "Working days counted on California's statutory holidays on which state offices close (Cal. Gov. Code 6700)",
        "Day After Thanksgiving (November 27, 2026) counted as a working day",
    )


def test_practice_closed_days_move_the_target_never_the_deadline(tmp_path):
    conversation = open_conversation(tmp_path, TODAY, closed_days=["2026-11-27", "2026-11-26"])
    alex = Person(conversation, "Alex")
    start_request(alex)
    due = request_row(conversation).due_on
    assert due == date(2026, 12, 2)
    alex.answers("sent_today")
    alex.answers("on_track")
    assert alex.question.default == "2026-11-25"  # three days before is Thanksgiving week: closed 26 and 27
    alex.answers("2026-11-27")
    assert alex.step == "target" and "closed on 2026-11-27" in alex.question.error
    alex.answers("2026-11-25")
    row = request_row(conversation)
    assert (row.target_on, row.due_on) == (date(2026, 11, 25), due)
