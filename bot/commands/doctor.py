"""records-bot doctor: check the set-up end to end and print what to fix, one line per check."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from bot.services.doctor import Finding


def doctor() -> None:
    """Check settings, the database, Slack (token, records channel, members) and SMTP; exit 1 if anything needs fixing."""
    import os

    from bot import text
    from bot.config import SettingsError, load_env, load_practice
    from bot.services.doctor import check_database, check_practice_file, check_smtp, found

    findings: list[Finding] = []
    try:
        env = load_env()
        practice = load_practice(env.practice_file)
    except SettingsError as exc:  # nothing else can be checked without settings
        findings.append(found(False, "settings", "settings_bad", error="; ".join(str(exc).splitlines())))
        report(findings)
    text.use_practice_templates(practice.templates_dir)
    os.environ.setdefault("PGCONNECT_TIMEOUT", "5")  # a PostgreSQL host that never answers: a line in seconds
    findings += [check_practice_file(env), check_database(env)]

    from bot.adapters.slack.doctor import check_slack

    findings += check_slack(env, practice)
    smtp = check_smtp(env)
    if smtp is not None:
        findings.append(smtp)
    report(findings)


def report(findings: list[Finding]) -> NoReturn:
    """Print each finding and the summary; exit 0 when all are fine, else 1."""
    from bot.text import say

    for finding in findings:
        typer.echo(finding.line())
    problems = sum(not f.ok for f in findings)
    typer.echo(
        say("doctor.to_fix", problems=problems, count=len(findings))
        if problems
        else say("doctor.all_good", count=len(findings))
    )
    raise typer.Exit(1 if problems else 0)


def register(app: typer.Typer) -> None:
    """Add this command to the CLI."""
    app.command("doctor")(doctor)
