"""Shared fixtures: a fresh, migrated SQLite database per test."""

import pytest

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
