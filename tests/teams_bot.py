"""The Teams service under test: the real aiohttp app on localhost, Activity JSON to /api/messages, a fake Connector."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from bot.context import AppContext, open_context
from bot.db import open_database
from bot.server import TEAMS_ADAPTER, build_app, settle
from bot.services.conversation import Conversation
from tests.fakes.bot_connector import Call, FakeBotConnector, message, post_activity
from tests.fakes.slack_api import ServerThread

TODAY = date(2026, 3, 2)
PRACTICE = """
name = "Test Practice"
jurisdiction = "US"
consult_colleagues = ["Sam Supervisor"]

[privacy_contact]
name_or_title = "Privacy Officer"
phone = "555-0100"

[[members]]
name = "Casey Clinician"
role = "clinician"
teams_user_id = "aad-clin"

[[members]]
name = "Olive Other"
role = "clinician"
teams_user_id = "aad-other"

[[members]]
name = "Sam Supervisor"
role = "supervisor"
teams_user_id = "aad-sup"

[[members]]
name = "Ada Admin"
role = "admin"
licensed = false
teams_user_id = "aad-admin"
"""

INTAKE = {
    "client_label": "JQ-17",
    "requester_type": "client",
    "access_type": "copy",
    "therapy_format": "individual",
    "received_on": "2026-03-01",
    "scope": "all records",
    "form": "electronic",
    "delivery": "portal",
    "third_party": "no",
    "pages": "12",
    "language": "en",
}


@dataclass
class TeamsBot:
    """The running service, its fake Bot Connector and its database, for one test."""

    url: str
    fake: FakeBotConnector
    ctx: AppContext
    server: ServerThread
    adapter: Any
    web_app: Any
    token: str | None = None  # the channel token every request carries (authenticated mode)

    def post(self, activity: dict[str, Any], **kw: Any) -> int:
        status, _, _ = post_activity(self.url, activity, **({"token": self.token} | kw))
        self.settle()
        return status

    def says(self, text: str, *, user: str = "aad-clin", **kw: Any) -> int:
        """A member types in their personal chat with the bot (or, with conversation_type="channel", in a channel)."""
        return self.post(message(self.fake.url, text=text, user=user, **kw))

    def clicks(self, card: Call, title: str | None = None, *, user: str = "aad-clin", **inputs: Any) -> int:
        """A member presses a card's button (by title; the first when None), with what they typed into its inputs."""
        actions = card.submits()
        action = next((a for a in actions if title is None or a["title"] == title), None)
        assert action is not None, f"no button {title!r} on the card; buttons: {[a['title'] for a in actions]}"
        value = dict(action["data"]) | inputs
        activity = message(
            self.fake.url, user=user, value=value, reply_to_id=card.answered["id"], conversation=card.conversation
        )
        return self.post(activity)

    def answers(self, value: Any, *, user: str = "aad-clin") -> Call:
        """A member answers the question on their latest card: a button by its value, an input and Send, or a form."""
        card = self.last_card(user)
        buttons = card.submits()
        by_value = next((b for b in buttons if b["data"].get("rr_value") == value), None)
        if by_value is not None:
            assert self.clicks(card, by_value["title"], user=user) == 201
        elif isinstance(value, dict):
            assert self.clicks(card, user=user, **value) == 201
        else:
            assert "rr_input" in card.inputs(), f"no answer {value!r} on the card: {card.texts}"
            typed = ",".join(value) if isinstance(value, list) else value
            assert self.clicks(card, user=user, rr_input=typed) == 201
        return self.last_card(user)

    def step(self, user: str = "aad-clin") -> str:
        """The step the latest card asks about."""
        refs = [b["data"]["rr_ref"] for b in self.last_card(user).submits()]
        assert refs, "the latest card asks nothing"
        return refs[-1].split(":")[2]

    def last_card(self, user: str = "aad-clin") -> Call:
        """The latest card sent into this member's personal chat."""
        sent = self.fake.sent(f"a:dm-{user}")
        assert sent, f"nothing was sent to {user}; calls: {[(c.method, c.conversation) for c in self.fake.calls]}"
        return sent[-1]

    def settle(self) -> None:
        asyncio.run_coroutine_threadsafe(settle(self.web_app), self.server.loop).result(60)

    def count(self, table: type) -> int:
        with Session(self.ctx.engine) as session:
            return session.exec(select(func.count()).select_from(table)).one()


def start_teams_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, **env: str):
    open_database(db_url, auto_upgrade=True).dispose()
    fake = FakeBotConnector().start()
    (tmp_path / "practice.toml").write_text(PRACTICE)
    for name, value in {
        "PRACTICE_FILE": str(tmp_path / "practice.toml"),
        "DATABASE_URL": db_url,
        "POLL_INTERVAL_SECONDS": "3600",
        **env,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID"):
        if name not in env:
            monkeypatch.delenv(name, raising=False)
    ctx = open_context()
    # the conversation lives on TODAY; real-time reminders would call its requests overdue mid-test
    conversation = Conversation(ctx.engine, ctx.practice, env=ctx.env, today=lambda: TODAY)
    web_app = build_app(ctx, conversation=conversation, reminder_poller=False)
    server = ServerThread(web_app)
    port = server.start()
    bot = TeamsBot(f"http://127.0.0.1:{port}/api/messages", fake, ctx, server, web_app[TEAMS_ADAPTER], web_app)
    return bot


def stop_teams_bot(bot: TeamsBot) -> None:
    bot.server.stop()
    bot.fake.stop()
    bot.ctx.engine.dispose()


@pytest.fixture
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, any_db_url: str):
    """The service in Teams local mode (no app id) on SQLite and, when TEST_DATABASE_URL is set, PostgreSQL."""
    bot = start_teams_bot(tmp_path, monkeypatch, any_db_url)
    yield bot
    stop_teams_bot(bot)
