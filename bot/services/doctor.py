"""records-bot doctor's platform-neutral checks: settings, the database, the SMTP server; each a Finding."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import EnvSettings
from bot.text import say


@dataclass(frozen=True)
class Finding:
    """One check's outcome: what was checked, whether it is fine, and what was found (with the fix when not)."""

    check: str
    ok: bool
    detail: str

    def line(self) -> str:
        return say("doctor.line", ok=self.ok, check=self.check, detail=self.detail)


def found(ok: bool, kind: str, message: str, subject: str = "", **context: object) -> Finding:
    """A Finding worded from templates/doctor.j2: the check's name and the message's macro."""
    return Finding(say("doctor.check", kind=kind, subject=subject), ok, say(f"doctor.{message}", **context))


def first_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}".rstrip(": ")


def check_practice_file(env: EnvSettings) -> Finding:
    path = env.practice_file
    if not Path(path).exists():
        return found(False, "settings", "no_practice_file", path=path)
    return found(True, "settings", "settings_ok", path=path)


def check_database(env: EnvSettings) -> Finding:
    """Reachable, and at the schema this version expects (a missing SQLite file is reported, never created)."""
    from bot.db import current_revision, head_revision
    from bot.store import make_engine

    try:
        url = make_url(env.database_url)
        engine = make_engine(env.database_url)
    except Exception as exc:  # a malformed URL or a missing driver
        return found(False, "database", "db_unusable", error=first_line(exc))
    shown = url.render_as_string(hide_password=True)
    database = url.database if url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:" and not Path(database).exists():
        return found(False, "database", "db_missing", url=shown)
    try:
        current = current_revision(engine)
    except Exception as exc:
        return found(False, "database", "db_unreachable", url=shown, error=first_line(exc))
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        return found(False, "database", "db_behind", url=shown, current=current, head=head)
    return found(True, "database", "db_ok", url=shown, head=head)


def check_smtp(env: EnvSettings) -> Finding | None:
    """Only when SMTP_HOST is set: connect, STARTTLS if offered, log in if a user is set, as a real send does."""
    from bot.services.mailer import check_server

    if not env.smtp_host:
        return None
    where = {"host": env.smtp_host, "port": env.smtp_port}
    try:
        check_server(env)
    except smtplib.SMTPAuthenticationError:
        return found(False, "smtp", "smtp_login", **where)
    except (OSError, smtplib.SMTPException) as exc:
        return found(False, "smtp", "smtp_unreachable", error=first_line(exc), **where)
    return found(True, "smtp", "smtp_ok", login=bool(env.smtp_user and env.smtp_password), **where)
