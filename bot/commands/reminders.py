"""records-bot reminders: one sweep (for cron), the pending list, and snoozing a request's reminders."""

from __future__ import annotations

from datetime import datetime

import typer

reminders_app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Reminders: run one sweep and exit, list what is pending, snooze a request's reminders.",
)


def _parse_time(option: str, value: str) -> datetime:
    from bot import text
    from bot.commands import fail
    from bot.store import as_utc

    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except ValueError:
        fail(text.say("reminders.bad_time", option=option, value=value))


@reminders_app.command("run")
def run(
    now: str | None = typer.Option(
        None, "--now", help="Sweep as if it were this moment (ISO 8601, e.g. 2026-12-01T09:00:00Z)."
    ),
    worker: str | None = typer.Option(None, "--worker", help="Name this sweeper in claims (default host:pid)."),
) -> None:
    """Send every reminder that is due, once, and exit (run it from cron, or let `serve` poll)."""
    moment = _parse_time("--now", now) if now else None

    from bot import text
    from bot.context import open_context
    from bot.prompts import Outbound
    from bot.services.reminders import sweep

    ctx = open_context()

    def deliver(outbound: Outbound) -> None:
        for prompt in outbound.prompts:
            typer.echo(
                text.say(
                    "reminders.delivered", target_kind=outbound.target_kind, target=outbound.target, text=prompt.text
                )
            )

    report = sweep(ctx.engine, ctx.practice, deliver, now=moment, worker=worker)
    typer.echo(
        text.say(
            "reminders.sweep_summary",
            claimed=report.claimed,
            sent=report.sent,
            skipped=report.skipped,
            deferred=report.deferred,
            retried=report.retried,
            failed=report.failed,
            query_ms=report.query_ms,
            total_ms=report.total_ms,
        )
    )


@reminders_app.command("list")
def list_pending(
    due_before: str | None = typer.Option(
        None, "--due-before", help="Only reminders due before this moment (ISO 8601)."
    ),
) -> None:
    """Show the reminders still to go out, soonest first, in the practice's time zone."""
    cutoff = _parse_time("--due-before", due_before) if due_before else None

    from bot import text
    from bot.context import open_context
    from bot.services.reminders import pending

    ctx = open_context()
    rows = pending(ctx.engine, due_before=cutoff)
    if not rows:
        typer.echo(text.say("reminders.list_empty", due_before=due_before))
        return
    for row in rows:
        local = row.due_at.astimezone(ctx.practice.tz).strftime("%Y-%m-%d %H:%M %Z")
        typer.echo(
            text.say(
                "reminders.list_line",
                reference=row.reference,
                kind=row.kind,
                due_local=local,
                target_kind=row.target_kind,
                target=row.target,
                status=row.status,
            )
        )


@reminders_app.command("snooze")
def snooze_command(
    reference: str = typer.Argument(..., help="The request's reference, e.g. RR-2026-0042."),
    days: int = typer.Option(..., "--days", help="How many days to push its pending reminders back (1-90)."),
    reason: str = typer.Option(..., "--reason", help="Why; it goes into the audit trail."),
    actor: str | None = typer.Option(None, "--actor", help="Who is snoozing (default: your login name)."),
) -> None:
    """Push a request's pending reminders back by some days, with the reason audited."""
    import getpass

    from sqlmodel import select

    from bot import text
    from bot.commands import fail
    from bot.context import open_context
    from bot.services.reminders import snooze
    from bot.store import RecordsRequest, session_scope

    ctx = open_context()
    with session_scope(ctx.engine) as session:
        request = session.exec(
            select(RecordsRequest).where(RecordsRequest.reference == reference.strip().upper())
        ).first()
        if request is None:
            fail(text.say("reminders.unknown_reference", reference=reference))
        try:
            count = snooze(
                session, request, days=days, reason=reason, actor=actor or getpass.getuser(), practice=ctx.practice
            )
        except ValueError as exc:
            fail(str(exc))
    typer.echo(
        text.say("reminders.snoozed", reference=request.reference, count=count, days=days, reason=reason.strip())
    )


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.add_typer(reminders_app, name="reminders")
