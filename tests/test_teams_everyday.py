"""Everyday use in Teams: back a step, correct a request later, the practice list, find and reassign, as typed in chat."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from bot.store import FlowRun, Member, RecordsRequest, Reminder
from tests.teams_bot import INTAKE, TeamsBot


def the_request(teams: TeamsBot, reference: str = "RR-2026-0001") -> RecordsRequest:
    with Session(teams.ctx.engine) as session:
        return session.exec(select(RecordsRequest).where(RecordsRequest.reference == reference)).one()


def test_back_and_edit_in_the_personal_chat(teams: TeamsBot):
    teams.says("records-request")
    teams.answers(INTAKE)  # received 2026-03-01: due 2026-03-31
    teams.answers("sent_today")
    teams.answers("on_track")
    assert teams.step() == "target"
    teams.says("back")
    assert teams.step() == "timeframe" and "act by 2026-03-31" in teams.last_card().texts
    teams.says("edit RR-2026-0001 received")
    card = teams.answers("2026-02-25")
    assert "received 2026-02-25 (was 2026-03-01)" in card.texts and "Deadline now 2026-03-27" in card.texts
    assert the_request(teams).due_on == date(2026, 3, 27)
    teams.says("edit RR-2026-0001 received 2026-02-20", user="aad-other")
    assert "belongs to a colleague" in teams.last_card("aad-other").texts


def test_the_practice_list_find_and_an_admins_reassignment(teams: TeamsBot):
    teams.says("records-request")
    teams.answers(INTAKE)
    teams.says("records-request", user="aad-other")
    teams.answers({**INTAKE, "client_label": "CD-2", "received_on": "2026-02-20"}, user="aad-other")
    teams.says("list", user="aad-sup")
    listed = teams.last_card("aad-sup").texts
    assert "Open requests in the practice, soonest deadline first" in listed
    assert listed.index("RR-2026-0002") < listed.index("RR-2026-0001")
    teams.says("list")
    assert "RR-2026-0002" not in teams.last_card().texts
    teams.says("find cd-2", user="aad-sup")
    assert "RR-2026-0002 · CD-2 · owner Olive Other" in teams.last_card("aad-sup").texts
    teams.says("reassign RR-2026-0001 Olive", user="aad-sup")
    assert "Only a practice admin can reassign" in teams.last_card("aad-sup").texts
    teams.says("reassign RR-2026-0001 olive", user="aad-admin")
    assert "now belongs to Olive Other (was Casey Clinician)" in teams.last_card("aad-admin").texts
    assert "Ada Admin gave you RR-2026-0001" in teams.last_card("aad-other").texts
    with Session(teams.ctx.engine) as session:
        olive = session.exec(select(Member).where(Member.name == "Olive Other")).one()
        pending = session.exec(select(Reminder).where(Reminder.status == "pending")).all()
    assert the_request(teams).owner_id == olive.id
    assert "Casey Clinician" not in {r.target for r in pending}


def test_the_back_button_on_a_card_goes_back_once_and_the_card_is_ticked(teams: TeamsBot):
    teams.says("records-request")
    teams.answers(INTAKE)
    teams.answers("sent_today")
    teams.answers("on_track")
    target = teams.last_card()
    back = next(a for a in target.submits() if a["title"] == "← Back")
    assert back["associatedInputs"] == "none", "going back sends none of the card's inputs"
    assert teams.clicks(target, "← Back") == 201
    assert teams.step() == "timeframe"
    teams.clicks(target, "← Back")  # the same card again: the run has moved on, nothing changes
    assert "already done" in teams.last_card().texts
    with Session(teams.ctx.engine) as session:
        assert session.exec(select(FlowRun)).one().step == "timeframe", "one step back, not two"
    assert any(u.activity_id == target.answered["id"] for u in teams.fake.updates()), "the card was ticked"
