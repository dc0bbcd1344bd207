"""One practice on both platforms: Casey works on Slack, Sam the supervisor on Teams, one process, one core."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from bot.prompts import Answer, Origin, Reply
from bot.store import Consult
from tests.fakes.bot_tokens import channel_token, trust_local_keys
from tests.fakes.slack_api import FakeSlackAPI
from tests.teams_bot import INTAKE, PRACTICE, start_teams_bot, stop_teams_bot

APP_ID = "00000000-0000-0000-0000-0000000000aa"
BOTH = PRACTICE.replace('teams_user_id = "aad-clin"', 'slack_user_id = "U_CLIN"')
ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
NOTHING_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"}


def casey_answers(conversation: Any, reply: Reply, value: Any) -> Reply:
    """Casey answers the question on her latest Slack message (through the core, as the Slack adapter does)."""
    asking = [p for p in reply.prompts if p.expects_answer]
    assert asking, [p.text for p in reply.prompts]
    origin = Origin("slack", "U_CLIN")
    return conversation.answer(Answer(asking[-1].ref, value, origin))


def test_a_consult_asked_on_slack_is_answered_on_teams_and_the_answer_comes_back_on_slack(tmp_path, monkeypatch):
    trust_local_keys(monkeypatch)
    slack = FakeSlackAPI().start()
    monkeypatch.setattr("tests.teams_bot.PRACTICE", BOTH)
    bot = start_teams_bot(
        tmp_path,
        monkeypatch,
        f"sqlite:///{tmp_path}/mixed.db",
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD="pw",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=slack.url,
        SLACK_API_TIMEOUT="1",
    )
    try:
        bot.token = channel_token(APP_ID, bot.fake.url)
        # Sam has the app in Teams (said hello once): the bot can reach Sam there
        assert bot.says("help", user="aad-sup") == 201

        conversation = bot.adapter.conversation
        reply = conversation.start(Origin("slack", "U_CLIN"))
        for answer in (INTAKE, "sent_today", "on_track", "2026-03-20", ALL_REVIEW, NOTHING_FOUND, "colleague"):
            reply = casey_answers(conversation, reply, answer)
        reply = casey_answers(conversation, reply, "Sam Supervisor")
        reply = casey_answers(conversation, reply, "Could you read the last three notes for clarity?")
        bot.settle()

        card = bot.last_card("aad-sup")  # the consult card, proactively in Sam's Teams chat
        assert "RR-2026-0001" in card.texts and "JQ-17" not in str(card.body)
        assert bot.clicks(card, "Call me", user="aad-sup", rr_note="after 3pm") == 201

        with Session(bot.ctx.engine) as session:
            consult = session.exec(select(Consult)).one()
            assert (consult.answer, consult.note) == ("call_me", "after 3pm")
        relayed = [c for c in slack.delivered("chat.postMessage") if c.args["channel"] == "D_CLIN"]
        assert any("after 3pm" in str(c.args["blocks"]) for c in relayed)
        assert bot.fake.updates()[-1].activity_id == card.answered["id"]  # Sam's card is ticked in place
    finally:
        stop_teams_bot(bot)
        slack.stop()
