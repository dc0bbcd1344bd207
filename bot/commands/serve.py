"""records-bot serve: every configured chat platform, /healthz, the outbox sender and the reminder poller."""

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
    if bool(env.slack_bot_token) != bool(env.slack_signing_secret):  # half a Slack set-up: say which half is missing
        missing = "SLACK_SIGNING_SECRET" if env.slack_bot_token else "SLACK_BOT_TOKEN"
        fail(text.say("slack.missing_env", name=missing))
    if not env.chat_platforms:
        fail(text.say("no_platform"))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx = open_context()

    from bot.server import serve as run

    run(ctx, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("serve")(serve)
