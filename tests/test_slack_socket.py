"""Socket Mode, end to end: the app dials a local WebSocket, acks a slash-command envelope and opens the modal."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.context import open_context
from bot.server import build_app, settle
from bot.services.conversation import Conversation
from tests.fakes.slack_api import TEAM_ID, FakeSlackAPI, ServerThread
from tests.fakes.slack_socket import FakeSocketMode
from tests.slack_bot import PRACTICE


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "practice.toml").write_text(PRACTICE)
    monkeypatch.setenv("PRACTICE_FILE", str(tmp_path / "practice.toml"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite")
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "3600")
    return tmp_path


def test_socket_mode_acks_the_envelope_and_opens_the_intake_modal(env: Path, monkeypatch: pytest.MonkeyPatch):
    with FakeSlackAPI() as api, FakeSocketMode(api) as sock:
        monkeypatch.setenv("SLACK_API_URL", api.url)
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "unused-in-socket-mode")
        monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
        ctx = open_context()
        conversation = Conversation(ctx.engine, ctx.practice, today=lambda: date(2026, 3, 2))
        web_app = build_app(ctx, conversation=conversation, reminder_poller=False)
        server = ServerThread(web_app)
        server.start()
        try:
            sock.wait_connected()
            assert api.calls_to("apps.connections.open")[0].token == "xapp-test"
            payload = {
                "team_id": TEAM_ID,
                "channel_id": "C_GENERAL",
                "user_id": "U_CLIN",
                "command": "/records-request",
                "text": "",
                "trigger_id": "trig.socket",
                "response_url": "https://hooks.slack.invalid/x",
                "api_app_id": "A_TEST",
            }
            envelope_id = sock.send("slash_commands", payload)
            assert sock.wait_ack(envelope_id)["envelope_id"] == envelope_id
            opened = api.wait_for("views.open")[0].args
            assert opened["trigger_id"] == "trig.socket"
            assert json.loads(opened["view"]["private_metadata"])["ref"].startswith("run:")
            # a redelivered envelope (retry_attempt) is acked again but starts nothing new
            again = sock.send("slash_commands", payload, retry_attempt=1)
            sock.wait_ack(again)
            asyncio.run_coroutine_threadsafe(settle(web_app), server.loop).result(60)
            assert len(api.calls_to("views.open")) == 1
        finally:
            server.stop()


def test_serve_names_the_missing_slack_secret_and_exits_2(env: Path):
    """Half a Slack set-up is misuse (with no credentials at all, serve starts Teams local mode instead)."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "PRACTICE_FILE": str(env / "practice.toml"),
        "DATABASE_URL": f"sqlite:///{env}/db.sqlite",
        "SLACK_BOT_TOKEN": "xoxb-test",
    }
    run = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "serve"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=env,
        timeout=60,
    )
    assert run.returncode == 2 and "SLACK_SIGNING_SECRET" in run.stderr
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]
    assert not (env / "db.sqlite").exists()
