"""records-bot deadline: the legal deadline for a request, with its rules, citations and notes."""

from __future__ import annotations

from datetime import date as _date

import typer

from bot.commands import fail


def deadline(
    received: str | None = typer.Option(None, "--received", help="Date the request arrived, YYYY-MM-DD."),
    jurisdiction: str | None = typer.Option(
        None, "--jurisdiction", help="US or a two-letter state code; default: the practice file's, else US."
    ),
    access: str = typer.Option("copy", "--access", help="copy, inspect or summary."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a summary."),
) -> None:
    """Show the deadline for a records request received on a given date."""
    # Imported here so the CLI starts fast for every other command.
    import json
    from datetime import date

    from bot import text
    from bot.config import SettingsError, load_env, load_practice
    from bot.domain.deadlines import UnknownAccess, UnknownJurisdiction, due_dates

    try:
        practice = load_practice(load_env().practice_file)
    except SettingsError as exc:
        fail("; ".join(str(exc).splitlines()))
    text.use_practice_templates(practice.templates_dir)

    if received is None:
        fail(text.say("deadlines.missing_received"))
    try:
        received_on = date.fromisoformat(received.strip())
    except ValueError:
        fail(text.say("deadlines.bad_received", given=received))
    # fromisoformat also takes compact and week forms (20260302, 2026-W10-1); insist on the one we document.
    if received.strip() != received_on.isoformat():
        fail(text.say("deadlines.bad_received", given=received))
    if not EARLIEST <= received_on <= LATEST:  # also keeps date arithmetic far from year 9999
        fail(text.say("deadlines.received_out_of_range", given=received, earliest=EARLIEST, latest=LATEST))

    try:
        result = due_dates(
            received_on,
            jurisdiction if jurisdiction is not None else practice.jurisdiction,
            access,
            hipaa_covered=practice.hipaa_covered_entity,
            custom_rules=practice.custom_rules,
        )
    except (UnknownJurisdiction, UnknownAccess) as exc:
        fail(str(exc))

    if as_json:
        typer.echo(json.dumps(result.to_json()))
    else:
        typer.echo(text.say("deadlines.summary", result=result))


EARLIEST, LATEST = _date(1990, 1, 1), _date(2100, 12, 31)


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("deadline")(deadline)
