"""A newcomer's first run: no practice.toml, the details asked once, a release and a denial that finish."""

import tomllib
from datetime import date, timedelta

import pytest

from bot.services import practice_file
from tests.cli_helpers import run_cli
from tests.test_terminal_chat import chat

RECEIVED = (date.today() - timedelta(days=3)).isoformat()
DETAILS = ["Riverbend Counseling", "12", "555-0100", "", "Pacific", "Privacy Officer", ""]  # "12": asked again
INTAKE = ["AB-17", "1", "1", "1", RECEIVED, "", "1", "3", "1", "40", ""]  # pages, language (no summary asked)
TO_DECISION = ["1", "1", "", "all", "1", "1", "1"]  # acknowledged, on track, target, checklist, findings so far
RELEASE = ["1", "none", "1", "", "", "Progress notes", "", "1", "2"]  # no risk, no consult, release, letter sent
DENIAL = [
    "2",
    "none",
    "2",
    "4",
    "Safety plan details",
    "",
    "1",
    "Dr. Lee, PsyD",
    "1",
    "resume RR-2026-0001",
    "2",
]  # letter: chosen just before; the follow-up, asked for sooner than its reminder


@pytest.fixture
def newcomer(tmp_path):
    return tmp_path  # a fresh folder: no practice.toml, no database


def test_a_first_run_with_no_practice_file_asks_the_details_once_and_finishes_a_release(newcomer):
    done = chat(newcomer, ["/records-request", *DETAILS, *INTAKE, *TO_DECISION, *RELEASE, "quit"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Before the first letter, a few details about your practice" in out
    assert '"12" is not a phone number' in out  # checked as typed, asked again
    assert "Saved to practice.toml" in out
    assert "can't be drafted yet" not in out
    assert "please contact Riverbend Counseling at 555-0100" in out  # the acknowledgement
    assert "That's the release done for RR-2026-0001" in out  # released with its cover letter
    assert "posted" not in out  # the terminal has no records channel and never claims one
    saved = tomllib.loads((newcomer / "practice.toml").read_text())
    assert saved["name"] == "Riverbend Counseling" and saved["timezone"] == "America/Los_Angeles"
    assert saved["privacy_contact"] == {"name_or_title": "Privacy Officer", "phone": "555-0100"}
    assert "Traceback" not in done.stderr


def test_the_next_request_is_not_asked_again_and_a_denial_gets_its_letter(newcomer):
    chat(newcomer, ["/records-request", *DETAILS, "quit"])
    done = chat(newcomer, [*INTAKE, *TO_DECISION, *DENIAL, "quit"])
    out = done.stdout
    assert "a few details about your practice" not in out
    assert "Here is the denial letter" in out
    assert "Privacy Officer at 555-0100" in out  # who takes complaints, in the letter
    assert "That's the denial letter sent for RR-2026-0001. I'll check in on" in out  # not asked seconds later
    assert "That's everything for RR-2026-0001" in out


def test_records_bot_init_checks_each_answer_and_writes_the_file(newcomer):
    answers = "Calm Waters\n555\n555-0100\nZZ\nny\nAmerica\nCentral\nOffice Manager\n\n"
    done = run_cli_with_input(newcomer, answers, "init")
    assert done.returncode == 0, done.stderr
    assert '"555" is not a phone number' in done.stdout
    assert '"ZZ" is not a state code' in done.stdout
    assert '"America" is not a time zone' in done.stdout
    saved = tomllib.loads((newcomer / "practice.toml").read_text())
    assert saved == {
        "name": "Calm Waters",
        "phone": "555-0100",
        "jurisdiction": "NY",
        "timezone": "America/Chicago",
        "privacy_contact": {"name_or_title": "Office Manager", "phone": "555-0100"},
    }
    again = run_cli_with_input(newcomer, "\n\n\n\n\n\n", "init")  # Enter keeps every value
    assert tomllib.loads((newcomer / "practice.toml").read_text()) == saved, again.stdout


def test_init_stopped_half_way_changes_nothing(newcomer):
    done = run_cli_with_input(newcomer, "Calm Waters\n", "init")
    assert done.returncode == 1
    assert "was not changed" in done.stderr and "Traceback" not in done.stderr
    assert not (newcomer / "practice.toml").exists()


@pytest.mark.parametrize("zone", ["Pacific", "America", "Mars/Olympus"])
def test_a_time_zone_that_is_not_one_stops_start_up_with_one_line(newcomer, zone):
    (newcomer / "practice.toml").write_text(f'timezone = "{zone}"\n')
    done = chat(newcomer, ["quit"])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "timezone" in lines[0] and "America/Chicago" in lines[0]


def test_a_practice_file_that_is_a_folder_is_one_line_too(newcomer):
    (newcomer / "practice.toml").mkdir()
    done = chat(newcomer, ["quit"])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "practice.toml" in done.stderr


def test_saving_details_keeps_the_rest_of_the_file_and_its_comments(tmp_path):
    path = tmp_path / "practice.toml"
    path.write_text(
        '# our settings\nname = "Old"   # shown on letters\nlanguage = "es"\n\n[[members]]\nname = "Alex"\n'
    )
    practice = practice_file.save(path, {"name": "New", "privacy_name": "Privacy Officer", "privacy_phone": "555-0101"})
    text = path.read_text()
    assert text.startswith('# our settings\nname = "New"\nlanguage = "es"')
    assert practice.language == "es" and [m.name for m in practice.members] == ["Alex"]
    assert practice.privacy_contact.phone == "555-0101"


def run_cli_with_input(folder, text, *args):
    """records-bot <args> in folder with `text` typed in, its practice file the folder's own."""
    db_url = f"sqlite:///{folder / 'records-bot.db'}"
    return run_cli(folder, db_url, *args, typed=text, PRACTICE_FILE=str(folder / "practice.toml"))


def test_a_denial_form_sent_without_a_ground_asks_for_the_ground_again_not_in_a_loop(newcomer):
    empty_ground = ["2", "none", "2", "", "Safety plan details", ""]  # risk, no consult, deny; Enter at the grounds
    fixed = ["4", "1", "Dr. Lee, PsyD"]  # the ground asked again, then the reviewer it now needs
    out = chat(newcomer, ["/records-request", *DETAILS, *INTAKE, *TO_DECISION, *empty_ground, *fixed, "quit"]).stdout
    assert out.count("Pick at least one ground.") == 1
    after = out.split("Pick at least one ground.")[1]
    assert after.index("Grounds for withholding") < after.index("Reviewing official"), "the ground first, then on"
    assert "Here is the denial letter" in out
