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
    """Send every reminder that is due, once, and exit (run it from cron, or let `serve` poll).

    With a chat platform set up, reminders go there, through the outbox like `serve`; without one, they are printed.
    """
    moment = _parse_time("--now", now) if now else None

    import asyncio

    from bot import text
    from bot.context import open_context
    from bot.delivery.email import email_transports
    from bot.delivery.platform import configured_platforms, create_adapters
    from bot.delivery.routing import Router
    from bot.delivery.sender import OutboxSender
    from bot.prompts import Outbound
    from bot.server import make_conversation
    from bot.services.reminders import sweep
    from bot.services.reminders.common import default_worker

    ctx = open_context()

    def deliver(outbound: Outbound) -> None:
        for prompt in outbound.prompts:
            typer.echo(
                text.say(
                    "reminders.delivered", target_kind=outbound.target_kind, target=outbound.target, text=prompt.text
                )
            )

    platforms = configured_platforms(ctx)
    if not platforms:  # no chat platform set up: this screen is where reminders go
        report = sweep(ctx.engine, ctx.practice, deliver, now=moment, worker=worker)
    else:  # the same path as `serve`: messages written to the outbox, then sent through each platform
        conversation = make_conversation(ctx)
        adapters = create_adapters(ctx, conversation)
        router = Router(ctx.practice, tuple(a.platform for a in adapters))
        report = sweep(ctx.engine, ctx.practice, router, now=moment, worker=worker)
        transports = {a.platform: a.transport for a in adapters} | email_transports(ctx.env)
        sender = OutboxSender(ctx.engine, router, transports, worker=worker or default_worker())
        sent = asyncio.run(_send(sender, adapters))
        typer.echo(text.say("reminders.outbox_summary", sent=sent.sent, retried=sent.retried, failed=sent.failed))
        for row, reason, given_up in sent.problems:
            typer.echo(text.say("reminders.not_delivered", to=row.destination, reason=reason, given_up=given_up))
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


async def _send(sender, adapters):  # type: ignore[no-untyped-def]
    """One pass of the outbox (what is due now, this sweep's messages included), then close the clients."""
    try:
        return await sender.send_due()
    finally:
        for adapter in adapters:
            await adapter.stop()


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
