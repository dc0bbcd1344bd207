"""records-bot doctor with Teams set up: what it checks without calling Microsoft, one line each, with the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.context import open_context

APP_ID = "00000000-0000-0000-0000-0000000000aa"
PRACTICE = """
name = "Test Practice"

[privacy_contact]
name_or_title = "Privacy Officer"
phone = "555-0100"

[[members]]
name = "Casey Clinician"
teams_user_id = "11111111-1111-1111-1111-111111111111"

[[members]]
name = "Olive Other"
teams_user_id = "olive@example.org"
"""


def test_doctor_says_who_has_the_app_and_that_no_channel_is_chosen(tmp_path: Path, monkeypatch):
    (tmp_path / "practice.toml").write_text(PRACTICE)
    environment = {
        "PATH": "/usr/bin:/bin",
        "PRACTICE_FILE": str(tmp_path / "practice.toml"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        "MICROSOFT_APP_ID": APP_ID,
        "MICROSOFT_APP_PASSWORD": "pw",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    ctx = open_context()  # creates and migrates the database, as serve would
    ctx.engine.dispose()
    run = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "doctor"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=60,
    )
    out = run.stdout
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "Slack" not in out  # Teams alone: no Slack checks
    assert "ok       Teams settings: MICROSOFT_APP_ID is set (MultiTenant)" in out
    assert "problem  Teams records channel: no Teams channel has been chosen yet" in out
    assert "problem  Teams member Casey Clinician: 11111111-1111-1111-1111-111111111111 has not opened the app" in out
    assert "problem  Teams member Olive Other: olive@example.org does not look like a Microsoft Entra object id" in out
