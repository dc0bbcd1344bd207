"""Command-line entry point: records-bot (init, chat, serve, doctor, deadline, db, audit, export, report, reminders,
teams-package)."""

from __future__ import annotations

import typer

from bot.commands import audit, chat, db, deadline, doctor, export, init, reminders, report, serve, teams_package

app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="records-bot: walks a therapy practice through client records requests.",
)


@app.callback()
def _root() -> None:
    """records-bot: walks a therapy practice through client records requests."""


for command_module in (init, chat, serve, doctor, deadline, db, audit, export, report, reminders, teams_package):
    command_module.register(app)


def main() -> None:
    app()
