"""Shared fixtures: a fresh, migrated SQLite database per test; a local SMTP server that keeps what it gets."""

import os
import socket
import uuid

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, make_url, text

from bot.db import open_database


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def postgres_url():
    """A new, empty PostgreSQL database for one test (skipped unless TEST_DATABASE_URL points at a server)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run when it points at a server)")
    base_url = make_url(base)
    if base_url.drivername == "postgresql":
        base_url = base_url.set(drivername="postgresql+psycopg")
    name = f"records_bot_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path):
    """The same test on a SQLite file and, when TEST_DATABASE_URL is set, on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/any.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(db_url):
    """The database at db_url, upgraded from empty by the real migrations."""
    engine = open_database(db_url, auto_upgrade=True)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_server():
    class Catcher:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Catcher()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


from tests.slack_bot import bot  # noqa: E402, F401  (the Slack service fixture, shared by the Slack test files)
