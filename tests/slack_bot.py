"""The Slack service under test: the real aiohttp app on localhost, a fake Slack Web API, signed requests."""

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
from bot.server import ADAPTER, build_app, settle
from bot.services.conversation import Conversation
from tests.fakes.slack_api import (
    FakeSlackAPI,
    ServerThread,
    intake_values,
    post_signed,
    slash_command,
    view_submission,
)

SECRET = "test-signing-secret"
TODAY = date(2026, 3, 2)
PRACTICE = """
name = "Test Practice"
jurisdiction = "US"
records_channel = "C_RECORDS"
consult_colleagues = ["Sam Supervisor"]

[privacy_contact]
name_or_title = "Privacy Officer"
phone = "555-0100"

[[members]]
name = "Casey Clinician"
role = "clinician"
slack_user_id = "U_CLIN"

[[members]]
name = "Olive Other"
role = "clinician"
slack_user_id = "U_OTHER"

[[members]]
name = "Sam Supervisor"
role = "supervisor"
slack_user_id = "U_SUP"

[[members]]
name = "Pat Admin"
role = "admin"
slack_user_id = "U_ADMIN"
"""


@dataclass
class Bot:
    """The running service, its fake Slack and its database, for one test."""

    url: str
    fake: FakeSlackAPI
    ctx: AppContext
    server: ServerThread
    adapter: Any
    web_app: Any

    def send(self, body: str, **kw: Any) -> tuple[int, str, float]:
        return post_signed(self.url, body, SECRET, **kw)

    def settle(self) -> None:
        """Let the work that runs after each ack finish."""
        asyncio.run_coroutine_threadsafe(settle(self.web_app), self.server.loop).result(60)

    def count(self, table: type) -> int:
        with Session(self.ctx.engine) as session:
            return session.exec(select(func.count()).select_from(table)).one()


@pytest.fixture
def bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, any_db_url: str):
    """The service on a SQLite file and, when TEST_DATABASE_URL is set, again on PostgreSQL."""
    open_database(any_db_url, auto_upgrade=True).dispose()
    fake = FakeSlackAPI().start()
    (tmp_path / "practice.toml").write_text(PRACTICE)
    for name, value in {
        "PRACTICE_FILE": str(tmp_path / "practice.toml"),
        "DATABASE_URL": any_db_url,
        "SLACK_API_URL": fake.url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "POLL_INTERVAL_SECONDS": "3600",
        "SLACK_API_TIMEOUT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    ctx = open_context()
    # the conversation lives on TODAY; real-time reminders would call its requests overdue mid-test
    conversation = Conversation(ctx.engine, ctx.practice, env=ctx.env, today=lambda: TODAY)
    web_app = build_app(ctx, conversation=conversation, reminder_poller=False)
    server = ServerThread(web_app)
    port = server.start()
    yield Bot(f"http://127.0.0.1:{port}/slack/events", fake, ctx, server, web_app[ADAPTER], web_app)
    server.stop()
    fake.stop()
    ctx.engine.dispose()


def open_intake(bot: Bot, user: str = "U_CLIN", trigger_id: str = "trig.1") -> dict[str, Any]:
    """Clinician types /records-request; returns the modal the bot opened."""
    status, _, _ = bot.send(slash_command(user=user, trigger_id=trigger_id))
    assert status == 200
    bot.settle()
    return bot.fake.calls_to("views.open")[-1].args


def submit_intake(bot: Bot, modal: dict[str, Any], **overrides: str) -> tuple[int, str]:
    view = modal["view"]
    body = view_submission(values=intake_values(**overrides), private_metadata=view["private_metadata"])
    status, text, _ = bot.send(body)
    bot.settle()
    return status, text


def step_message(bot: Bot, kind: str = "actions") -> tuple[str, dict[str, Any], str]:
    """The latest DM message with buttons: (its ts, its actions block, its text)."""
    for call in reversed(bot.fake.delivered("chat.postMessage")):
        for block in call.args.get("blocks") or []:
            if block.get("type") == kind and block.get("block_id", "").startswith("run:"):
                ts = call_ts(bot, call)
                return ts, block, call.args.get("text", "")
    raise AssertionError("no step message with buttons was posted")


def call_ts(bot: Bot, call: Any) -> str:
    """The ts the fake gave the message this call posted."""
    assert call.response, "that call was not answered ok"
    return str(call.response["ts"])
