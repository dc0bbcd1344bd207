"""The case file: one command gathers a request's deadlines, timeline, letters, consults, checks and delivery."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet

from bot.services.audit import record
from bot.services.export import CaseNotFound, export_case_file
from bot.services.secrets import ContactUnreadable, encrypt_contact
from bot.store import ChecklistItem, Consult, Draft, Member, RecordsRequest, session_scope
from tests.cli_helpers import run_cli

NY = ZoneInfo("America/New_York")
KEY = Fernet.generate_key()
FERNET = Fernet(KEY)

DEADLINE = {
    "received": "2026-03-02",
    "jurisdiction": "CA",
    "access": "copy",
    "due": "2026-03-17",
    "extended_due": "2026-03-17",
    "rules": [
        {
            "name": "HIPAA right of access",
            "due": "2026-04-01",
            "extended_due": "2026-05-01",
            "days": 30,
            "counting": "calendar",
            "citation": "45 CFR 164.524(b)(2)",
        },
        {
            "name": "California copies",
            "due": "2026-03-17",
            "extended_due": "2026-03-17",
            "days": 15,
            "counting": "calendar",
            "citation": "Cal. HSC 123110(b)",
        },
    ],
    "notes": ["California's 15-day rule is stricter than HIPAA's."],
}


@pytest.fixture
def case(engine):
    """A released request with a letter, a consult, checks and a timeline; some user text is hostile HTML."""
    with session_scope(engine) as session:
        dana = Member(name="Dana Reyes", role="clinician")
        sam = Member(name="Sam Ortiz", role="supervisor")
        session.add_all([dana, sam])
        session.flush()
        request = RecordsRequest(
            reference="RR-2026-0042",
            client_label="<script>alert('label')</script>",
            client_contact=encrypt_contact(FERNET, {"name": "Jordan Q", "email": "jq@example.org"}),
            received_on=date(2026, 3, 2),
            due_on=date(2026, 3, 17),
            jurisdiction="CA",
            deadline=DEADLINE,
            extension_reason="Records are stored off-site",
            extension_notice_sent_on=date(2026, 3, 10),
            extended_to=date(2026, 3, 31),
            status="released",
            owner_id=dana.id,
            released_on=date(2026, 3, 12),
            release={
                "method": "portal",
                "included": ["progress notes 2025"],
                "withheld": ["psychotherapy notes"],
                "fee": 650,
            },
            denial={},
            outcome="complaint",
            outcome_note="Client filed with the board on <b>2026-06-01</b>",
        )
        session.add(request)
        session.flush()
        session.add(
            Draft(
                request_id=request.id,
                kind="acknowledgement",
                language="en",
                body="Dear client,\n\nWe received your request on March 2. <img src=x onerror=alert(1)>\n```\n",
                created_by_id=dana.id,
                sent_on=date(2026, 3, 3),
            )
        )
        session.add(
            Consult(
                request_id=request.id,
                step="review",
                kind="supervisor",
                asked_by_id=dana.id,
                asked_member_id=sam.id,
                question="Quality read of notes before release?",
                status="answered",
                answer="can_help",
                note="Looks complete",
                asked_at=datetime(2026, 3, 5, 15, 0, tzinfo=UTC),
                answered_at=datetime(2026, 3, 5, 18, 30, tzinfo=UTC),
            )
        )
        session.add(ChecklistItem(request_id=request.id, key="notes_signed", done=True, note="All signed"))
        session.add(ChecklistItem(request_id=request.id, key="process_notes_excluded", done=False))
        record(session, request_id=request.id, actor="Dana Reyes", action="request.opened", after={"status": "open"})
        record(
            session,
            request_id=request.id,
            actor="Dana Reyes",
            action="request.released",
            before={"status": "open"},
            after={"status": "released"},
        )
    return "RR-2026-0042"


def test_the_case_file_holds_deadlines_timeline_letters_consults_checks_and_delivery(engine, case, tmp_path):
    with session_scope(engine) as session:
        md_path, html_path = export_case_file(session, case, tmp_path / "out", tz=NY)
    assert (md_path.name, html_path.name) == ("RR-2026-0042.md", "RR-2026-0042.html")
    md = md_path.read_text()
    for expected in [
        "# Case file RR-2026-0042",
        "| Status | released",
        "| Owner | Dana Reyes |",
        "45 CFR 164.524(b)(2)",
        "Cal. HSC 123110(b)",
        "May 1, 2026",
        "California's 15-day rule is stricter",
        "Reason: Records are stored off-site",
        "Written notice sent: March 10, 2026",
        "New date: March 31, 2026",
        "request.opened",
        "Status: open → released",  # plain words, never field ids
        "### Acknowledgement (en)",
        "Sent March 3, 2026.",
        "We received your request on March 2.",
        "Quality read of notes before release?",
        "Answer: can help",
        "Looks complete",
        "2026-03-05 10:00 EST",  # consult asked at 15:00 UTC, shown in the practice's zone
        "- [x] notes signed",
        "- [ ] process notes excluded",
        "Released: March 12, 2026",
        "Method: Secure portal",
        "Fee: $6.50",
        "Withheld: psychotherapy notes",
        "No denial is recorded.",
        "complaint",
        "intact, 2 events checked",
    ]:
        assert expected in md, expected
    assert "Jordan Q" not in md  # no key given: the label only


def test_the_letter_body_is_fenced_so_it_shows_verbatim_even_with_backticks(engine, case, tmp_path):
    with session_scope(engine) as session:
        md_path, _ = export_case_file(session, case, tmp_path, tz=NY)
    md = md_path.read_text()
    opened = md.index("````\nDear client,")
    assert "<img src=x onerror=alert(1)>\n```\n" in md[opened:]
    assert md.index("\n````\n", opened + 4) > md.index("<img src=x", opened)


def test_timeline_times_are_in_the_practices_time_zone(engine, case, tmp_path):
    with session_scope(engine) as session:
        md_path, _ = export_case_file(session, case, tmp_path, tz=ZoneInfo("America/Los_Angeles"))
    assert " PST |" in md_path.read_text() or " PDT |" in md_path.read_text()


def test_user_text_in_the_html_is_escaped(engine, case, tmp_path):
    with session_scope(engine) as session:
        _, html_path = export_case_file(session, case, tmp_path, tz=NY)
    html = html_path.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;label&#39;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>2026-06-01</b>" not in html
    assert "<h2>Timeline</h2>" in html and "45 CFR 164.524(b)(2)" in html


def test_with_the_key_the_contact_details_are_included(engine, case, tmp_path):
    with session_scope(engine) as session:
        md_path, html_path = export_case_file(session, case, tmp_path, fernet=FERNET, tz=NY)
    assert "| Name | Jordan Q |" in md_path.read_text()
    assert "jq@example.org" in html_path.read_text()


def test_with_the_wrong_key_the_export_says_so(engine, case, tmp_path):
    with session_scope(engine) as session, pytest.raises(ContactUnreadable):
        export_case_file(session, case, tmp_path, fernet=Fernet(Fernet.generate_key()), tz=NY)


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_the_case_file_is_readable_by_the_owner_only(engine, case, tmp_path):
    with session_scope(engine) as session:
        paths = export_case_file(session, case, tmp_path / "out", tz=NY)
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths} == {0o600}


def test_a_bare_request_exports_without_errors(engine, tmp_path):
    with session_scope(engine) as session:
        session.add(
            RecordsRequest(
                reference="RR-2026-0001", client_label="A.B.", received_on=date(2026, 1, 5), due_on=date(2026, 2, 4)
            )
        )
    with session_scope(engine) as session:
        md_path, html_path = export_case_file(session, "RR-2026-0001", tmp_path, tz=NY)
    md = md_path.read_text()
    assert "No deadline calculation is stored" in md
    assert "No extension was taken." in md
    assert "No events are recorded for this request." in md
    assert "No release is recorded." in md
    assert "No outcome is recorded yet." in md
    assert "intact, 0 events checked" in md


def test_an_unknown_reference_raises_a_lookup_error(engine, tmp_path):
    with session_scope(engine) as session, pytest.raises(LookupError, match="RR-2026-9999"):
        export_case_file(session, "RR-2026-9999", tmp_path, tz=NY)
    assert issubclass(CaseNotFound, LookupError)


def test_a_reference_that_could_escape_the_folder_is_refused(engine, tmp_path):
    with session_scope(engine) as session, pytest.raises(ValueError, match="RR-YYYY-NNNN"):
        export_case_file(session, "../../etc/passwd", tmp_path, tz=NY)


def test_cli_export_writes_both_files_into_exports_by_default(tmp_path, db_url, case):
    result = run_cli(tmp_path, db_url, "export", "RR-2026-0042")
    assert result.returncode == 0, result.stderr
    md, html = tmp_path / "exports" / "RR-2026-0042.md", tmp_path / "exports" / "RR-2026-0042.html"
    assert md.exists() and html.exists()
    assert "RR-2026-0042.md" in result.stdout and "RR-2026-0042.html" in result.stdout


def test_cli_export_honours_out(tmp_path, db_url, case):
    result = run_cli(tmp_path, db_url, "export", "RR-2026-0042", "--out", "board")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "board" / "RR-2026-0042.html").exists()


def test_cli_export_with_contact_uses_the_key(tmp_path, db_url, case):
    result = run_cli(tmp_path, db_url, "export", "RR-2026-0042", "--with-contact", RECORDS_BOT_KEY=KEY.decode())
    assert result.returncode == 0, result.stderr
    assert "Jordan Q" in (tmp_path / "exports" / "RR-2026-0042.md").read_text()


def test_cli_export_with_contact_and_the_wrong_key_says_so_in_one_line(tmp_path, db_url, case):
    other = Fernet.generate_key().decode()
    result = run_cli(tmp_path, db_url, "export", "RR-2026-0042", "--with-contact", RECORDS_BOT_KEY=other)
    assert result.returncode == 2
    assert "cannot be decrypted with this key" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_export_of_an_unknown_reference_is_one_line_and_exit_2(tmp_path, db_url, engine):
    result = run_cli(tmp_path, db_url, "export", "RR-2026-0999")
    assert result.returncode == 2
    assert result.stderr.strip() == "No records request has the reference RR-2026-0999."
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize("given", ["42", "RR-26-0042", "RR-2026-42", "../x"])
def test_cli_export_of_a_malformed_reference_shows_the_accepted_form(tmp_path, db_url, given):
    result = run_cli(tmp_path, db_url, "export", given)
    assert result.returncode == 2
    assert "RR-YYYY-NNNN" in result.stderr
    assert "Traceback" not in result.stderr
