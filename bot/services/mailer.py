"""Plain-text email through the practice's SMTP server (only when SMTP settings are present)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid

from bot.config import EnvSettings


class MailNotConfigured(RuntimeError):
    """SMTP_HOST is not set, so there is no server to send through."""


def _one_line(value: str) -> str:
    # a newline in a header would let user text add headers of its own
    return " ".join(value.split())


def email_summary(env: EnvSettings, *, to: str, subject: str, body: str, timeout: float = 10.0) -> None:
    """Send one message; STARTTLS when the server offers it, login when a user and password are set."""
    if not env.smtp_host:
        raise MailNotConfigured("SMTP_HOST is not set")
    sender = env.smtp_from or env.smtp_user or "records-bot@localhost"
    message = EmailMessage()
    message["From"] = _one_line(sender)
    message["To"] = _one_line(to)
    message["Subject"] = _one_line(subject)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body)
    with _session(env, timeout) as smtp:
        smtp.send_message(message)


def check_server(env: EnvSettings, *, timeout: float = 5.0) -> None:
    """Connect, say hello, log in as a send would, and leave; raises OSError or SMTPException when that fails."""
    if not env.smtp_host:
        raise MailNotConfigured("SMTP_HOST is not set")
    with _session(env, timeout) as smtp:
        smtp.noop()


@contextmanager
def _session(env: EnvSettings, timeout: float) -> Iterator[smtplib.SMTP]:
    """STARTTLS when the server offers it, login when a user and password are set."""
    with smtplib.SMTP(env.smtp_host, env.smtp_port, timeout=timeout) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if env.smtp_user and env.smtp_password:
            smtp.login(env.smtp_user, env.smtp_password)
        yield smtp
