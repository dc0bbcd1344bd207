"""What every command needs: settings, the practice file, an open database with members synced."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import text
from bot.commands import fail
from bot.config import EnvSettings, PracticeSettings, SettingsError, load_env, load_practice
from bot.db import SchemaMismatch, open_database
from bot.store import PLATFORM_ID_FIELDS, Member, session_scope


@dataclass
class AppContext:
    env: EnvSettings
    practice: PracticeSettings
    engine: Engine


PLATFORM_IDS = tuple(PLATFORM_ID_FIELDS.values())


def sync_members(engine: Engine, practice: PracticeSettings) -> None:
    """Mirror the practice file's members into the members table (the file is the source of truth).

    A member is who their chat account is: matched by platform id first (so a renamed member keeps their requests,
    runs and reminders, and two members swapping names keep their own), then by name for members with no account
    matched. Names are freed before they are given out, so renames in a chain or a swap all land.
    """
    with session_scope(engine) as session:
        rows = list(session.exec(select(Member)).all())
        by_platform = {(f, getattr(m, f)): m for m in rows for f in PLATFORM_IDS if getattr(m, f)}
        by_name = {m.name: m for m in rows}
        matched: dict[int, Member] = {}
        taken: set[int | None] = set()
        for index, configured in enumerate(practice.members):
            for field in PLATFORM_IDS:
                value = getattr(configured, field)
                row = by_platform.get((field, value)) if value else None
                if row is not None and row.id not in taken:
                    matched[index] = row
                    taken.add(row.id)
                    break
        for index, configured in enumerate(practice.members):
            row = by_name.get(configured.name)
            # the same name with another chat account is another person (someone new took a former member's name)
            same_person = row is not None and all(
                not getattr(row, f) or not getattr(configured, f) or getattr(row, f) == getattr(configured, f)
                for f in PLATFORM_IDS
            )
            if index not in matched and same_person and row is not None and row.id not in taken:
                matched[index] = row
                taken.add(row.id)
        needed = {m.name for m in practice.members}
        used_ids = {(f, getattr(m, f)) for m in practice.members for f in PLATFORM_IDS if getattr(m, f)}
        for row in rows:
            if row.id in taken:
                row.name = f"~{row.id}"  # out of the way until every name is given out
            else:
                row.active = False
                if row.name in needed:  # a former member's name now belongs to someone else
                    row.name = f"{row.name} (former #{row.id})"[:80]
                for field in PLATFORM_IDS:
                    if (field, getattr(row, field)) in used_ids:
                        setattr(row, field, None)
            session.add(row)
        session.flush()
        for index, configured in enumerate(practice.members):
            row = matched.get(index) or Member(name=configured.name)
            row.name = configured.name
            for field in ("role", "licensed", *PLATFORM_IDS, "email"):
                setattr(row, field, getattr(configured, field))
            row.active = True
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
