"""records-bot teams-package: the Teams app package (manifest.json and two icons, zipped) for this bot's app id."""

from __future__ import annotations

from pathlib import Path

import typer


def teams_package(
    app_id: str | None = typer.Option(
        None, "--app-id", help="The Azure Bot's Microsoft App ID; default: MICROSOFT_APP_ID."
    ),
    output: Path = typer.Option(Path("records-bot-teams.zip"), "--output", "-o", help="Where to write the zip."),
    website: str = typer.Option(
        "https://www.example.com", "--website", help="The practice's website (Teams shows it on the app's page)."
    ),
) -> None:
    """Build the zip to upload in Teams (Apps → Manage your apps → Upload an app)."""
    from bot import text
    from bot.adapters.teams.package import BadAppId, build_package
    from bot.commands import fail
    from bot.config import SettingsError, load_env

    if app_id is None:
        try:
            app_id = load_env().microsoft_app_id
        except SettingsError as exc:
            fail("; ".join(str(exc).splitlines()))
    if not app_id:
        fail(text.say("teams.package_needs_app_id"))
    try:
        written = build_package(app_id, output, website=website)
    except BadAppId:
        fail(text.say("teams.package_bad_app_id", app_id=app_id))
    except OSError as exc:
        fail(text.say("teams.package_not_written", path=output, reason=exc.strerror or type(exc).__name__))
    typer.echo(text.say("teams.package_written", path=written, app_id=app_id))


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("teams-package")(teams_package)
