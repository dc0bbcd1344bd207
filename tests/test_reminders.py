"""Reminders as rows: the ladder is planned once, each sweep sends exactly what is due, decided at send time."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.config import PracticeSettings
from bot.context import sync_members
from bot.db import open_database
from bot.prompts import Outbound
from bot.services.reminders import claim_due, plan_reminders, snooze, sweep
from bot.store import AuditEvent, Member, RecordsRequest, Reminder, session_scope

PRACTICE = {
    "name": "Maple Street Therapy",
    "timezone": "America/New_York",
    "records_channel": "#records-requests",
    "members": [
        {"name": "Dana", "role": "clinician"},
        {"name": "Sam", "role": "supervisor"},
        {"name": "Lee", "role": "clinician"},
    ],
    "privacy_contact": {"name_or_title": "Privacy Officer", "phone": "555-0100"},
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Inbox:
    """Collects what the sweep delivers, like a fake Slack would."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def __call__(self, outbound: Outbound) -> None:
        self.sent.append(outbound)

    def take(self) -> list[tuple[str, str]]:
        got = [(o.target, o.prompts[0].text) for o in self.sent]
        self.sent.clear()
        return got


@pytest.fixture
def practice() -> PracticeSettings:
    return PracticeSettings.model_validate(PRACTICE)


@pytest.fixture
def engine(tmp_path, practice):
    engine = open_database(f"sqlite:///{tmp_path / 'bot.db'}", auto_upgrade=True)
    sync_members(engine, practice)
    yield engine
    engine.dispose()


def new_request(engine, practice, *, reference="RR-2026-0001", owner="Dana", **changes) -> int:
    with session_scope(engine) as session:
        owner_id = session.exec(select(Member.id).where(Member.name == owner)).one() if owner else None
        fields = {
            "due_on": date(2026, 12, 31),
            "extended_due_on": date(2027, 1, 30),
            "deadline": {"due": "2026-12-31", "extended_due": "2027-01-30"},
            "step": "review",
        } | changes
        request = RecordsRequest(
            reference=reference, client_label="J.D.", received_on=date(2026, 12, 1), owner_id=owner_id, **fields
        )
        session.add(request)
        session.flush()
        plan_reminders(session, request, practice)
        return request.id


def change(engine, practice, request_id: int, *, replan: bool = True, **changes) -> None:
    with session_scope(engine) as session:
        request = session.get(RecordsRequest, request_id)
        for name, value in changes.items():
            setattr(request, name, value)
        session.add(request)
        if replan:
            plan_reminders(session, request, practice)


def keys(engine) -> dict[str, tuple[datetime, str]]:
    with session_scope(engine) as session:
        return {r.dedupe_key: (r.due_at, r.status) for r in session.exec(select(Reminder)).all()}


def test_the_default_ladder_for_a_request_received_on_1_december(engine, practice):
    rid = new_request(engine, practice)
    planned = keys(engine)
    # 9:00 in New York is 14:00 UTC in winter
    assert {k: v[0] for k, v in planned.items()} == {
        f"{rid}:ack": at("2026-12-03T14:00"),
        f"{rid}:before:10:2026-12-31": at("2026-12-21T14:00"),
        f"{rid}:before:5:2026-12-31": at("2026-12-26T14:00"),
        f"{rid}:before:2:2026-12-31": at("2026-12-29T14:00"),
        f"{rid}:before:0:2026-12-31": at("2026-12-31T14:00"),
        f"{rid}:extension:2026-12-31": at("2026-12-26T14:00"),
        f"{rid}:overdue:2027-01-01": at("2027-01-01T14:00"),
    }
    with session_scope(engine) as session:
        plan_reminders(session, session.get(RecordsRequest, rid), practice)  # again: nothing new
    assert keys(engine) == planned


def test_each_sweep_sends_exactly_what_is_due_and_overdue_escalates(engine, practice):
    new_request(engine, practice)
    inbox = Inbox()

    assert sweep(engine, practice, inbox, now=at("2026-12-02T15:00"), worker="w").claimed == 0
    report = sweep(engine, practice, inbox, now=at("2026-12-03T15:00"), worker="w")
    assert (report.claimed, report.sent) == (1, 1)
    got = inbox.take()
    assert [t for t, _ in got] == ["#records-requests", "Dana"]
    assert "RR-2026-0001" in got[0][1] and "acknowledgement" in got[0][1]
    assert all("J.D." not in body for _, body in got)  # the client's label never leaves the database

    assert sweep(engine, practice, inbox, now=at("2026-12-03T16:00"), worker="w").claimed == 0  # sent once only

    sweep(engine, practice, inbox, now=at("2026-12-21T14:00"), worker="w")
    got = inbox.take()
    assert [t for t, _ in got] == ["#records-requests", "Dana"]
    assert "in 10 days, on December 31, 2026" in got[0][1]

    report = sweep(engine, practice, inbox, now=at("2026-12-26T14:30"), worker="w")
    assert report.sent == 2  # five days before, and the extension window closing
    bodies = [b for _, b in inbox.take()]
    assert any("extension notice closes on December 31, 2026" in b for b in bodies)
    assert any("in 5 days" in b for b in bodies)

    sweep(engine, practice, inbox, now=at("2026-12-29T15:00"), worker="w")
    assert "in 2 days" in inbox.take()[0][1]
    sweep(engine, practice, inbox, now=at("2026-12-31T15:00"), worker="w")
    assert "due today (December 31, 2026)" in inbox.take()[0][1]

    sweep(engine, practice, inbox, now=at("2027-01-01T15:00"), worker="w")
    got = inbox.take()
    assert [t for t, _ in got] == ["#records-requests", "Dana", "Sam"]
    assert "1 day past its deadline" in got[0][1] and "Privacy Officer (555-0100)" in got[0][1]
    assert "supervisor" in got[2][1]

    sweep(engine, practice, inbox, now=at("2027-01-02T15:00"), worker="w")  # and again the next day
    got = inbox.take()
    assert "2 days past its deadline" in got[0][1] and [t for t, _ in got] == ["#records-requests", "Dana", "Sam"]


def test_a_released_request_gets_no_deadline_reminders_only_the_follow_up(engine, practice):
    rid = new_request(engine, practice)
    change(engine, practice, rid, status="released", released_on=date(2026, 12, 10), acknowledged_on=date(2026, 12, 2))
    inbox = Inbox()
    for moment in ("2026-12-03T15:00", "2026-12-21T15:00", "2026-12-26T15:00", "2027-01-02T15:00"):
        sweep(engine, practice, inbox, now=at(moment), worker="w")
    assert inbox.take() == []
    assert {status for _, status in keys(engine).values()} == {"skipped", "pending"}  # the follow-up waits

    report = sweep(engine, practice, inbox, now=at("2027-01-09T15:00"), worker="w")
    assert report.sent == 1
    assert "went out on December 10, 2026" in inbox.take()[0][1]


def test_an_extended_request_skips_the_old_ladder_and_follows_the_new_deadline(engine, practice):
    rid = new_request(engine, practice, acknowledged_on=date(2026, 12, 2))
    change(engine, practice, rid, extended_to=date(2027, 1, 30), extension_notice_sent_on=date(2026, 12, 20))
    inbox = Inbox()
    for moment in ("2026-12-21T15:00", "2026-12-26T15:00", "2027-01-01T15:00"):
        sweep(engine, practice, inbox, now=at(moment), worker="w")
    assert inbox.take() == []  # the old 10/5-day, extension-window and overdue reminders are all stale

    sweep(engine, practice, inbox, now=at("2027-01-20T15:00"), worker="w")
    assert "in 10 days, on January 30, 2027" in inbox.take()[0][1]


def test_an_extension_recorded_without_replanning_is_still_caught_at_send_time(engine, practice):
    rid = new_request(engine, practice, acknowledged_on=date(2026, 12, 2))
    change(
        engine, practice, rid, replan=False, extended_to=date(2027, 1, 30), extension_notice_sent_on=date(2026, 12, 20)
    )
    inbox = Inbox()
    report = sweep(engine, practice, inbox, now=at("2026-12-21T15:00"), worker="w")
    assert (report.sent, report.skipped) == (0, 1)
    assert f"{rid}:before:10:2027-01-30" in keys(engine)  # the stale row re-planned the ladder


def test_quiet_hours_hold_dms_until_morning_but_not_overdue_ones(engine):
    practice = PracticeSettings.model_validate({**PRACTICE, "reminders": {"send_hour": 22}})
    new_request(engine, practice)
    inbox = Inbox()
    # 22:00 in New York on 3 December is 03:00 UTC on the 4th
    report = sweep(engine, practice, inbox, now=at("2026-12-04T03:30"), worker="w")
    assert (report.sent, report.deferred) == (0, 1)
    assert [t for t, _ in inbox.take()] == ["#records-requests"]
    assert keys(engine)["1:ack"] == (at("2026-12-04T13:00"), "pending")  # 08:00 New York

    assert sweep(engine, practice, inbox, now=at("2026-12-04T12:00"), worker="w").claimed == 0
    report = sweep(engine, practice, inbox, now=at("2026-12-04T13:05"), worker="w")
    assert report.sent == 1
    assert [t for t, _ in inbox.take()] == ["Dana"]  # the channel post is not repeated

    change(engine, practice, 1, acknowledged_on=date(2026, 12, 4))
    sweep(engine, practice, inbox, now=at("2026-12-31T23:00"), worker="w")
    inbox.take()
    sweep(engine, practice, inbox, now=at("2027-01-02T03:30"), worker="w")  # overdue at 22:30 local
    assert [t for t, _ in inbox.take()] == ["#records-requests", "Dana", "Sam"]


def test_a_worker_that_dies_mid_send_leaves_a_lease_that_expires(engine, practice):
    new_request(engine, practice)
    moment = at("2026-12-03T15:00")
    claimed = claim_due(engine, worker="doomed", now=moment, lease=timedelta(minutes=2))
    assert [r.kind for r in claimed] == ["ack"]  # ... and the worker dies before marking it

    inbox = Inbox()
    assert sweep(engine, practice, inbox, now=moment + timedelta(minutes=1), worker="w").claimed == 0
    report = sweep(engine, practice, inbox, now=moment + timedelta(minutes=3), worker="w")
    assert (report.claimed, report.sent) == (1, 1)
    with session_scope(engine) as session:
        row = session.exec(select(Reminder).where(Reminder.kind == "ack")).one()
        assert (row.status, row.attempts, row.claimed_by) == ("sent", 2, None)


def test_a_failed_delivery_is_retried_later_without_repeating_what_went_out(engine, practice):
    new_request(engine, practice)
    calls: list[str] = []

    def flaky(outbound: Outbound) -> None:
        calls.append(outbound.target)
        if outbound.target == "Dana" and calls.count("Dana") == 1:
            raise ConnectionError("slack said 500")

    report = sweep(engine, practice, flaky, now=at("2026-12-03T15:00"), worker="w")
    assert (report.sent, report.retried) == (0, 1)
    due_at, status = keys(engine)["1:ack"]
    assert status == "pending" and due_at > at("2026-12-03T15:00")
    sweep(engine, practice, flaky, now=at("2026-12-03T16:00"), worker="w")
    assert calls == ["#records-requests", "Dana", "Dana"]
    assert keys(engine)["1:ack"][1] == "sent"


def test_snooze_pushes_pending_reminders_and_is_audited(engine, practice):
    rid = new_request(engine, practice)
    with session_scope(engine) as session:
        request = session.get(RecordsRequest, rid)
        with pytest.raises(ValueError, match="reason"):
            snooze(session, request, days=3, reason="  ", actor="Dana")
        # the nudges move; the deadline-day, extension-window and overdue reminders never do
        assert snooze(session, request, days=3, reason="client asked us to wait for a new address", actor="Dana") == 4
    due = keys(engine)
    assert due[f"{rid}:ack"][0] == at("2026-12-06T14:00")
    assert due[f"{rid}:before:0:2026-12-31"][0] == at("2026-12-31T14:00")
    assert due[f"{rid}:before:2:2026-12-31"][0] == at("2026-12-31T14:00")  # moved, but never past the deadline day
    assert due[f"{rid}:overdue:2027-01-01"][0] == at("2027-01-01T14:00")
    with session_scope(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "reminders.snoozed")).one()
        assert event.actor == "Dana" and event.after["reason"].startswith("client asked")


def test_the_cli_runs_one_sweep_lists_and_snoozes(engine, practice, tmp_path, monkeypatch):
    from bot.cli import app

    new_request(engine, practice)
    (tmp_path / "practice.toml").write_text(
        "\n".join(
            [
                'timezone = "America/New_York"',
                '[[members]]\nname = "Dana"',
                '[[members]]\nname = "Sam"\nrole = "supervisor"',
                '[[members]]\nname = "Lee"',
            ]
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("PRACTICE_FILE", str(tmp_path / "practice.toml"))
    runner = CliRunner()

    result = runner.invoke(app, ["reminders", "run", "--now", "yesterday"])
    assert result.exit_code == 2 and "2026-12-01T09:00:00Z" in result.output

    result = runner.invoke(app, ["reminders", "list", "--due-before", "2026-12-22T00:00:00Z"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        len(lines) == 2
        and "acknowledgement" in lines[0]
        and "2026-12-03 09:00 EST" in lines[0]
        and "DM Dana" in lines[0]
    )

    result = runner.invoke(app, ["reminders", "run", "--now", "2026-12-03T15:00:00Z"])
    assert result.exit_code == 0, result.output
    assert "[channel #records-requests] RR-2026-0001" in result.output and "[DM Dana]" in result.output
    assert "Sweep done: 1 due, 1 sent" in result.output

    result = runner.invoke(
        app, ["reminders", "snooze", "RR-2026-0001", "--days", "2", "--reason", "on leave", "--actor", "Sam"]
    )
    assert result.exit_code == 0 and "Snoozed 3 reminders" in result.output
    result = runner.invoke(app, ["reminders", "snooze", "RR-2026-9999", "--days", "2", "--reason", "x"])
    assert result.exit_code == 2 and "No request with reference RR-2026-9999" in result.output


def test_no_extension_window_reminder_where_no_rule_allows_an_extension(engine, practice):
    rid = new_request(
        engine,
        practice,
        due_on=date(2026, 12, 16),
        extended_due_on=date(2026, 12, 16),  # e.g. California copies: 15 days, no extension
        deadline={"due": "2026-12-16", "extended_due": "2026-12-16"},
    )
    assert not [k for k in keys(engine) if k.startswith(f"{rid}:extension")]
    inbox = Inbox()
    sweep(engine, practice, inbox, now=at("2026-12-12T15:00"), worker="w")
    assert not any("extension notice" in text for _, text in inbox.take())


def test_a_long_snooze_never_pushes_warnings_past_the_deadline_whatever_the_rungs(engine, tmp_path):
    practice = PracticeSettings.model_validate({**PRACTICE, "reminders": {"before_deadline_days": [7, 3, 1]}})
    rid = new_request(engine, practice)  # due 2026-12-31: rungs 12-24, 12-28, 12-30; no deadline-day rung
    with session_scope(engine) as session:
        snooze(session, session.get(RecordsRequest, rid), days=14, reason="away", actor="Dana", practice=practice)
    due = keys(engine)
    for rung in (7, 3, 1):
        assert due[f"{rid}:before:{rung}:2026-12-31"][0] <= at("2026-12-31T14:00")


def test_after_an_extension_or_release_the_pending_list_holds_only_what_can_still_go_out(engine, practice):
    from bot.services.reminders import pending

    rid = new_request(engine, practice)
    change(engine, practice, rid, extended_to=date(2027, 1, 20), extension_notice_sent_on=date(2026, 12, 20))
    kinds = {(p.kind, p.due_at.date()) for p in pending(engine)}
    assert ("before", date(2026, 12, 21)) not in kinds  # the old deadline's rungs are gone from the list
    assert all(kind != "extension" for kind, _ in kinds)  # the one extension is taken
    change(engine, practice, rid, status="released", released_on=date(2026, 12, 28))
    assert {p.kind for p in pending(engine)} == {"followup"}


def test_reminders_run_from_cron_delivers_through_slack_like_serve(tmp_path, monkeypatch):
    from bot.cli import app
    from tests.fakes.slack_api import FakeSlackAPI

    (tmp_path / "practice.toml").write_text(
        "\n".join(
            [
                'timezone = "America/New_York"',
                'records_channel = "C_RECORDS"',
                '[[members]]\nname = "Dana"\nslack_user_id = "U_DANA"',
                '[[members]]\nname = "Sam"\nrole = "supervisor"\nslack_user_id = "U_SAM"',
            ]
        )
    )
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine = open_database(db_url, auto_upgrade=True)
    practice = PracticeSettings.model_validate(
        {"timezone": "America/New_York", "records_channel": "C_RECORDS", "members": [{"name": "Dana"}]}
    )
    sync_members(engine, practice)
    new_request(engine, practice)
    with FakeSlackAPI() as fake:
        for name, value in {
            "DATABASE_URL": db_url,
            "PRACTICE_FILE": str(tmp_path / "practice.toml"),
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": fake.url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        fake.fail_next("chat.postMessage", status=500, where={"channel": "D_DANA"})
        result = CliRunner().invoke(app, ["reminders", "run", "--now", "2026-12-03T15:00:00Z"])
        assert result.exit_code == 0, result.output
        assert "Messages: 1 sent, 1 to try again" in result.output
        assert [c.args["channel"] for c in fake.delivered()] == ["C_RECORDS"]
        time.sleep(1.3)  # the failed message waits about a second (backoff) before it is due again
        again = CliRunner().invoke(app, ["reminders", "run", "--now", "2026-12-03T15:05:00Z"])
        assert "Messages: 1 sent." in again.output, again.output
        assert sorted(c.args["channel"] for c in fake.delivered()) == ["C_RECORDS", "D_DANA"], "each once"


def test_a_copy_for_someone_else_still_waiting_on_its_signed_direction_is_named_in_the_owners_reminders(
    engine, practice
):
    direction = {"direction": {"recipient": "Dr. Lee Park", "kind": "ehr_electronic"}}
    rid = new_request(
        engine, practice, third_party_direction=True, release=direction, acknowledged_on=date(2026, 12, 2)
    )
    inbox = Inbox()
    sweep(engine, practice, inbox, now=at("2026-12-21T15:00"), worker="w")
    (channel, post), (owner, dm) = inbox.take()
    assert owner == "Dana" and "in 10 days" in dm
    assert "Before release: the client's signed, written direction for the copy to someone else is not on file" in dm
    assert "direction" not in post and "Dr. Lee Park" not in dm + post  # the channel post stays bare; no names

    change(engine, practice, rid, direction_on_file=True)  # it came in: the next reminder no longer asks for it
    sweep(engine, practice, inbox, now=at("2026-12-26T15:00"), worker="w")
    assert not any("Before release" in body for _, body in inbox.take())


def test_a_denied_request_gets_the_follow_up_counted_from_its_letter(engine, practice):
    rid = new_request(engine, practice, acknowledged_on=date(2026, 12, 2))
    change(engine, practice, rid, status="denied", denial={"grounds": ["endanger_life"], "sent_on": "2026-12-10"})
    inbox = Inbox()
    for moment in ("2026-12-21T15:00", "2026-12-31T15:00", "2027-01-02T15:00"):
        sweep(engine, practice, inbox, now=at(moment), worker="w")
    assert inbox.take() == [], "no deadline reminders once the client was answered"
    sweep(engine, practice, inbox, now=at("2027-01-09T15:00"), worker="w")  # 30 days after the letter
    (_, post), (owner, dm) = inbox.take()
    assert owner == "Dana" and "The denial letter for RR-2026-0001 went out on December 10, 2026" in dm
    assert "the decision went out on December 10, 2026" in post
