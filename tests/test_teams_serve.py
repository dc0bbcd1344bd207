"""records-bot serve and Teams: local mode without credentials (127.0.0.1 only, said loudly), settings checked."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.fakes.bot_connector import FakeBotConnector, message, post_activity
from tests.teams_bot import PRACTICE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def outward_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_with_no_credentials_serve_starts_teams_local_mode_on_loopback_only(tmp_path: Path):
    (tmp_path / "practice.toml").write_text(PRACTICE)
    port = free_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "PRACTICE_FILE": str(tmp_path / "practice.toml"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        "PORT": str(port),
        "POLL_INTERVAL_SECONDS": "3600",
        "RECORDS_BOT_KEY_FILE": str(tmp_path / "key"),
    }
    subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
        env=environment,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    serve = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "serve"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    connector = FakeBotConnector().start()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    assert json.loads(answer.read())["platforms"] == ["teams"]
                    break
            except OSError:
                assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
                assert time.monotonic() < deadline, "serve never became healthy"
                time.sleep(0.2)
        status, _, _ = post_activity(
            f"http://127.0.0.1:{port}/api/messages", message(connector.url, text="help", user="aad-clin")
        )
        assert status == 201  # no token needed: local mode
        outward = outward_address()
        if outward:
            with socket.socket() as probe:
                probe.settimeout(1)
                assert probe.connect_ex((outward, port)) != 0, "local mode must not listen beyond 127.0.0.1"
    finally:
        serve.terminate()
        out, _ = serve.communicate(timeout=30)
        connector.stop()
    assert "LOCAL MODE" in out and "NOT authenticated" in out and f"127.0.0.1:{port}" in out


def test_a_bad_app_type_is_one_line_and_exit_2(tmp_path: Path):
    environment = {
        "PATH": "/usr/bin:/bin",
        "PRACTICE_FILE": str(tmp_path / "practice.toml"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        "MICROSOFT_APP_ID": "00000000-0000-0000-0000-0000000000aa",
        "MICROSOFT_APP_TYPE": "Everyone",
    }
    run = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "serve"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "MultiTenant" in run.stderr
    assert "Traceback" not in run.stderr
