"""Shared fixtures: a fresh, migrated database per test (SQLite; PostgreSQL too when TEST_DATABASE_URL is set); a
local SMTP server that keeps what it gets."""

import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import URL, create_engine, make_url, text

from bot.db import open_database

# The ~90 `records-bot` processes the tests start (CLI, chat, serve) keep the bytecode of the project's own modules
# after the first one compiles it, even on a machine that sets PYTHONDONTWRITEBYTECODE (each would compile it again).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path}/t.db"


# Migrating a database from empty costs a few hundred milliseconds on PostgreSQL (and tens on SQLite); most tests
# want a database at the code's schema, not the walk there. So each test process (each xdist worker) migrates one
# template per backend once, with the real migrations, and every test gets its own fresh copy of it. The walk from
# empty is still tested where it is the point: test_store.py, and the CLI tests that start on an empty file.


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file upgraded from empty by the real migrations, once per test process (copied, never opened)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    open_database(f"sqlite:///{path}", auto_upgrade=True).dispose()
    assert not path.with_name(path.name + "-wal").exists(), "the template is whole in its main file"
    return path


def migrated_sqlite_url(template: Path, path: Path) -> str:
    """A fresh copy of the migrated template at path (an own file: nothing is shared with another test)."""
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _postgres_base_url() -> URL | None:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return None
    url = make_url(base)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


@pytest.fixture(scope="session")
def postgres_template():
    """(admin engine, template name): a PostgreSQL database migrated once per test process, copied per test.

    The name is unique per process (xdist worker, or another checkout's run on the same server), so no two
    processes create, copy or drop the same database; only its own process connects to it, and only while
    migrating (CREATE DATABASE ... TEMPLATE refuses a template that has other connections)."""
    base_url = _postgres_base_url()
    if base_url is None:
        pytest.skip("TEST_DATABASE_URL is not set (PostgreSQL tests run when it points at a server)")
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    name = f"records_bot_tpl_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        open_database(base_url.set(database=name).render_as_string(hide_password=False), auto_upgrade=True).dispose()
        yield admin, base_url, name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_template):
    """A new PostgreSQL database for one test, at the code's schema (skipped unless TEST_DATABASE_URL is set)."""
    admin, base_url, template = postgres_template
    name = f"records_bot_{uuid.uuid4().hex}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield base_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path):
    """The same test on a SQLite file and, when TEST_DATABASE_URL is set, on a PostgreSQL database; either is new
    to this test and already at the code's schema."""
    if request.param == "sqlite":
        return migrated_sqlite_url(request.getfixturevalue("sqlite_template"), tmp_path / "any.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(db_url, sqlite_template):
    """The database at db_url: a fresh copy of the migrated template, opened as the code opens it."""
    migrated_sqlite_url(sqlite_template, Path(make_url(db_url).database))
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
from tests.teams_bot import teams  # noqa: E402, F401  (the Teams service fixture)
