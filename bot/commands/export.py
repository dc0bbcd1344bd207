"""records-bot export RR-YYYY-NNNN: write one request's case file (Markdown and HTML)."""

from __future__ import annotations

from pathlib import Path

import typer


def export_command(
    reference: str = typer.Argument(..., help="The request's reference, e.g. RR-2026-0042."),
    out: Path = typer.Option(Path("exports"), "--out", help="Folder to write the case file into."),
    with_contact: bool = typer.Option(
        False, "--with-contact", help="Include the client's decrypted name, email and address."
    ),
) -> None:
    """Write a request's case file for a complaint, insurer or board: timeline, letters, consults, deadlines."""
    from bot.commands import fail
    from bot.config import SettingsError
    from bot.context import open_context
    from bot.services.audit import append_with_retry
    from bot.services.export import REFERENCE_FORM, CaseNotFound, export_case_file
    from bot.services.secrets import ContactUnreadable, load_fernet
    from bot.store import session_scope
    from bot.text import say

    reference = reference.strip().upper()
    if not REFERENCE_FORM.match(reference):
        fail(say("export.bad_reference", given=reference))
    context = open_context()
    fernet = None
    if with_contact:
        try:
            fernet = load_fernet(context.env)
        except SettingsError as exc:
            fail(str(exc))
    try:
        with session_scope(context.engine) as session:
            md_path, html_path = export_case_file(session, reference, out, fernet=fernet, tz=context.practice.tz)
    except CaseNotFound:
        fail(say("export.not_found", reference=reference))
    except ContactUnreadable:
        fail(say("export.contact_unreadable"))
    # who exported health information, and when, belongs in the trail too
    append_with_retry(
        context.engine,
        request_id=None,
        actor="records-bot export",
        action="case_file.exported",
        after={"reference": reference, "with_contact": with_contact},
    )
    typer.echo(say("export.written", md_path=md_path, html_path=html_path))


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("export")(export_command)
