"""Durable reminders: the ladder as rows, an atomic claim of due rows, a decision at send time, then a mark."""

from __future__ import annotations

import os
import socket
import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal_column, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from bot import text
from bot.config import PracticeSettings
from bot.prompts import Outbound, Prompt
from bot.store import Consult, Member, RecordsRequest, Reminder, as_utc, session_scope, utcnow

FINISHED = frozenset({"released", "denied", "partially_denied", "cancelled", "closed"})
"""Request statuses after which no deadline reminder makes sense."""
MAX_ATTEMPTS = 5
DEFAULT_LEASE = timedelta(minutes=2)
WAITING = ("pending", "claimed")

Deliver = Callable[[Outbound], None]
_T = Reminder.__table__  # type: ignore[attr-defined]


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
    """True while the one extension the rule allows has not been taken."""
    allowed = request.extended_due_on is not None or bool((request.deadline or {}).get("extended_due"))
    return allowed and request.extended_to is None and request.extension_notice_sent_on is None


def _extended_due(request: RecordsRequest) -> date | None:
    if request.extended_due_on:
        return request.extended_due_on
    raw = (request.deadline or {}).get("extended_due")
    return date.fromisoformat(raw) if raw else None


def before_is_stale(days_before: int, due: date, today: date, rungs: Iterable[int]) -> bool:
    """A 'before' rung is stale once the deadline passed or a later rung is already due (no bursts after downtime)."""
    if today > due:
        return True
    return any(m < days_before and due - timedelta(days=m) <= today for m in rungs)


# --- planning -------------------------------------------------------------------------------------------------


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
            day = request.received_on + timedelta(days=sched.acknowledge_after_days)
            add("ack", f"{rid}:ack", day)
        for n in sched.before_deadline_days:
            # the deadline is in the key: after an extension the new ladder is new rows, the old ones go stale
            add("before", f"{rid}:before:{n}:{due}", due - timedelta(days=n), days_before=n, for_due=due.isoformat())
        if extension_allowed(request):
            day = max(request.due_on - timedelta(days=sched.extension_window_days), request.received_on)
            add("extension", f"{rid}:extension:{request.due_on}", day, for_due=request.due_on.isoformat())
        first_overdue = due + timedelta(days=1)
        add("overdue", f"{rid}:overdue:{first_overdue}", first_overdue, for_due=due.isoformat())
    if request.released_on and request.status not in ("cancelled", "closed"):
        day = request.released_on + timedelta(days=sched.follow_up_after_release_days)
        add("followup", f"{rid}:followup:{request.released_on}", day, released_on=request.released_on.isoformat())
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
        stmt = postgresql.insert(_T).on_conflict_do_nothing(index_elements=["dedupe_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(_T).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # other databases: look first (not race-free, but no dialect here needs it)
        keys = [r["dedupe_key"] for r in full]
        taken = set(executor.execute(sa_select(_T.c.dedupe_key).where(_T.c.dedupe_key.in_(keys))).scalars())
        full = [r for r in full if r["dedupe_key"] not in taken]
        if not full:
            return
        stmt = _T.insert()
    executor.execute(stmt, full)


def _owner_name(session: Session, request: RecordsRequest) -> str | None:
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
    owner = _owner_name(session, request)
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


# --- claim and mark -------------------------------------------------------------------------------------------


def _claim_target(now: datetime, limit: int, postgres: bool) -> Any:
    """The ids to claim: due pending rows, plus rows whose worker died mid-send (lease ran out), oldest first.

    Two index-friendly halves joined by UNION ALL rather than one OR: with an OR the planners walk the due_at
    index through all sent history; this way each half is a range on (status, due_at) or (status, ...).
    """
    # statuses inlined, not bound: with ANALYZE statistics SQLite plans `status = ?` as unselective (a few
    # distinct values) and scans the whole table for the rare 'claimed' rows
    pending, claimed = literal_column("'pending'"), literal_column("'claimed'")
    due = (
        sa_select(_T.c.id, _T.c.due_at)
        .where(_T.c.status == pending, _T.c.due_at <= now)
        .order_by(_T.c.due_at)
        .limit(limit)
    )
    expired = (
        sa_select(_T.c.id, _T.c.due_at)
        .where(_T.c.status == claimed, _T.c.claimed_until < now)
        .order_by(_T.c.due_at)
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
    stmt = update(_T).where(_T.c.id.in_(_claim_target(now, limit, engine.dialect.name == "postgresql")))
    stmt = stmt.values(
        status="claimed", claimed_by=worker, claimed_until=now + lease, attempts=_T.c.attempts + 1
    ).returning(*_T.c)
    with engine.begin() as conn:
        rows = conn.execute(stmt).mappings().all()
    claimed = [Reminder(**dict(row)) for row in rows]
    claimed.sort(key=lambda r: (r.due_at, r.id or 0))
    return claimed


def _mark(conn: Connection, reminder: Reminder, worker: str, **values: Any) -> bool:
    """Update a row only while this worker still holds its claim; False if the lease was lost meanwhile."""
    result = conn.execute(
        update(_T)
        .where(_T.c.id == reminder.id, _T.c.claimed_by == worker, _T.c.status == "claimed")
        .values(claimed_by=None, claimed_until=None, **values)
    )
    return result.rowcount == 1


def release(engine: Engine, reminders: list[Reminder], worker: str) -> None:
    """Hand claimed rows back untouched (attempt not counted), e.g. when the lease is about to run out."""
    if not reminders:
        return
    with engine.begin() as conn:
        conn.execute(
            update(_T)
            .where(_T.c.id.in_([r.id for r in reminders]), _T.c.claimed_by == worker, _T.c.status == "claimed")
            .values(status="pending", claimed_by=None, claimed_until=None, attempts=_T.c.attempts - 1)
        )


# --- deciding at send time ------------------------------------------------------------------------------------


def in_quiet_hours(moment: datetime, practice: PracticeSettings) -> bool:
    start, end = practice.reminders.quiet_hours_start, practice.reminders.quiet_hours_end
    local = as_utc(moment).astimezone(practice.tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the usual case: the quiet spans midnight


def quiet_hours_end(moment: datetime, practice: PracticeSettings) -> datetime:
    """The next end of quiet hours after `moment`, in UTC."""
    tz, end = practice.tz, practice.reminders.quiet_hours_end
    local = as_utc(moment).astimezone(tz)
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(UTC)


def _notice(target_kind: str, target: str, body: str, header: str) -> Outbound:
    return Outbound(target_kind=target_kind, target=target, prompts=(Prompt(kind="notice", text=body, header=header),))  # type: ignore[arg-type]


def _deadline_messages(
    kind: str, request: RecordsRequest, owner: str | None, practice: PracticeSettings, today: date
) -> list[tuple[str, Outbound]]:
    """The channel post (PHI-free: reference, dates, step, owner) and the DMs for one deadline reminder."""
    due = request.effective_due
    ctx: dict[str, Any] = {
        "reference": request.reference,
        "due": due,
        "days_left": (due - today).days,
        "step": request.step,
        "owner": owner,
    }
    if kind == "ack":
        ctx["received"] = request.received_on
    elif kind == "extension":
        ctx["due"], ctx["extended_due"] = request.due_on, _extended_due(request)
    elif kind == "followup":
        ctx["released"] = request.released_on
    header = text.say("reminders.header", **ctx)
    out = [
        ("channel", _notice("channel", practice.records_channel, text.say(f"reminders.channel_{kind}", **ctx), header))
    ]
    if kind == "overdue":
        contact = practice.privacy_contact
        out = [
            (
                "channel",
                _notice(
                    "channel",
                    practice.records_channel,
                    text.say(
                        "reminders.channel_overdue",
                        **ctx,
                        privacy_name=contact.name_or_title if contact else None,
                        privacy_phone=contact.phone if contact else None,
                    ),
                    header,
                ),
            )
        ]
    if owner:
        out.append((f"dm:{owner}", _notice("member", owner, text.say(f"reminders.dm_{kind}", **ctx), header)))
    if kind == "overdue":
        for supervisor in practice.supervisors:
            if supervisor.name != owner:
                body = text.say("reminders.supervisor_overdue", **ctx)
                out.append((f"dm:{supervisor.name}", _notice("member", supervisor.name, body, header)))
    return out


def _next_overdue_row(reminder: Reminder, request: RecordsRequest, practice: PracticeSettings, now: datetime) -> dict:
    """The next overdue reminder, never in the past (a sweep after downtime does not queue a burst)."""
    sched, tz = practice.reminders, practice.tz
    day = as_utc(reminder.due_at).astimezone(tz).date() + timedelta(days=sched.overdue_every_days)
    while local_moment(day, sched.send_hour, tz) <= now:
        day += timedelta(days=sched.overdue_every_days)
    return {
        "kind": "overdue",
        "dedupe_key": f"{request.id}:overdue:{day}",
        "due_at": local_moment(day, sched.send_hour, tz),
        "request_id": request.id,
        "target_kind": reminder.target_kind,
        "target": reminder.target,
        "payload": {"reference": request.reference, "for_due": request.effective_due.isoformat()},
    }


def decide(session: Session, reminder: Reminder, practice: PracticeSettings, now: datetime) -> Decision:
    """Re-read what the reminder is about and decide now: skip, send (some now, DMs after quiet hours) or defer."""
    if reminder.kind == "consult_nudge":
        return _decide_nudge(session, reminder, practice, now)
    request = session.get(RecordsRequest, reminder.request_id) if reminder.request_id else None
    if request is None:
        return Decision(skip="request gone")
    today = now.astimezone(practice.tz).date()
    kind, payload = reminder.kind, reminder.payload or {}
    if kind == "followup":
        if request.status in ("cancelled", "closed") or request.released_on is None:
            return Decision(skip=f"request {request.status}")
        if payload.get("released_on") != request.released_on.isoformat():
            return Decision(skip="release date changed", replan=True)
    else:
        if request.status in FINISHED:
            return Decision(skip=f"request {request.status}")
        due = request.effective_due
        if kind == "ack" and request.acknowledged_on is not None:
            return Decision(skip="acknowledged")
        if kind == "before":
            if payload.get("for_due") != due.isoformat():
                return Decision(skip="deadline changed", replan=True)
            if before_is_stale(payload["days_before"], due, today, practice.reminders.before_deadline_days):
                return Decision(skip="superseded")
        if kind == "extension":
            if not extension_allowed(request) or payload.get("for_due") != request.due_on.isoformat():
                return Decision(skip="extension taken or not allowed")
            if today > request.due_on:
                return Decision(skip="extension window closed")
        if kind == "overdue":
            if payload.get("for_due") != due.isoformat():
                return Decision(skip="deadline changed", replan=True)
            if today <= due:
                return Decision(skip="not overdue")
    owner = _owner_name(session, request)
    decision = Decision(outbounds=_deadline_messages(kind, request, owner, practice, today))
    if kind == "overdue":
        decision.next_rows.append(_next_overdue_row(reminder, request, practice, now))
    elif in_quiet_hours(now, practice):
        # the channel post goes now; DMs wait for the morning (overdue ones do not wait)
        decision.outbounds = [(k, o) for k, o in decision.outbounds if o.target_kind == "channel"]
        decision.defer_until = quiet_hours_end(now, practice)
    return decision


def _decide_nudge(session: Session, reminder: Reminder, practice: PracticeSettings, now: datetime) -> Decision:
    from bot.services.consults import nudge_messages

    consult = session.get(Consult, reminder.consult_id) if reminder.consult_id else None
    if consult is None or consult.status != "waiting":
        return Decision(skip="consult answered or withdrawn")
    if in_quiet_hours(now, practice):
        return Decision(defer_until=quiet_hours_end(now, practice))
    return Decision(outbounds=nudge_messages(session, consult, practice), nudged_consult=consult.id)


# --- the sweep ------------------------------------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _handle(
    engine: Engine,
    practice: PracticeSettings,
    deliver: Deliver,
    reminder: Reminder,
    *,
    now: datetime,
    worker: str,
    report: SweepReport,
) -> None:
    if reminder.attempts > MAX_ATTEMPTS:  # claimed again and again by workers that died mid-send
        with engine.begin() as conn:
            _mark(conn, reminder, worker, status="failed", last_error=reminder.last_error or "lease expired repeatedly")
        report.failed += 1
        return
    with Session(engine, expire_on_commit=False) as session:
        decision = decide(session, reminder, practice, now)
        if decision.skip:
            with engine.begin() as conn:
                _mark(conn, reminder, worker, status="skipped", last_error=decision.skip)
            if decision.replan:
                request = session.get(RecordsRequest, reminder.request_id)
                if request is not None:
                    plan_reminders(session, request, practice, now=now)
                    session.commit()
            report.skipped += 1
            return
    payload = dict(reminder.payload or {})
    done = list(payload.get("done", []))
    try:
        for key, outbound in decision.outbounds:
            if key in done:  # a retry after a partial failure: what went out already does not go again
                continue
            deliver(outbound)
            done.append(key)
    except Exception as exc:
        payload["done"] = done
        with engine.begin() as conn:
            if reminder.attempts >= MAX_ATTEMPTS:
                _mark(conn, reminder, worker, status="failed", payload=payload, last_error=_error_text(exc))
                report.failed += 1
            else:
                backoff = timedelta(minutes=min(2**reminder.attempts, 60))
                _mark(
                    conn,
                    reminder,
                    worker,
                    status="pending",
                    payload=payload,
                    due_at=now + backoff,
                    last_error=_error_text(exc),
                )
                report.retried += 1
        return
    payload["done"] = done
    with engine.begin() as conn:
        if decision.defer_until is not None:
            # a deferral is not a failed attempt
            _mark(
                conn,
                reminder,
                worker,
                status="pending",
                payload=payload,
                due_at=decision.defer_until,
                attempts=_T.c.attempts - 1,
            )
            report.deferred += 1
            return
        if _mark(conn, reminder, worker, status="sent", payload=payload, sent_at=now, last_error=None):
            insert_if_absent(conn, decision.next_rows)
            if decision.nudged_consult is not None:
                conn.execute(
                    update(Consult.__table__)
                    .where(Consult.__table__.c.id == decision.nudged_consult)
                    .values(nudged_at=now)  # type: ignore[attr-defined]
                )
        report.sent += 1


def sweep(
    engine: Engine,
    practice: PracticeSettings,
    deliver: Deliver,
    *,
    now: datetime | None = None,
    worker: str | None = None,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
) -> SweepReport:
    """Claim every due reminder in batches, decide and deliver each, mark it; returns the counts and timings."""
    now = as_utc(now or utcnow())
    worker = worker or default_worker()
    report = SweepReport()
    started = clock.perf_counter()
    while True:
        q = clock.perf_counter()
        batch = claim_due(engine, worker=worker, now=now, limit=limit, lease=lease)
        claimed_at = clock.perf_counter()
        report.query_ms += (claimed_at - q) * 1000
        report.claimed += len(batch)
        for index, reminder in enumerate(batch):
            if clock.perf_counter() - claimed_at > lease.total_seconds() / 2:
                # slow delivery (rate limits): give the rest back before the lease lapses and another worker resends
                release(engine, batch[index:], worker)
                report.claimed -= len(batch) - index
                break
            _handle(engine, practice, deliver, reminder, now=now, worker=worker, report=report)
        if len(batch) < limit:
            break
    report.total_ms = (clock.perf_counter() - started) * 1000
    return report


# --- snooze and listing ---------------------------------------------------------------------------------------


def snooze(session: Session, request: RecordsRequest, *, days: int, reason: str, actor: str) -> int:
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
    before = {r.dedupe_key: r.due_at for r in rows}
    for row in rows:
        row.due_at = as_utc(row.due_at) + timedelta(days=days)
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
