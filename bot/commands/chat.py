"""records-bot chat: the assistant in the terminal, on the local SQLite file, no accounts needed."""

from __future__ import annotations

import os

import typer


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

        def sweep(deliver):  # type: ignore[no-untyped-def]
            reminders.sweep(context.engine, practice, deliver, now=utcnow(), worker=f"chat-{os.getpid()}")

        # the terminal has no records channel: nothing is posted there, so nothing may say it was
        local = practice.model_copy(update={"records_channel": ""})
        terminal = TerminalChat(Conversation(context.engine, local, env=context.env), actor, sweep=sweep)
        try:
            code = terminal.run()
        except InputEnded:
            fail(say("terminal.input_ended"), code=1)
        except KeyboardInterrupt:
            typer.echo("")
            code = 0
        raise SystemExit(code)
