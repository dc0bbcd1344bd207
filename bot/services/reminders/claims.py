"""Claiming due reminders atomically (UPDATE ... RETURNING; SKIP LOCKED on PostgreSQL) and marking them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal_column, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine

from bot.services.reminders.common import DEFAULT_LEASE, REMINDERS
from bot.store import Reminder, as_utc


def _claim_target(now: datetime, limit: int, postgres: bool) -> Any:
    """The ids to claim: due pending rows, plus rows whose worker died mid-send (lease ran out), oldest first.

    Two index-friendly halves joined by UNION ALL rather than one OR: with an OR the planners walk the due_at
    index through all sent history; this way each half is a range on (status, due_at) or (status, ...).
    """
    # statuses inlined, not bound: with ANALYZE statistics SQLite plans `status = ?` as unselective (a few
    # distinct values) and scans the whole table for the rare 'claimed' rows
    pending, claimed = literal_column("'pending'"), literal_column("'claimed'")
    due = (
        sa_select(REMINDERS.c.id, REMINDERS.c.due_at)
        .where(REMINDERS.c.status == pending, REMINDERS.c.due_at <= now)
        .order_by(REMINDERS.c.due_at)
        .limit(limit)
    )
    expired = (
        sa_select(REMINDERS.c.id, REMINDERS.c.due_at)
        .where(REMINDERS.c.status == claimed, REMINDERS.c.claimed_until < now)
        .order_by(REMINDERS.c.due_at)
        .limit(limit)
    )
    if postgres:
        # SKIP LOCKED: concurrent pollers each take different rows instead of queueing behind one another
        halves = [q.with_for_update(skip_locked=True).cte(name) for q, name in ((due, "due"), (expired, "expired"))]
    else:
        # SQLite has one writer at a time, so the single UPDATE ... WHERE id IN (SELECT ...) is already atomic
        halves = [due.subquery("due"), expired.subquery("expired")]
    both = union_all(*(sa_select(h.c.id, h.c.due_at) for h in halves)).subquery("both")
    return sa_select(both.c.id).order_by(both.c.due_at).limit(limit).scalar_subquery()


def claim_due(
    engine: Engine, *, worker: str, now: datetime, limit: int = 100, lease: timedelta = DEFAULT_LEASE
) -> list[Reminder]:
    """Atomically claim up to `limit` due rows for `worker` (one statement) and return them, oldest first."""
    now = as_utc(now)
    stmt = update(REMINDERS).where(REMINDERS.c.id.in_(_claim_target(now, limit, engine.dialect.name == "postgresql")))
    stmt = stmt.values(
        status="claimed", claimed_by=worker, claimed_until=now + lease, attempts=REMINDERS.c.attempts + 1
    ).returning(*REMINDERS.c)
    with engine.begin() as conn:
        rows = conn.execute(stmt).mappings().all()
    claimed = [Reminder(**dict(row)) for row in rows]
    claimed.sort(key=lambda r: (r.due_at, r.id or 0))
    return claimed


def mark(conn: Connection, reminder: Reminder, worker: str, **values: Any) -> bool:
    """Update a row only while this worker still holds its claim; False if the lease was lost meanwhile."""
    result = conn.execute(
        update(REMINDERS)
        .where(REMINDERS.c.id == reminder.id, REMINDERS.c.claimed_by == worker, REMINDERS.c.status == "claimed")
        .values(claimed_by=None, claimed_until=None, **values)
    )
    return result.rowcount == 1


def release(engine: Engine, reminders: list[Reminder], worker: str) -> None:
    """Hand claimed rows back untouched (attempt not counted), e.g. when the lease is about to run out."""
    if not reminders:
        return
    with engine.begin() as conn:
        conn.execute(
            update(REMINDERS)
            .where(
                REMINDERS.c.id.in_([r.id for r in reminders]),
                REMINDERS.c.claimed_by == worker,
                REMINDERS.c.status == "claimed",
            )
            .values(status="pending", claimed_by=None, claimed_until=None, attempts=REMINDERS.c.attempts - 1)
        )
