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
        rows = list(session.exec(select(Member)).all())
        existing = {m.name: m for m in rows}
        by_platform = {(f, getattr(m, f)): m for m in rows for f in ("slack_user_id", "teams_user_id") if getattr(m, f)}
        renamed = []
        for configured in practice.members:
            # a member is who their chat account is: renamed in practice.toml, they keep their requests and runs
            row = next(
                (
                    by_platform[(f, getattr(configured, f))]
                    for f in ("slack_user_id", "teams_user_id")
                    if getattr(configured, f) and (f, getattr(configured, f)) in by_platform
                ),
                None,
            )
            if row is not None and row.name != configured.name and configured.name not in existing:
                existing.pop(row.name, None)
                renamed.append((row, configured.name))
                row.name = "~" + row.name[:78]  # out of the way of the unique name until every rename is known
                session.add(row)
                session.flush()
            else:
                row = existing.pop(configured.name, None) or Member(name=configured.name)
            for field in ("role", "licensed", "slack_user_id", "teams_user_id", "email"):
                setattr(row, field, getattr(configured, field))
            row.active = True
            session.add(row)
        for gone in existing.values():
            if gone not in (r for r, _ in renamed):
                gone.active = False
                session.add(gone)
        for row, name in renamed:
            row.name = name
            session.add(row)


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
