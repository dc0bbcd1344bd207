"""Schema migrations (Alembic) and the start-up check that the database is at the code's schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.store import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaMismatch(Exception):
    """The database is not at the schema this code expects."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (from empty, too)."""
    config = alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def check_schema(engine: Engine) -> None:
    """Refuse to run against a database whose schema is not the code's."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        found = current or "an empty database"
        raise SchemaMismatch(f"The database is at {found}, this version needs {head}. Run: records-bot db upgrade")


def open_database(url: str, *, auto_upgrade: bool) -> Engine:
    """An engine for url, upgraded first when auto_upgrade (the local default), else checked."""
    engine = make_engine(url)
    if auto_upgrade:
        upgrade(engine)
    else:
        check_schema(engine)
    return engine
