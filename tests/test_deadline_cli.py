"""records-bot deadline, run as a real process: a clinician types the command; the bot prints the deadline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The real entry point. The callback keeps `deadline` a subcommand while it is the only command registered
# (typer otherwise promotes a lone command to the root); once the CLI has a callback this adds nothing.
ENTRY = """
from bot.cli import app
if app.registered_callback is None:
    app.callback()(lambda: None)
app()
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def records_bot(workdir: Path, *args: str, practice_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PRACTICE_FILE"}
    env["PRACTICE_FILE"] = str(practice_file or workdir / "no-such-practice.toml")
    return subprocess.run(
        [sys.executable, "-c", ENTRY, "deadline", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr and "Usage" not in run.stderr
    return lines[0]


def test_clinician_asks_for_json_and_gets_one_object_with_hipaa_defaults(workdir):
    run = records_bot(workdir, "--received", "2026-03-02", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    keys = ["received", "jurisdiction", "access", "due", "extended_due", "rules", "notes", "calendar", "extension_rule"]
    assert list(data) == keys
    assert (data["calendar"], data["extension_rule"]) == (None, "hipaa")  # calendar days only; HIPAA's extension
    assert (data["jurisdiction"], data["access"], data["due"], data["extended_due"]) == (
        "US",
        "copy",
        "2026-04-01",
        "2026-05-01",
    )
    assert set(data["rules"][0]) == {"name", "due", "extended_due", "days", "counting", "citation"}


def test_clinician_asks_in_lowercase_for_california_inspection_and_reads_a_summary(workdir):
    run = records_bot(workdir, "--received", "2026-11-20", "--jurisdiction", "ca", "--access", "inspect")
    assert run.returncode == 0, run.stderr
    # the day after Thanksgiving is not on Cal. Gov. Code 6700's list: a working day, and the output says which calendar
    assert "Deadline: November 30, 2026." in run.stdout
    assert "Working days counted on California's statutory holidays" in run.stdout
    assert "Cal. HSC 123110(a)" in run.stdout
    assert "45 CFR 164.524(b)(2)" in run.stdout


def test_summary_output_lists_notes(workdir):
    run = records_bot(workdir, "--received", "2026-03-02", "--jurisdiction", "NY")
    assert run.returncode == 0, run.stderr
    assert "verify NY law for copies" in run.stdout


def test_jurisdiction_defaults_to_the_practice_file(workdir):
    practice = workdir / "practice.toml"
    practice.write_text('jurisdiction = "TX"\n', encoding="utf-8")
    run = records_bot(workdir, "--received", "2026-03-02", "--json", practice_file=practice)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["due"] == "2026-03-17"


def test_bad_practice_file_is_one_line_and_exit_2(workdir):
    practice = workdir / "practice.toml"
    practice.write_text('jurisdiction = "Narnia"\n', encoding="utf-8")
    line = one_error_line(records_bot(workdir, "--received", "2026-03-02", practice_file=practice))
    assert "jurisdiction" in line


def test_impossible_date_is_one_line_and_exit_2(workdir):
    line = one_error_line(records_bot(workdir, "--received", "2026-02-30"))
    assert "2026-02-30" in line and "YYYY-MM-DD" in line


def test_compact_date_is_refused_too(workdir):
    assert "YYYY-MM-DD" in one_error_line(records_bot(workdir, "--received", "20260302"))


def test_unknown_jurisdiction_is_one_line_listing_accepted_codes(workdir):
    line = one_error_line(records_bot(workdir, "--received", "2026-03-02", "--jurisdiction", "XY"))
    assert "'XY'" in line and "US" in line and "CA" in line


def test_unknown_access_is_one_line_listing_accepted_types(workdir):
    line = one_error_line(records_bot(workdir, "--received", "2026-03-02", "--access", "view"))
    assert "'view'" in line and "copy, inspect, summary" in line


def test_missing_received_exits_2_with_one_line(workdir):
    assert "--received" in one_error_line(records_bot(workdir))
