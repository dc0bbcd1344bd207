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
