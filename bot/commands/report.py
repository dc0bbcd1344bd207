"""records-bot report [--json]: the practice's numbers this month and this year (no client details)."""

from __future__ import annotations

import json

import typer


def report_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object, for other tools."),
) -> None:
    """Requests this month and year, on-time %, median days to release, extensions, denials, open by step, overdue."""
    from bot.context import open_context
    from bot.services.report import practice_report
    from bot.store import session_scope, utcnow
    from bot.text import say

    context = open_context()
    today = utcnow().astimezone(context.practice.tz).date()
    with session_scope(context.engine) as session:
        numbers = practice_report(session, today)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
    else:
        typer.echo(say("report.text", r=numbers, practice=context.practice.name))


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("report")(report_command)
