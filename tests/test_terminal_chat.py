"""records-bot chat as a person (or a script) uses it: a real subprocess, answers piped in one per line."""

import io
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.prompts import Prompt

TODAY = date.today()
RECEIVED = TODAY - timedelta(days=3)
PRACTICE_TOML = """
name = "Riverbend Counseling"
phone = "555-0100"
jurisdiction = "US"
timezone = "UTC"
records_channel = "#records"
[[members]]
name = "Alex"
role = "clinician"
[[members]]
name = "Dana"
role = "supervisor"
[privacy_contact]
name_or_title = "Privacy Officer"
phone = "555-0101"
[reminders]
quiet_hours_start = "00:00"
quiet_hours_end = "00:00"
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "practice.toml").write_text(PRACTICE_TOML)
    return tmp_path


def chat(workdir: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "PRACTICE_FILE", "RECORDS_BOT"))}
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "chat", *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=120,
    )


INTAKE = [
    "/records-request",
    "AB-17",
    "1",
    "1",
    "1",
    RECEIVED.isoformat(),
    "",
    "1",
    "3",
    "1",
    "40",
    "",
]  # pages, language (no summary asked)


def test_a_scripted_session_from_intake_to_release(workdir):
    script = [
        *INTAKE,
        "1",  # acknowledgement sent today
        "1",  # on track
        "",  # accept the suggested target date
        "all",  # review checklist
        "1",  # no process notes
        "1",  # no errors
        "1",  # no other people's information
        "1",  # no risk
        "none",  # no consult
        "1",  # release
        "",  # released today
        "",  # the method asked for
        "Progress notes and treatment plan",
        "",  # no fee
        "1",  # cover letter sent
        "resume RR-2026-0001",  # the follow-up reminder would ask in 30 days: answer it now
        "2",  # moved on
        "list",
        "quit",
    ]
    done = chat(workdir, script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Created RR-" in out
    assert "posted" not in out  # the terminal has no records channel, so it never says it posted there
    assert "! " not in out  # every scripted answer was taken the first time
    assert "Dear [client's name]," in out  # the acknowledgement is printed in full, never to the label
    assert "45 CFR 164.524(b)(2)" in out
    assert "That's everything for RR-" in out
    assert "You have no open records requests." in out
    assert "Traceback" not in done.stderr


def test_end_of_input_in_the_middle_of_a_question_says_so_and_fails(workdir):
    done = chat(workdir, ["/records-request", "AB-17"])
    assert done.returncode == 1
    assert "Input ended in the middle of a question" in done.stderr
    assert "Traceback" not in done.stderr


def test_quitting_and_starting_again_resumes_the_open_request(workdir):
    first = chat(workdir, [*INTAKE, "3", "quit"])  # acknowledgement: not yet
    assert first.returncode == 0, first.stderr
    assert "I'll keep it here" in first.stdout
    again = chat(workdir, ["1", "quit"])
    assert "Picking up where you left off" in again.stdout
    assert "step: acknowledge" in again.stdout
    assert "step: timeframe" in again.stdout


def test_bad_answers_are_asked_again_with_the_reason(workdir):
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    script = ["/records-request", "AB-17", "9", "1", "1", "1", "2026-02-30", tomorrow, RECEIVED.isoformat(), "quit"]
    done = chat(workdir, script)
    assert "is not one of the options" in done.stdout
    assert "is not a date" in done.stdout
    assert f"can't be after {TODAY.isoformat()}" in done.stdout


def test_acting_as_someone_not_in_the_practice_is_refused(workdir):
    done = chat(workdir, ["quit"], "--as", "Nobody")
    assert done.returncode == 2
    assert "Use one of: Alex, Dana" in done.stderr


def test_due_reminders_are_shown_when_the_chat_starts(workdir):
    old = (TODAY - timedelta(days=40)).isoformat()
    script = ["/records-request", "AB-17", "1", "1", "1", old, "", "1", "3", "1", "", "", "3", "quit"]
    assert chat(workdir, script).returncode == 0
    again = chat(workdir, ["quit"])
    assert "overdue" in again.stdout.lower()


def test_a_bad_practice_file_stops_start_up_naming_the_field(workdir):
    (workdir / "practice.toml").write_text('jurisdiction = "ZZ"\n')
    done = chat(workdir, ["quit"])
    assert done.returncode == 2
    assert "jurisdiction" in done.stderr and "US state code" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_answer_that_starts_like_a_command_is_still_an_answer(workdir):
    script = [*INTAKE, "1", "1", "", "all", "1", "1", "1", "1", "supervisor", "Dana"]  # to the consult: the supervisor
    done = chat(workdir, [*script, "Cancel RR-2026-0001 or hold it until consent arrives?", "quit"])
    assert "Asked Dana" in done.stdout  # taken as the consult question
    assert "cancelled" not in done.stdout.lower()


def test_ticking_part_of_the_checklist_keeps_the_person_on_it(workdir):
    done = chat(workdir, [*INTAKE, "1", "1", "", "1,2", "3,4,5", "quit"])
    out = done.stdout
    assert "I'll keep it here" not in out and "not something I know" not in out
    assert "Still open: Errors, if any" in out
    assert "What did the review find?" in out  # the rest ticked: on to the findings


def test_each_intake_field_is_checked_as_typed_and_back_goes_to_the_field_before(workdir):
    script = ["/records-request", "Jane Smith", "JS-1", "1", "back", "2", "1", "1", "today", "quit"]
    out = chat(workdir, script).stdout
    assert out.count("could identify the client") == 1  # said at the label, not after the twelfth field
    again = chat(workdir, ["", "1", "3", "1", "", "", "", "quit"])  # Enter: nothing typed for the scope
    assert "5 answers kept" in again.stdout  # label, requester (as corrected with back), access, format, date
    assert "Created RR-" in again.stdout


def test_back_at_the_command_line_and_inside_a_question(workdir):
    out = chat(workdir, [*INTAKE, "1", "1", "back", "/back", "1", "", "quit"]).stdout
    assert out.count("step: timeframe") >= 3  # target -> back -> timeframe; /back at timeframe -> acknowledge
    assert "won't reopen the intake" not in out


def test_the_summary_agreement_is_asked_only_for_a_summary(workdir):
    copy = chat(workdir, [*INTAKE, "quit"]).stdout
    assert "has the client agreed in advance to a summary" not in copy
    summary = ["/records-request", "CD-2", "1", "3", "1", RECEIVED.isoformat(), "", "1", "3", "1", "", "2", "", "quit"]
    out = chat(workdir, summary).stdout
    assert "has the client agreed in advance to a summary" in out and "Created RR-2026-0002" in out


def test_the_denial_form_asks_for_a_reviewer_only_for_a_reviewable_ground_and_an_outsider_only_if_chosen(tmp_path):
    from bot.adapters.terminal.chat import TerminalChat
    from tests.conversation_helpers import open_conversation

    conversation = open_conversation(tmp_path, TODAY)
    terminal = TerminalChat(conversation, "Alex", stdin=io.StringIO(""), stdout=io.StringIO())
    from flows.records_request import FLOWS  # the denial form as the flow declares it

    fields = {f.name: f for f in FLOWS["records_request"].denial_fields(ctx_for_denial(conversation))}
    form = Prompt(kind="form", text="", ref="run:1:denial:1", fields=tuple(fields.values()))
    assert not terminal.applies(form, fields["reviewer"], {"grounds": "psychotherapy_notes"})
    assert terminal.applies(form, fields["reviewer"], {"grounds": "psychotherapy_notes,endanger_life"})
    assert not terminal.applies(form, fields["outside_reviewer"], {"reviewer": "Dana"})
    assert terminal.applies(form, fields["outside_reviewer"], {"reviewer": "outside"})
    assert "letter" not in fields, "the kind of letter was chosen at the decision step"


def ctx_for_denial(conversation):  # type: ignore[no-untyped-def]
    from bot.engine import Ctx, RunState
    from bot.store import RecordsRequest

    request = RecordsRequest(reference="RR-2026-0001", client_label="AB-17", received_on=TODAY, due_on=TODAY)
    state = RunState(step="denial", answers={"decision": "partial_denial"}, version=1, status="active")
    return Ctx(practice=conversation.practice, today=TODAY, actor="Alex", run_id=1, state=state, request=request)
