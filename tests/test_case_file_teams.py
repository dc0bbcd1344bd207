"""The case file from chat, in Teams: the final card's Case file button brings it as text into the personal chat."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.store import AuditEvent
from tests.teams_bot import INTAKE, TeamsBot

ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
NOTHING_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"}
RELEASE = {"released_on": "2026-03-02", "method": "portal", "included": "Progress notes", "fee": "6.50"}


def test_the_owner_gets_the_case_file_as_a_card_and_a_colleague_is_refused(teams: TeamsBot):
    teams.says("records-request")
    teams.answers(INTAKE)
    for value in ("sent_today", "on_track", "2026-03-20", ALL_REVIEW, NOTHING_FOUND, "none", "release", RELEASE):
        teams.answers(value)
    final = teams.answers("sent")
    assert "I'll check in on" in final.texts and "records-bot export" not in final.texts
    assert [a["title"] for a in final.submits()] == ["Case file"]

    teams.clicks(final, "Case file", user="aad-other")  # not Olive's request: she is told so where she clicked
    assert "goes only to its owner" in teams.last_card().texts

    teams.clicks(final, "Case file")
    sent = teams.last_card()
    assert "Case file RR-2026-0001" in sent.texts and "Teams doesn't let the bot send a file" in sent.texts
    assert "# Case file RR-2026-0001" in sent.texts and "Letter sent" in sent.texts and "JQ-17" in sent.texts
    with Session(teams.ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "case_file.sent")).all()
    assert [(e.actor, e.after["sent_through"]) for e in events] == [("Casey Clinician", "teams")]
