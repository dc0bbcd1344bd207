"""records-bot export (placeholder until implemented)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
