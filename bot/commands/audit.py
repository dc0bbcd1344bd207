"""records-bot audit verify: check the hash-chained audit trail end to end."""

from __future__ import annotations

import typer

audit_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="Check the audit trail.")


@audit_app.command("verify")
def verify_command(
    expect_head: str = typer.Option(
        None, "--expect-head", help="The latest hash you noted earlier: also catches events removed from the end."
    ),
) -> None:
    """Recompute every audit event's hash and link; exit 1 naming the first bad event."""
    from bot.context import open_context
    from bot.services.audit import verify
    from bot.store import as_utc, session_scope
    from bot.text import say

    context = open_context()
    with session_scope(context.engine) as session:
        report = verify(session)
    if report.ok and expect_head and expect_head.strip().lower() not in (report.head_hash, *known_hashes(context)):
        typer.echo(say("audit.head_missing", expected=expect_head.strip(), head_hash=report.head_hash))
        raise typer.Exit(1)
    if report.ok:
        typer.echo(say("audit.intact", checked=report.checked, head_hash=report.head_hash))
        return
    at = as_utc(report.first_bad_at).astimezone(context.practice.tz) if report.first_bad_at else None
    when = f"{at:%Y-%m-%d %H:%M} {at.tzname()}" if at else ""
    typer.echo(
        say(
            "audit.broken",
            event_id=report.first_bad_id,
            at=when,
            action=report.first_bad_action,
            reason=report.reason,
            checked=report.checked,
        )
    )
    raise typer.Exit(1)


def known_hashes(context) -> set[str]:  # type: ignore[no-untyped-def]
    """Every event hash in the trail: a hash noted earlier must still be one of them (later events may follow it)."""
    from sqlmodel import select

    from bot.store import AuditEvent, session_scope

    with session_scope(context.engine) as session:
        return set(session.exec(select(AuditEvent.hash)).all())


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.add_typer(audit_app, name="audit")
