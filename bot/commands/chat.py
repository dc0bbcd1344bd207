"""records-bot chat: the assistant in the terminal, on the local SQLite file, no accounts needed."""

from __future__ import annotations

import os

import typer


def send_now(context, conversation):  # type: ignore[no-untyped-def]
    """Send what an answer queued for email right away (the terminal has no background sender): the problems."""
    import asyncio

    from bot.delivery.email import email_transports
    from bot.delivery.sender import OutboxSender
    from bot.text import say

    transports = email_transports(context.env)
    if not transports:
        return None
    sender = OutboxSender(context.engine, conversation.router, transports, worker=f"chat-{os.getpid()}")

    def run() -> list[str]:
        report = asyncio.run(sender.send_due())
        return [
            say("terminal.not_delivered", to=row.destination, reason=reason, given_up=given_up)
            for row, reason, given_up in report.problems
        ]

    return run


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""

    @app.command("chat")
    def chat(
        as_member: str = typer.Option(None, "--as", help="Act as this practice member (a name from practice.toml)."),
    ) -> None:
        """Talk to the assistant in this terminal. Type /records-request to start; 'help' for more."""
        from bot.adapters.terminal.chat import InputEnded, TerminalChat
        from bot.commands import fail
        from bot.context import open_context
        from bot.services import reminders
        from bot.services.conversation import Conversation
        from bot.store import utcnow
        from bot.text import say

        context = open_context()
        practice = context.practice
        if as_member is None:
            clinicians = [m for m in practice.members if m.role == "clinician"]
            actor = (clinicians or practice.members)[0].name
        else:
            member = practice.member(as_member)
            if member is None:
                fail(say("terminal.unknown_member", given=as_member, names=[m.name for m in practice.members]))
            actor = member.name
        if not context.env.practice_file.exists():
            typer.echo(say("terminal.no_practice_file", path=str(context.env.practice_file)))

        conversation = Conversation(context.engine, practice, env=context.env)

        if not conversation.router.platforms:
            # no chat platform: nothing is posted to a records channel, so nothing may say it was
            conversation.practice = practice.model_copy(update={"records_channel": ""})

        def sweep(deliver):  # type: ignore[no-untyped-def]
            # with a chat platform set up, reminders go there (a running `serve` sends them); else to this screen
            target = conversation.router if conversation.router.platforms else deliver
            reminders.sweep(context.engine, practice, target, now=utcnow(), worker=f"chat-{os.getpid()}")

        terminal = TerminalChat(conversation, actor, sweep=sweep, send_now=send_now(context, conversation))
        try:
            code = terminal.run()
        except InputEnded:
            fail(say("terminal.input_ended"), code=1)
        except KeyboardInterrupt:
            typer.echo("")
            code = 0
        raise SystemExit(code)
