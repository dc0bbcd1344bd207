"""Teams form cards and fields that apply only after a certain answer (only_if): said in words, never required,
ignored when they don't apply. An Adaptive Card can't show a field on a choice without a round trip."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.store import FlowRun, RecordsRequest
from tests.fakes.bot_connector import Call, _walk
from tests.teams_bot import INTAKE, TeamsBot

ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
RISK_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "yes"}


def note_before(card: Call, input_id: str) -> str:
    """The text shown just above an input (where the card says when the field applies)."""
    body = [n for n in _walk(card.card) if n.get("type") == "TextBlock" or str(n.get("type")).startswith("Input.")]
    at = next(n for n, node in enumerate(body) if node.get("id") == input_id)
    assert at and body[at - 1]["type"] == "TextBlock", f"no text above {input_id}"
    return str(body[at - 1]["text"])


def intake_taken(teams: TeamsBot) -> dict[str, Any]:
    with Session(teams.ctx.engine) as session:
        return dict(session.exec(select(FlowRun)).one().answers["intake"])


def test_the_intake_card_says_when_the_summary_agreement_applies_and_never_requires_it(teams: TeamsBot):
    teams.says("records-request")
    card = teams.last_card()
    agreement = card.inputs()["summary_agreed"]
    assert agreement["isRequired"] is False and "errorMessage" not in agreement
    assert note_before(card, "summary_agreed") == (
        "The field below applies only if you chose “A summary (client agreed in advance)” under “What they want”. "
        "Otherwise leave it: it is ignored."
    )
    assert card.inputs()["access_type"]["isRequired"] is True  # fields that always apply are checked as before


def test_a_summary_agreement_sent_with_a_copy_is_ignored(teams: TeamsBot):
    teams.says("records-request")
    card = teams.answers(INTAKE | {"access_type": "copy", "summary_agreed": "yes"})
    assert "Created RR-2026-0001" in card.texts
    assert intake_taken(teams)["summary_agreed"] == "no"  # no summary fee on a copy


def test_a_summary_still_needs_the_agreement_on_the_card(teams: TeamsBot):
    teams.says("records-request")
    form = teams.last_card()
    teams.clicks(form, **(INTAKE | {"access_type": "summary", "summary_agreed": "no"}))
    with Session(teams.ctx.engine) as session:
        assert session.exec(select(RecordsRequest)).first() is None
    again = teams.fake.updates()[-1]
    assert "⚠️" in again.texts and again.inputs()["access_type"]["value"] == "summary"
    assert "applies only if you chose" in note_before(again, "summary_agreed")  # still said on the card sent back
    teams.clicks(again, **(INTAKE | {"access_type": "summary", "summary_agreed": "yes"}))
    assert intake_taken(teams)["summary_agreed"] == "yes"


def test_the_denial_card_says_when_a_reviewer_and_an_outsiders_name_apply_and_ignores_them_otherwise(teams: TeamsBot):
    teams.says("records-request")
    teams.answers(INTAKE)
    teams.answers("sent_today")
    teams.answers("on_track")
    teams.answers("2026-03-20")
    teams.answers(ALL_REVIEW)
    teams.answers(RISK_FOUND)
    teams.answers("none")
    card = teams.answers("denial")
    assert teams.step() == "denial"
    inputs = card.inputs()
    assert inputs["reviewer"]["isRequired"] is False and inputs["outside_reviewer"]["isRequired"] is False
    reviewer_note = note_before(card, "reviewer")
    assert "you ticked" in reviewer_note and "under “Grounds for withholding”" in reviewer_note
    assert "Reasonably likely to endanger life or physical safety (reviewable)" in reviewer_note
    assert "Psychotherapy notes" not in reviewer_note
    assert note_before(card, "outside_reviewer").startswith(
        "The field below applies only if you chose “Someone outside the practice (name them below)” under “Reviewing"
    )
    # the outsider's name was typed, then a member chosen instead: the name is not the reviewer
    teams.answers(
        {
            "grounds": "endanger_life",
            "withheld": "Specific safety plan details",
            "reviewer": "Sam Supervisor",
            "outside_reviewer": "Dr. Jane Roe",
        }
    )
    assert teams.step() == "denial_letter"
    with Session(teams.ctx.engine) as session:
        assert session.exec(select(RecordsRequest)).one().denial["reviewer"] == "Sam Supervisor"
