"""records-bot doctor: an admin checks the set-up against a local fake Slack Web API and reads what to fix."""

from __future__ import annotations

import socket

import pytest

from bot.db import open_database
from tests.cli_helpers import run_cli
from tests.fakes.slack_api import FakeSlackAPI

PRACTICE = """
name = "Test Practice"
records_channel = "{channel}"

[[members]]
name = "Casey Clinician"
role = "clinician"
slack_user_id = "U_CLIN"

[[members]]
name = "Sam Supervisor"
role = "supervisor"
slack_user_id = "U_SUP"
"""


@pytest.fixture
def fake():
    with FakeSlackAPI() as api:
        yield api


def set_up(tmp_path, *, channel="C_RECORDS", migrated=True, extra_members=""):
    (tmp_path / "practice.toml").write_text(PRACTICE.format(channel=channel) + extra_members)
    db_url = f"sqlite:///{tmp_path / 'records.db'}"
    if migrated:
        open_database(db_url, auto_upgrade=True).dispose()
    return db_url


def run_doctor(tmp_path, db_url, fake, *args, **env):
    """records-bot doctor as an admin runs it, against the fake Slack; env overrides the good settings."""
    settings = {
        "PRACTICE_FILE": str(tmp_path / "practice.toml"),
        "SLACK_API_URL": fake.url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_APP_TOKEN": "",
        "SMTP_HOST": "",
    }
    return run_cli(tmp_path, db_url, "doctor", *args, **(settings | env))


def lines(process) -> list[str]:
    return process.stdout.strip().splitlines()


def test_a_good_set_up_passes_every_check(tmp_path, fake):
    db_url = set_up(tmp_path)
    process = run_doctor(tmp_path, db_url, fake)
    assert process.returncode == 0, process.stdout + process.stderr
    out = lines(process)
    assert [line.split()[0] for line in out[:-1]] == ["ok"] * 7
    assert "Slack accepts SLACK_BOT_TOKEN (workspace Test, bot user records)" in process.stdout
    assert "Records channel C_RECORDS: #records exists and the app is in it." in process.stdout
    assert "Member Sam Supervisor: U_SUP is u_sup on Slack." in process.stdout
    assert "is at schema" in process.stdout
    assert out[-1] == "All 7 checks passed."
    assert [c.method for c in fake.calls] == ["auth.test", "conversations.info", "users.info", "users.info"]
    assert process.stderr == ""


def test_each_problem_is_a_line_that_says_how_to_fix_it(tmp_path, fake):
    db_url = set_up(tmp_path, migrated=False, extra_members='\n[[members]]\nname = "Pat Admin"\nrole = "admin"\n')
    fake.channels["C_RECORDS"]["is_member"] = False
    fake.unknown_users.add("U_SUP")
    process = run_doctor(tmp_path, db_url, fake)
    assert process.returncode == 1
    problems = [line for line in lines(process) if line.startswith("problem")]
    assert len(problems) == 4, process.stdout
    assert (
        "Database: there is no database file yet" in process.stdout and "run records-bot db upgrade" in process.stdout
    )
    assert "the app is not in #records" in process.stdout and "/invite @records-assistant in #records" in process.stdout
    assert "Member Sam Supervisor: U_SUP is not a user of this workspace (user_not_found)" in process.stdout
    assert "Member Pat Admin: no slack_user_id" in process.stdout and "Copy member ID" in process.stdout
    assert lines(process)[-1] == "4 of 8 checks need fixing; each line above says how."
    assert not (tmp_path / "records.db").exists()  # asking did not create the database


def test_a_refused_token_is_reported_and_the_checks_that_need_it_are_skipped(tmp_path, fake):
    db_url = set_up(tmp_path)
    fake.fail_next("auth.test", error="invalid_auth")
    process = run_doctor(tmp_path, db_url, fake)
    assert process.returncode == 1
    assert "problem  Slack token: Slack refused SLACK_BOT_TOKEN (invalid_auth)" in process.stdout
    assert [c.method for c in fake.calls] == ["auth.test"]


def test_missing_slack_settings_and_an_unreachable_slack_are_problems(tmp_path, fake):
    db_url = set_up(tmp_path)
    process = run_doctor(tmp_path, db_url, fake, SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="")
    assert process.returncode == 1
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set" in process.stdout
    with socket.socket() as closed:
        # bound but not listening, held while doctor runs: refused, and no other test's server can take the port
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
        process = run_doctor(tmp_path, db_url, fake, SLACK_API_URL=nowhere)
    assert process.returncode == 1 and f"cannot reach Slack at {nowhere}/" in process.stdout
    assert "Traceback" not in process.stdout + process.stderr


def test_a_records_channel_given_by_name_is_found_and_a_wrong_one_is_not(tmp_path, fake):
    db_url = set_up(tmp_path, channel="#records")
    process = run_doctor(tmp_path, db_url, fake)
    assert process.returncode == 0, process.stdout
    assert "Records channel #records: #records exists and the app is in it." in process.stdout
    db_url = set_up(tmp_path, channel="C_GONE")
    process = run_doctor(tmp_path, db_url, fake)
    assert process.returncode == 1
    assert "Records channel C_GONE: Slack has no such channel that the app can see" in process.stdout


def test_smtp_is_checked_when_it_is_set(tmp_path, fake, smtp_server):
    db_url = set_up(tmp_path)
    _, port = smtp_server
    process = run_doctor(tmp_path, db_url, fake, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port))
    assert process.returncode == 0, process.stdout
    assert f"ok       Email (SMTP): 127.0.0.1:{port} answers." in process.stdout
    with socket.socket() as closed:  # bound, not listening, held during the run: refused, and nobody else's
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        process = run_doctor(tmp_path, db_url, fake, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port))
    assert process.returncode == 1 and f"cannot reach 127.0.0.1:{port}" in process.stdout


def test_a_broken_practice_file_is_the_one_thing_to_fix(tmp_path, fake):
    db_url = set_up(tmp_path)
    (tmp_path / "practice.toml").write_text("name = [")
    process = run_doctor(tmp_path, db_url, fake)
    assert process.returncode == 1
    assert lines(process)[0].startswith("problem  Settings:") and lines(process)[-1].startswith("1 of 1 checks")


def test_misuse_exits_2(tmp_path, fake):
    process = run_doctor(tmp_path, set_up(tmp_path), fake, "--no-such-option")
    assert process.returncode == 2
