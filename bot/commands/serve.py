"""records-bot serve: the Slack app (Socket Mode or HTTP /slack/events), /healthz and the reminder poller."""

from __future__ import annotations

import typer


def serve(
    port: int | None = typer.Option(
        None, "--port", help="HTTP port for /slack/events and /healthz; default: PORT or 3000."
    ),
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on."),
) -> None:
    """Run the assistant: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT at /slack/events."""
    import logging

    from bot import text
    from bot.commands import fail
    from bot.config import SettingsError, load_env
    from bot.context import open_context

    try:
        env = load_env()
    except SettingsError as exc:
        fail("; ".join(str(exc).splitlines()))
    for name, value in (("SLACK_BOT_TOKEN", env.slack_bot_token), ("SLACK_SIGNING_SECRET", env.slack_signing_secret)):
        if not value:
            fail(text.say("slack.missing_env", name=name))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = open_context()

    from bot.server import serve as run

    run(ctx, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("serve")(serve)
