"""A member is who their chat account is: renaming them in practice.toml keeps their requests, runs and reminders."""

from __future__ import annotations

from datetime import date

from bot.context import sync_members
from bot.prompts import Answer, Origin
from bot.services.conversation import Conversation
from tests.conversation_helpers import INTAKE, make_practice, open_conversation

MEMBERS = [
    {"name": "Alex", "role": "clinician", "slack_user_id": "U_ALEX"},
    {"name": "Dana", "role": "supervisor", "slack_user_id": "U_DANA"},
]


def test_a_member_renamed_in_practice_toml_keeps_their_open_request(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 11, 3), members=MEMBERS, consult_colleagues=[])
    alex = Origin("slack", "U_ALEX")
    started = conversation.start(alex)
    form = next(p for p in started.prompts if p.kind == "form")
    taken = conversation.answer(Answer(form.ref, INTAKE, alex))
    assert taken.accepted

    renamed = make_practice(members=[{**MEMBERS[0], "name": "Alex Morgan"}, MEMBERS[1]], consult_colleagues=[])
    sync_members(conversation.engine, renamed)
    again = Conversation(conversation.engine, renamed, today=lambda: date(2026, 11, 3))

    assert again.member_name(alex) == "Alex Morgan"
    (run_id,) = again.open_runs("Alex Morgan")
    step = again.current(run_id, alex)
    assert step.prompts and "belongs to someone else" not in step.prompts[0].text
    listed = again.command(alex, "list").prompts[0].text
    assert "RR-2026-0001" in listed


def test_someone_whose_account_is_not_in_practice_toml_is_refused_politely(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 11, 3), members=MEMBERS, consult_colleagues=[])
    refused = conversation.start(Origin("slack", "U_STRANGER"))
    assert "not set up as a member" in refused.prompts[0].text


def members_now(engine) -> dict[str, tuple[str | None, bool]]:
    from sqlmodel import Session, select

    from bot.store import Member

    with Session(engine) as session:
        return {m.name: (m.slack_user_id, m.active) for m in session.exec(select(Member))}


def owner_of_first_run(conversation) -> str:
    from sqlmodel import Session, select

    from bot.store import FlowRun, Member

    with Session(conversation.engine) as session:
        run = session.exec(select(FlowRun)).first()
        return session.get(Member, run.member_id).slack_user_id


def test_renames_in_a_chain_a_swap_and_a_former_members_name_each_keep_the_account(tmp_path):
    conversation = open_conversation(tmp_path, date(2026, 11, 3), members=MEMBERS, consult_colleagues=[])
    alex = Origin("slack", "U_ALEX")
    form = next(p for p in conversation.start(alex).prompts if p.kind == "form")
    assert conversation.answer(Answer(form.ref, INTAKE, alex)).accepted

    def sync(*members):  # type: ignore[no-untyped-def]
        sync_members(conversation.engine, make_practice(members=list(members), consult_colleagues=[]))

    sync({"name": "Dana", "slack_user_id": "U_ALEX"}, {"name": "Alex", "slack_user_id": "U_DANA", "role": "supervisor"})
    assert members_now(conversation.engine) == {"Dana": ("U_ALEX", True), "Alex": ("U_DANA", True)}
    assert owner_of_first_run(conversation) == "U_ALEX", "the swap kept each person's own requests"

    sync({"name": "Casey", "slack_user_id": "U_ALEX"}, {"name": "Dana", "slack_user_id": "U_DANA"})
    assert members_now(conversation.engine) == {"Casey": ("U_ALEX", True), "Dana": ("U_DANA", True)}

    sync({"name": "Dana", "slack_user_id": "U_NEW"})  # a new person takes a departed member's name
    now = members_now(conversation.engine)
    assert now["Dana"] == ("U_NEW", True) and now["Casey"] == ("U_ALEX", False)
    assert now["Dana (former #2)"] == ("U_DANA", False)
    assert (
        Conversation(
            conversation.engine,
            make_practice(members=[{"name": "Dana", "slack_user_id": "U_NEW"}], consult_colleagues=[]),
        ).open_runs("Dana")
        == []
    ), "the newcomer gets no one else's work"
