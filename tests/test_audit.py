"""The audit trail: each event chained to the one before; verify names the first edited, deleted or moved event."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import text as sql
from sqlmodel import select

from bot.services.audit import GENESIS, append_with_retry, diff, normalise, record, verify
from bot.store import AuditEvent, RecordsRequest, session_scope
from tests.cli_helpers import run_cli


@pytest.fixture
def request_id(engine):
    with session_scope(engine) as session:
        row = RecordsRequest(
            reference="RR-2026-0042", client_label="J.D.", received_on=date(2026, 3, 2), due_on=date(2026, 4, 1)
        )
        session.add(row)
        session.flush()
        return row.id


def append_events(engine, request_id, n=5):
    for i in range(n):
        with session_scope(engine) as session:
            record(
                session,
                request_id=request_id,
                actor="dana",
                action=f"step.{i}",
                before={"step": f"s{i}"},
                after={"step": f"s{i + 1}", "on": date(2026, 3, 2 + i)},
            )


def test_the_first_event_links_to_genesis_and_each_next_to_the_one_before(engine, request_id):
    append_events(engine, request_id, 3)
    with session_scope(engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert events[0].prev_hash == GENESIS
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert events[0].after == {"step": "s1", "on": "2026-03-02"}  # dates stored as ISO strings


def test_an_untouched_trail_verifies_after_a_round_trip_through_the_database(engine, request_id):
    append_events(engine, request_id, 5)
    with session_scope(engine) as session:
        report = verify(session)
        head = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc())).first()
    assert report.ok and report.checked == 5 and report.first_bad_id is None and report.reason is None
    assert report.head_hash == head


def test_an_empty_trail_is_intact(engine):
    with session_scope(engine) as session:
        assert verify(session).ok and verify(session).checked == 0


@pytest.mark.parametrize(
    "column, value",
    [
        ("action", "'released'"),
        ("actor", "'mallory'"),
        ("before", """'{"step": "s9"}'"""),
        ("after", """'{"step": "s1", "on": "2026-03-01"}'"""),
        ("request_id", "NULL"),
        ("at", "'2026-01-01 00:00:00.000000'"),
        ("hash", "'" + "a" * 64 + "'"),
    ],
)
def test_someone_edits_one_field_of_a_middle_event_and_verify_names_it(engine, request_id, column, value):
    append_events(engine, request_id, 5)
    with engine.begin() as connection:
        connection.execute(sql(f"UPDATE audit_events SET {column} = {value} WHERE id = 3"))
    with session_scope(engine) as session:
        report = verify(session)
    assert not report.ok
    assert report.first_bad_id == 3
    assert report.reason == "content_changed"
    assert report.checked == 3


def test_someone_deletes_a_middle_event_and_verify_names_the_one_after_it(engine, request_id):
    append_events(engine, request_id, 5)
    with engine.begin() as connection:
        connection.execute(sql("DELETE FROM audit_events WHERE id = 3"))
    with session_scope(engine) as session:
        report = verify(session)
    assert (report.ok, report.first_bad_id, report.reason) == (False, 4, "link_broken")
    assert report.first_bad_action == "step.3"


def test_deleting_the_first_event_is_caught(engine, request_id):
    append_events(engine, request_id, 3)
    with engine.begin() as connection:
        connection.execute(sql("DELETE FROM audit_events WHERE id = 1"))
    with session_scope(engine) as session:
        report = verify(session)
    assert (report.ok, report.first_bad_id, report.reason) == (False, 2, "link_broken")


def test_deleting_the_last_event_leaves_a_valid_chain_but_the_head_hash_changes(engine, request_id):
    """A chain alone cannot show a missing tail; the head hash noted elsewhere can."""
    append_events(engine, request_id, 4)
    with session_scope(engine) as session:
        head_before = verify(session).head_hash
    with engine.begin() as connection:
        connection.execute(sql("DELETE FROM audit_events WHERE id = 4"))
    with session_scope(engine) as session:
        report = verify(session)
    assert report.ok and report.checked == 3
    assert report.head_hash != head_before


def test_someone_swaps_two_events_and_verify_names_the_first_moved_one(engine, request_id):
    append_events(engine, request_id, 5)
    with engine.begin() as connection:
        connection.execute(sql("UPDATE audit_events SET id = -1 WHERE id = 2"))
        connection.execute(sql("UPDATE audit_events SET id = 2 WHERE id = 3"))
        connection.execute(sql("UPDATE audit_events SET id = 3 WHERE id = -1"))
    with session_scope(engine) as session:
        report = verify(session)
    assert (report.ok, report.first_bad_id, report.reason) == (False, 2, "link_broken")


def test_someone_inserts_a_forged_event_in_the_middle_and_verify_names_it(engine, request_id):
    append_events(engine, request_id, 3)
    with engine.begin() as connection:
        connection.execute(sql("UPDATE audit_events SET id = 10 WHERE id = 3"))
        connection.execute(
            sql(
                "INSERT INTO audit_events (id, request_id, actor, at, action, before, after, prev_hash, hash) "
                "VALUES (3, :rid, 'mallory', '2026-03-03 10:00:00.000000', 'released', '{}', '{}', :prev, :hash)"
            ),
            {"rid": request_id, "prev": "f" * 64, "hash": "e" * 64},
        )
    with session_scope(engine) as session:
        report = verify(session)
    assert (report.ok, report.first_bad_id, report.reason) == (False, 3, "link_broken")


def test_record_runs_inside_the_callers_transaction_and_rolls_back_with_it(engine, request_id):
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        record(session, request_id=request_id, actor="dana", action="status.changed")
        raise RuntimeError("the change it described failed")
    with session_scope(engine) as session:
        assert session.exec(select(AuditEvent)).all() == []


def test_two_writers_appending_at_once_keep_the_chain_intact(engine, request_id):
    per_thread, errors = 20, []
    start = threading.Barrier(2)

    def writer(name):
        try:
            start.wait()
            for i in range(per_thread):
                append_with_retry(engine, request_id=request_id, actor=name, action=f"{name}.{i}", attempts=50)
        except Exception as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("dana", "lee")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with session_scope(engine) as session:
        report = verify(session)
        events = session.exec(select(AuditEvent)).all()
    assert report.ok and report.checked == 2 * per_thread
    assert len({e.prev_hash for e in events}) == 2 * per_thread


def test_append_with_retry_commits_the_change_and_the_event_together(engine, request_id):
    def close(session):
        row = session.get(RecordsRequest, request_id)
        row.status = "closed"
        session.add(row)

    event = append_with_retry(
        engine, request_id=request_id, actor="dana", action="status.changed", change=close, after={"status": "closed"}
    )
    with session_scope(engine) as session:
        assert session.get(RecordsRequest, request_id).status == "closed"
        assert session.get(AuditEvent, event.id).after == {"status": "closed"}


def test_diff_keeps_only_the_fields_that_changed():
    before = {"status": "open", "due_on": date(2026, 4, 1), "owner": "dana", "gone": 1}
    after = {"status": "released", "due_on": date(2026, 4, 1), "owner": "dana", "new": [1, 2]}
    assert diff(before, after) == ({"status": "open", "gone": 1}, {"status": "released", "new": [1, 2]})
    assert diff({"on": date(2026, 4, 1)}, {"on": "2026-04-01"}) == ({}, {})


def test_normalise_gives_what_the_json_column_gives_back():
    assert normalise({"on": date(2026, 3, 2), "tags": ("a", "b"), 3: None}) == {
        "on": "2026-03-02",
        "tags": ["a", "b"],
        "3": None,
    }
    with pytest.raises(ValueError):
        normalise({"x": float("nan")})


def test_cli_audit_verify_on_an_intact_trail_exits_0(tmp_path, db_url, engine, request_id):
    append_events(engine, request_id, 4)
    result = run_cli(tmp_path, db_url, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "Audit trail intact: 4 events checked." in result.stdout


def test_cli_audit_verify_names_the_first_bad_event_and_exits_1(tmp_path, db_url, engine, request_id):
    append_events(engine, request_id, 4)
    with engine.begin() as connection:
        connection.execute(sql("UPDATE audit_events SET action = 'released' WHERE id = 2"))
    result = run_cli(tmp_path, db_url, "audit", "verify")
    assert result.returncode == 1
    assert "#2" in result.stdout and "released" in result.stdout
    assert "changed after it was written" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_audit_verify_with_a_noted_hash_catches_events_removed_from_the_end(tmp_path, db_url, engine, request_id):
    append_events(engine, request_id, 4)
    with session_scope(engine) as session:
        noted = verify(session).head_hash
    append_events(engine, request_id, 1)  # later work: the noted hash is still in the trail
    assert run_cli(tmp_path, db_url, "audit", "verify", "--expect-head", noted).returncode == 0
    with engine.begin() as connection:
        connection.execute(sql("DELETE FROM audit_events WHERE id >= 4"))  # the tail goes, the chain still links
    assert run_cli(tmp_path, db_url, "audit", "verify").returncode == 0  # the chain alone cannot tell
    result = run_cli(tmp_path, db_url, "audit", "verify", "--expect-head", noted)
    assert result.returncode == 1 and "no longer in it" in result.stdout
