"""records-bot db upgrade | db status: bring the database to this version's schema, or say where it stands."""

from __future__ import annotations

from pathlib import Path

import typer

db_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="Database schema: upgrade or show its status.")


def _engine():  # type: ignore[no-untyped-def]
    from bot.commands import fail
    from bot.config import SettingsError, load_env
    from bot.store import make_engine

    try:
        env = load_env()
    except SettingsError as exc:
        fail(str(exc))
    try:
        return make_engine(env.database_url)
    except Exception as exc:  # a malformed URL or a missing driver: one line, not a traceback
        fail(f"DATABASE_URL is not usable ({type(exc).__name__}): {str(exc).splitlines()[0]}")


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Create or upgrade the tables (safe to run again; it does nothing when already current)."""
    from bot.commands import fail
    from bot.db import current_revision, head_revision, upgrade
    from bot.text import say

    engine = _engine()
    try:
        before = current_revision(engine)
        upgrade(engine)
    except Exception as exc:
        fail(say("db.unreachable", error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
    typer.echo(
        say("db.upgraded", before=before, head=head_revision(), url=engine.url.render_as_string(hide_password=True))
    )


@db_app.command("status")
def status_command() -> None:
    """Show the schema version of the database and of this code."""
    from bot.commands import fail
    from bot.db import current_revision, head_revision
    from bot.text import say

    engine = _engine()
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not Path(database).exists():  # asking must not create it
        typer.echo(say("db.status", current=None, head=head_revision()))
        raise SystemExit(1)
    try:
        current = current_revision(engine)
    except Exception as exc:
        fail(say("db.unreachable", error=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"))
    head = head_revision()
    typer.echo(say("db.status", current=current, head=head))
    if current != head:
        raise SystemExit(1)


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.add_typer(db_app, name="db")
