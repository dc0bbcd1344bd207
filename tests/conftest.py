"""Shared fixtures: a fresh, migrated SQLite database per test; a local SMTP server that keeps what it gets."""

import socket

import pytest
from aiosmtpd.controller import Controller

from bot.db import open_database


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path}/t.db"


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
