"""Shared reminder facts: statuses, the sweep's report, time helpers."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.prompts import Outbound
from bot.store import RecordsRequest, Reminder

FINISHED = frozenset({"released", "denied", "partially_denied", "cancelled", "closed"})
"""Request statuses after which no deadline reminder makes sense."""
MAX_ATTEMPTS = 5
DEFAULT_LEASE = timedelta(minutes=2)
WAITING = ("pending", "claimed")

Deliver = Callable[[Outbound], None]
REMINDERS = Reminder.__table__  # type: ignore[attr-defined]


@dataclass
class SweepReport:
    """What one sweep did; query_ms is the time spent finding and claiming due rows."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    query_ms: float = 0.0
    total_ms: float = 0.0
    deferred: int = 0
    retried: int = 0


@dataclass
class Decision:
    """What to do with one claimed reminder, decided from the request as it is now."""

    skip: str | None = None  # the reason, when nothing is to be sent
    outbounds: list[tuple[str, Outbound]] = field(default_factory=list)  # (delivery key, message)
    defer_until: datetime | None = None
    replan: bool = False
    next_rows: list[dict[str, Any]] = field(default_factory=list)
    nudged_consult: int | None = None


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def local_moment(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """`hour` o'clock on `day` in the practice's zone, as UTC (DST-aware)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def extension_allowed(request: RecordsRequest) -> bool:
    """True while the one extension a rule allows has not been taken."""
    return request.extension_available


def extended_due(request: RecordsRequest) -> date | None:
    if request.extended_due_on:
        return request.extended_due_on
    raw = (request.deadline or {}).get("extended_due")
    return date.fromisoformat(raw) if raw else None


def before_is_stale(days_before: int, due: date, today: date, rungs: Iterable[int]) -> bool:
    """A 'before' rung is stale once the deadline passed or a later rung is already due (no bursts after downtime)."""
    if today > due:
        return True
    return any(m < days_before and due - timedelta(days=m) <= today for m in rungs)
