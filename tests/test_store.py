"""The database: migrations from empty, the models match the migrations, SQLite pragmas, schema mismatch refused."""

import os
import subprocess
import sys
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from bot.db import SchemaMismatch, check_schema, head_revision, open_database, upgrade
from bot.store import make_engine

TABLES = {
    "members",
    "records_requests",
    "checklist_items",
    "consults",
    "drafts",
    "reminders",
    "flow_runs",
    "inbound_keys",
    "audit_events",
    "reference_counters",
    "outbox",
    "platform_conversations",
    "alembic_version",
}


def test_migrations_build_every_table_from_an_empty_database(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}", auto_upgrade=True)
    assert set(inspect(engine).get_table_names()) == TABLES
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diffs == [], "the models changed without a migration"


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}", auto_upgrade=True)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_database_behind_the_code_is_refused_with_the_command_to_fix_it(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with pytest.raises(SchemaMismatch, match="records-bot db upgrade"):
        check_schema(engine)
    upgrade(engine)
    check_schema(engine)  # now current: no error


def test_records_bot_db_upgrade_then_status(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "PRACTICE_FILE": str(tmp_path / "none.toml"),
    }
    run = [sys.executable, "-c", "from bot.cli import main; main()", "db"]
    before = subprocess.run([*run, "status"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert before.returncode == 1 and "records-bot db upgrade" in before.stdout
    done = subprocess.run([*run, "upgrade"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0 and head_revision() in done.stdout
    after = subprocess.run([*run, "status"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert after.returncode == 0


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL not set (no PostgreSQL)")
def test_the_same_migrations_run_on_postgresql():
    import uuid

    admin = make_engine(os.environ["TEST_DATABASE_URL"]).execution_options(isolation_level="AUTOCOMMIT")
    name = f"rb_store_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = open_database(admin.url.set(database=name).render_as_string(hide_password=False), auto_upgrade=True)
        assert set(inspect(engine).get_table_names()) == TABLES
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_failed_insert_names_no_client_details_in_its_error(tmp_path):
    from datetime import date

    from sqlalchemy.exc import IntegrityError

    from bot.store import RecordsRequest, session_scope

    engine = open_database(f"sqlite:///{tmp_path / 'new.db'}", auto_upgrade=True)
    row = {"reference": "RR-2026-0001", "received_on": date(2026, 11, 2), "due_on": date(2026, 12, 2)}
    with session_scope(engine) as session:
        session.add(RecordsRequest(client_label="AB-17", scope_note="notes 2025", **row))
    with pytest.raises(IntegrityError) as failed, session_scope(engine) as session:
        session.add(RecordsRequest(client_label="ZQ-99", scope_note="intake and sessions", **row))
    assert "ZQ-99" not in str(failed.value) and "intake and sessions" not in str(failed.value)
    assert "hidden" in str(failed.value)


def test_a_request_denied_before_its_letter_date_was_kept_on_it_gets_it_from_its_letter(tmp_path):
    from alembic import command
    from sqlalchemy import text as sql
    from sqlmodel import select

    from bot.db import alembic_config
    from bot.store import RecordsRequest, session_scope

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")  # as the database was before
        connection.execute(
            sql(
                "INSERT INTO records_requests (reference, client_label, requester_type, therapy_format, parties,"
                " received_on, access_type, form, delivery, language, third_party_direction, direction_on_file,"
                " jurisdiction, due_on, deadline, status, step, release, denial, created_at, updated_at)"
                " VALUES ('RR-2026-0001', 'AB-1', 'client', 'individual', '[]', '2026-10-01', 'copy', 'electronic',"
                " 'portal', 'en', 0, 0, 'US', '2026-10-31', '{}', 'denied', 'follow_up', '{}',"
                " '{\"grounds\": [\"endanger_life\"]}', '2026-10-01', '2026-10-01')"
            )
        )
        for sent in ("2026-10-20", "2026-10-15"):
            connection.execute(
                sql(
                    "INSERT INTO drafts (request_id, kind, language, body, created_at, sent_on)"
                    f" VALUES (1, 'denial', 'en', 'letter', '2026-10-01', '{sent}')"
                )
            )
    upgrade(engine)
    with session_scope(engine) as session:
        request = session.exec(select(RecordsRequest)).one()
        assert request.denial == {"grounds": ["endanger_life"], "sent_on": "2026-10-15"}  # the first letter's day
        assert request.answered_on == date(2026, 10, 15)  # so its follow-up reminder can be planned
    engine.dispose()
