"""Snoozing a request's reminders (audited) and listing what is pending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import text
from bot.config import PracticeSettings
from bot.services.reminders.common import WAITING, local_moment
from bot.store import RecordsRequest, Reminder, as_utc, session_scope

KEPT_ON_TIME = ("overdue", "extension")


def snooze(
    session: Session,
    request: RecordsRequest,
    *,
    days: int,
    reason: str,
    actor: str,
    practice: PracticeSettings | None = None,
) -> int:
    """Push this request's pending reminders back by `days`, with the reason in the audit trail; returns how many."""
    from bot.services.audit import record

    reason = reason.strip()
    if not reason:
        raise ValueError(text.say("reminders.snooze_reason_required"))
    if not 1 <= days <= 90:
        raise ValueError(text.say("reminders.snooze_days_range"))
    rows = session.exec(
        select(Reminder)
        .where(Reminder.request_id == request.id, Reminder.status == "pending")
        .order_by(Reminder.due_at)  # type: ignore[arg-type]
    ).all()
    # a snooze quiets the nudges, never the deadline itself: the deadline-day, extension-window and overdue
    # reminders stay put, and nothing is pushed past the deadline-day reminder
    if practice is not None:  # the deadline day itself, whatever rungs the practice configured
        latest = local_moment(request.effective_due, practice.reminders.send_hour, practice.tz)
    else:
        on_the_day = [as_utc(r.due_at) for r in rows if r.kind == "before" and r.payload.get("days_before") == 0]
        latest = min(on_the_day) if on_the_day else None
    rows = [
        r for r in rows if r.kind not in KEPT_ON_TIME and not (r.kind == "before" and r.payload.get("days_before") == 0)
    ]
    before = {r.dedupe_key: r.due_at for r in rows}
    for row in rows:
        moved = as_utc(row.due_at) + timedelta(days=days)
        row.due_at = min(moved, latest) if latest and row.kind == "before" else moved
        session.add(row)
    record(
        session,
        request_id=request.id,
        actor=actor,
        action="reminders.snoozed",
        before={"due_at": before},
        after={"due_at": {r.dedupe_key: r.due_at for r in rows}, "days": days, "reason": reason},
    )
    return len(rows)


@dataclass(frozen=True)
class PendingReminder:
    reference: str | None
    kind: str
    due_at: datetime
    target_kind: str
    target: str
    status: str


def pending(engine: Engine, *, due_before: datetime | None = None, limit: int = 1000) -> list[PendingReminder]:
    """Reminders still to go out (pending or claimed), soonest first."""
    stmt = (
        sa_select(RecordsRequest.reference, Reminder)
        .join(RecordsRequest, RecordsRequest.id == Reminder.request_id, isouter=True)  # type: ignore[arg-type]
        .where(Reminder.status.in_(WAITING))  # type: ignore[attr-defined]
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    if due_before is not None:
        stmt = stmt.where(Reminder.due_at < as_utc(due_before))
    with session_scope(engine) as session:
        return [
            PendingReminder(ref, r.kind, r.due_at, r.target_kind, r.target, r.status)
            for ref, r in session.execute(stmt).all()
        ]
