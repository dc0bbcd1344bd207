"""What every command needs: settings, the practice file, an open database with members synced."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import text
from bot.commands import fail
from bot.config import EnvSettings, PracticeSettings, SettingsError, load_env, load_practice
from bot.db import SchemaMismatch, open_database
from bot.store import Member, session_scope


@dataclass
class AppContext:
    env: EnvSettings
    practice: PracticeSettings
    engine: Engine


def sync_members(engine: Engine, practice: PracticeSettings) -> None:
    """Mirror the practice file's members into the members table (the file is the source of truth)."""
    with session_scope(engine) as session:
        existing = {m.name: m for m in session.exec(select(Member)).all()}
        for configured in practice.members:
            row = existing.pop(configured.name, None) or Member(name=configured.name)
            for field in ("role", "licensed", "slack_user_id", "teams_user_id", "email"):
                setattr(row, field, getattr(configured, field))
            row.active = True
            session.add(row)
        for gone in existing.values():
            gone.active = False
            session.add(gone)


def open_context(*, auto_upgrade: bool | None = None) -> AppContext:
    """Load settings and open the database; exits with one line naming the problem on bad settings.

    SQLite (the local default) is upgraded automatically; other databases must be upgraded
    explicitly with `records-bot db upgrade` and are refused on a schema mismatch.
    """
    try:
        env = load_env()
        practice = load_practice(env.practice_file)
    except SettingsError as exc:
        fail(str(exc))
    text.use_practice_templates(practice.templates_dir)
    if auto_upgrade is None:
        auto_upgrade = env.database_url.startswith("sqlite")
    try:
        engine = open_database(env.database_url, auto_upgrade=auto_upgrade)
    except SchemaMismatch as exc:
        fail(str(exc))
    except Exception as exc:  # an unreachable server or a bad URL: say so in one line
        fail(f"Cannot open the database at DATABASE_URL ({type(exc).__name__}): {str(exc).splitlines()[0]}")
    sync_members(engine, practice)
    return AppContext(env=env, practice=practice, engine=engine)
