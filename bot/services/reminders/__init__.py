"""Durable reminders: rows planned per request, claimed atomically by any number of pollers, decided at send time."""

from bot.services.reminders.claims import claim_due, release
from bot.services.reminders.common import (
    FINISHED,
    MAX_ATTEMPTS,
    Decision,
    SweepReport,
    default_worker,
    extension_allowed,
)
from bot.services.reminders.decisions import decide, in_quiet_hours, quiet_hours_end
from bot.services.reminders.listing import PendingReminder, pending, snooze
from bot.services.reminders.planning import insert_if_absent, ladder, plan_reminders
from bot.services.reminders.sweeping import sweep

__all__ = [
    "FINISHED",
    "MAX_ATTEMPTS",
    "Decision",
    "PendingReminder",
    "SweepReport",
    "claim_due",
    "decide",
    "default_worker",
    "extension_allowed",
    "in_quiet_hours",
    "insert_if_absent",
    "ladder",
    "pending",
    "plan_reminders",
    "quiet_hours_end",
    "release",
    "snooze",
    "sweep",
]
