"""kill -9 and SIGTERM at each point of delivery: after a restart, what was pending goes out, each message once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, create_engine, select

from bot.db import open_database
from bot.store import OutboxMessage, RecordsRequest
from tests.fakes.slack_api import FakeSlackAPI, intake_values, post_signed, slash_command, view_submission
from tests.slack_bot import PRACTICE, SECRET

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    """`records-bot serve` as a real process, against the fake Slack; started, killed and started again."""

    def __init__(self, tmp_path: Path, db_url: str, fake: FakeSlackAPI) -> None:
        (tmp_path / "practice.toml").write_text(PRACTICE)
        self.db_url, self.port, self.cwd = db_url, free_port(), tmp_path
        self.env = {
            **os.environ,
            "PRACTICE_FILE": str(tmp_path / "practice.toml"),
            "DATABASE_URL": db_url,
            "SLACK_API_URL": fake.url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_TIMEOUT": "2",
            "POLL_INTERVAL_SECONDS": "3600",
            "RECORDS_BOT_KEY_FILE": str(tmp_path / "key"),
        }
        self.env.pop("SLACK_APP_TOKEN", None)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Service:
        command = [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"serve did not start: {self.stop()}")

    def send(self, body: str) -> int:
        return post_signed(f"{self.url}/slack/events", body, SECRET)[0]

    def kill(self, sig: int) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(15)
        self.process = None
        return code

    def stop(self) -> str:
        if self.process is None:
            return ""
        self.process.terminate()
        _, err = self.process.communicate(timeout=15)
        self.process = None
        return err.decode(errors="replace")[-2000:]

    def rows(self) -> list[OutboxMessage]:
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as session:
                return list(session.exec(select(OutboxMessage)).all())
        finally:
            engine.dispose()

    def requests(self) -> int:
        engine = create_engine(self.db_url)
        try:
            with Session(engine) as session:
                return len(session.exec(select(RecordsRequest)).all())
        finally:
            engine.dispose()


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def intake(service: Service, fake: FakeSlackAPI, n: int) -> None:
    """Clinician types /records-request and submits the intake form."""
    assert service.send(slash_command(trigger_id=f"trig.{n}")) == 200
    opened = fake.wait_for("views.open", count=n, timeout=10)[n - 1]
    modal, view = opened.args["view"], (opened.response or {}).get("view", {})
    body = view_submission(
        values=intake_values(),
        private_metadata=modal["private_metadata"],
        view_id=view.get("id", f"V{n}"),
        view_hash=view.get("hash", f"h{n}"),
    )
    assert service.send(body) == 200


def delivered_once(fake: FakeSlackAPI) -> Counter[str]:
    return Counter(json.dumps([c.args["channel"], c.args.get("blocks")]) for c in fake.delivered("chat.postMessage"))


@pytest.fixture
def service(tmp_path: Path, any_db_url: str):
    open_database(any_db_url, auto_upgrade=True).dispose()
    fake = FakeSlackAPI().start()
    service = Service(tmp_path, any_db_url, fake)
    yield service, fake
    service.stop()
    fake.stop()


def test_kill_9_after_the_intake_commits_loses_neither_the_next_step_nor_the_channel_post(service):
    service, fake = service
    service.start()
    fake.fail_next("chat.postMessage", status=500, times=10_000)  # Slack is failing: the rows wait to be retried
    intake(service, fake, 1)
    wait_until(lambda: service.requests() == 1 and len([r for r in service.rows() if r.attempts]) >= 2)
    assert service.kill(signal.SIGKILL) == -signal.SIGKILL
    fake.clear_failures()
    service.start()
    wait_until(lambda: all(r.status == "sent" for r in service.rows()))
    counts = delivered_once(fake)
    assert set(counts.values()) == {1}, "nothing went out twice"
    texts = json.dumps([c.args for c in fake.delivered("chat.postMessage")])
    assert "New records request RR-2026-0001" in texts, "the channel post went out after the restart"
    assert "Here is the acknowledgement to send the client" in texts, "and so did the clinician's next step"


def test_kill_9_mid_send_sends_that_message_again_after_the_restart_once(service):
    service, fake = service
    service.start()
    # the channel post hangs and then fails: the process dies while it is in flight
    fake.fail_next("chat.postMessage", status=500, delay=1.5, where={"channel": "C_RECORDS"})
    intake(service, fake, 1)
    wait_until(lambda: any(r.status == "claimed" and r.destination == "C_RECORDS" for r in service.rows()))
    service.kill(signal.SIGKILL)
    service.start()  # a new process on the same host takes back what the dead one held, without waiting its lease
    wait_until(lambda: all(r.status == "sent" for r in service.rows()), timeout=15)
    new = [c for c in fake.delivered("chat.postMessage") if "New records request" in c.args.get("text", "")]
    assert [c.args["channel"] for c in new] == ["C_RECORDS"], "the post in flight when it died went out once"


def test_sigterm_after_a_burst_keeps_every_queued_channel_post(service):
    service, fake = service
    service.start()
    for n in range(1, 9):
        intake(service, fake, n)
    wait_until(lambda: service.requests() == 8)
    assert service.kill(signal.SIGTERM) == 0  # a clean stop: it sends what it can for a few seconds, keeps the rest
    service.start()
    wait_until(lambda: all(r.status == "sent" for r in service.rows()), timeout=30)
    posts = [c for c in fake.delivered("chat.postMessage") if "New records request" in c.args.get("text", "")]
    references = sorted(json.dumps(c.args["blocks"]).split("RR-2026-")[1][:4] for c in posts)
    assert references == [f"{n:04d}" for n in range(1, 9)], "every channel post once, none lost, none doubled"
