"""records-bot init: ask the practice's name, phone, state, time zone and privacy contact; write practice.toml."""

from __future__ import annotations

import sys

import typer


def init_command() -> None:
    """Set up practice.toml by answering a few questions (each checked as it is typed)."""
    from bot.commands import fail
    from bot.config import SettingsError, load_env, load_practice
    from bot.engine import Invalid
    from bot.services import practice_file
    from bot.text import say

    try:
        path = load_env().practice_file
        current = load_practice(path)
    except SettingsError as exc:
        fail(str(exc))
    typer.echo(say("setup.init_intro", path=path))
    values: dict[str, str] = {}
    for detail in practice_file.DETAILS:
        keep = _current(detail, current, values, practice_file)
        while True:
            shown = f" [{keep}]" if keep else ""
            typer.echo(f"{say('setup.label', detail=detail)} ({say('setup.hint', detail=detail)}){shown}:")
            line = sys.stdin.readline()
            if not line:
                fail(say("setup.input_ended", path=path), code=1)
            typed = line.strip() or keep or ""
            try:
                values[detail] = practice_file.read_detail(detail, typed)
                break
            except Invalid as exc:
                typer.echo(exc.reason)
    try:
        practice_file.save(path, values)
    except (SettingsError, OSError) as exc:
        fail(
            str(exc) if isinstance(exc, SettingsError) else say("setup.not_saved", path=path, error=type(exc).__name__)
        )
    typer.echo(say("setup.written", path=path))


def _current(detail, practice, values, practice_file) -> str | None:  # type: ignore[no-untyped-def]
    """What Enter keeps: the value in the file, or the defaults for state, time zone and the privacy phone."""
    contact = practice.privacy_contact
    if detail == "name":
        return practice.name if "name" in practice.model_fields_set else None
    if detail == "phone":
        return practice.phone
    if detail == "privacy_name":
        return contact.name_or_title if contact else None
    if detail == "privacy_phone":
        return contact.phone if contact else values.get("phone")
    return practice_file.default(detail, practice, values)


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("init")(init_command)
