"""The outbox's email transport: one plain-text message through the practice's SMTP server, after commit."""

from __future__ import annotations

import asyncio
import smtplib
from typing import Any

from bot.config import EnvSettings
from bot.delivery.sender import DeliveryFailed
from bot.services.mailer import MailNotConfigured, email_summary
from bot.store import OutboxMessage

# the server said no to this message or these settings: sending it again won't help
PERMANENT = (
    MailNotConfigured,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
)


class EmailTransport:
    platform = "email"

    def __init__(self, env: EnvSettings, timeout: float = 10.0) -> None:
        self.env, self.timeout = env, timeout

    async def send(self, row: OutboxMessage) -> dict[str, Any]:
        payload = row.payload or {}
        try:
            await asyncio.to_thread(
                email_summary,
                self.env,
                to=row.destination,
                subject=str(payload.get("subject", "")),
                body=str(payload.get("body", "")),
                timeout=self.timeout,
            )
        except PERMANENT as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300], permanent=True) from None
        except (OSError, smtplib.SMTPException) as exc:  # refused connection, timeout, 4xx: try again later
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        return {"to": row.destination}


def email_transports(env: EnvSettings) -> dict[str, EmailTransport]:
    """{"email": transport} when SMTP is set up, else nothing."""
    return {"email": EmailTransport(env)} if env.smtp_host else {}
