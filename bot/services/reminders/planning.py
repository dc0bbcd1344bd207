"""Planning a request's reminder ladder as rows (insert-if-absent by dedupe key)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from bot.config import PracticeSettings
from bot.services.reminders.common import FINISHED, REMINDERS, before_is_stale, extension_allowed, local_moment
from bot.store import Member, RecordsRequest, Reminder, as_utc


def ladder(request: RecordsRequest, practice: PracticeSettings) -> list[dict[str, Any]]:
    """The reminder rows this request should have now (kind, dedupe_key, due_at, payload), without targets."""
    sched, tz, rid = practice.reminders, practice.tz, request.id
    rows: list[dict[str, Any]] = []

    def add(kind: str, key: str, day: date, **payload: Any) -> None:
        payload["reference"] = request.reference
        rows.append(
            {"kind": kind, "dedupe_key": key, "due_at": local_moment(day, sched.send_hour, tz), "payload": payload}
        )

    if request.status not in FINISHED:
        due = request.effective_due
        if request.acknowledged_on is None:
            # not before the day after the request was entered: the person is on that step right now
            created = getattr(request, "created_at", None)
            entered = as_utc(created).astimezone(tz).date() if created else request.received_on
            day = max(request.received_on + timedelta(days=sched.acknowledge_after_days), entered + timedelta(days=1))
            add("ack", f"{rid}:ack", day)
        for n in sched.before_deadline_days:
            # the deadline is in the key: after an extension the new ladder is new rows, the old ones go stale
            add("before", f"{rid}:before:{n}:{due}", due - timedelta(days=n), days_before=n, for_due=due.isoformat())
        if extension_allowed(request):
            day = max(request.due_on - timedelta(days=sched.extension_window_days), request.received_on)
            add("extension", f"{rid}:extension:{request.due_on}", day, for_due=request.due_on.isoformat())
        first_overdue = due + timedelta(days=1)
        add("overdue", f"{rid}:overdue:{first_overdue}", first_overdue, for_due=due.isoformat())
    answered = request.answered_on  # the records went out, or the denial letter did
    if answered and request.status not in ("cancelled", "closed"):
        day = answered + timedelta(days=sched.follow_up_after_release_days)
        add("followup", f"{rid}:followup:{answered}", day, released_on=answered.isoformat())
    return rows


def insert_if_absent(executor: Session | Connection, rows: list[dict[str, Any]]) -> None:
    """Insert reminder rows, silently keeping any row whose dedupe_key already exists (SQLite and PostgreSQL)."""
    if not rows:
        return
    full = [
        {
            "request_id": None,
            "consult_id": None,
            "target_kind": "member",
            "status": "pending",
            "attempts": 0,
            "payload": {},
            **row,
        }
        for row in rows
    ]
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    dialect = bind.dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(REMINDERS).on_conflict_do_nothing(index_elements=["dedupe_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(REMINDERS).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # other databases: look first (not race-free, but no dialect here needs it)
        keys = [r["dedupe_key"] for r in full]
        taken = set(
            executor.execute(sa_select(REMINDERS.c.dedupe_key).where(REMINDERS.c.dedupe_key.in_(keys))).scalars()
        )
        full = [r for r in full if r["dedupe_key"] not in taken]
        if not full:
            return
        stmt = REMINDERS.insert()
    executor.execute(stmt, full)


def owner_name(session: Session, request: RecordsRequest) -> str | None:
    if request.owner_id is None:
        return None
    owner = session.get(Member, request.owner_id)
    return owner.name if owner else None


def plan_reminders(
    session: Session, request: RecordsRequest, practice: PracticeSettings, *, now: datetime | None = None
) -> None:
    """Insert the ladder rows this request lacks; idempotent, call again after any change to the request.

    Stale rows from an earlier state are left alone: the sweep skips them at send time. With `now`,
    'before' rungs already superseded at that moment are not planned at all.
    """
    if request.id is None:
        session.flush()
    owner = owner_name(session, request)
    target_kind, target = ("member", owner) if owner else ("channel", practice.records_channel)
    rows = ladder(request, practice)
    if now is not None:
        today = as_utc(now).astimezone(practice.tz).date()
        rungs = practice.reminders.before_deadline_days
        rows = [
            r
            for r in rows
            if r["kind"] != "before"
            or not before_is_stale(r["payload"]["days_before"], request.effective_due, today, rungs)
        ]
    for row in rows:
        row.update(request_id=request.id, target_kind=target_kind, target=target)
    insert_if_absent(session, rows)
    retire_stale(session, request)


def retire_stale(session: Session, request: RecordsRequest) -> None:
    """Mark pending rows the request has outgrown as skipped, so lists and snoozes show only what can still go out.

    The sweep decides again at send time anyway; this only keeps the table honest.
    """
    finished = request.status in FINISHED
    due, original = request.effective_due.isoformat(), request.due_on.isoformat()
    pending = session.exec(
        select(Reminder).where(Reminder.request_id == request.id, Reminder.status == "pending")
    ).all()
    for row in pending:
        for_due = (row.payload or {}).get("for_due")
        stale = (
            (finished and row.kind != "followup")
            or request.status in ("cancelled", "closed")  # a closed request keeps no follow-up either
            or (row.kind == "ack" and request.acknowledged_on is not None)
            or (row.kind in ("before", "overdue") and for_due not in (None, due))
            or (row.kind == "extension" and (for_due not in (None, original) or not extension_allowed(request)))
        )
        if stale:
            row.status, row.last_error = "skipped", "no longer needed"
            session.add(row)
