"""One sweep: claim what is due, decide, deliver through the adapter, mark; leases recover dead workers."""

from __future__ import annotations

import time as clock
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import PracticeSettings
from bot.delivery.routing import Router
from bot.services.reminders.claims import claim_due, mark, release
from bot.services.reminders.common import (
    DEFAULT_LEASE,
    MAX_ATTEMPTS,
    REMINDERS,
    Decision,
    Deliver,
    SweepReport,
    default_worker,
)
from bot.services.reminders.decisions import decide
from bot.services.reminders.planning import insert_if_absent, plan_reminders
from bot.store import Consult, RecordsRequest, Reminder, as_utc, utcnow


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _handle(
    engine: Engine,
    practice: PracticeSettings,
    deliver: Deliver | Router,
    reminder: Reminder,
    *,
    now: datetime,
    worker: str,
    report: SweepReport,
) -> None:
    if reminder.attempts > MAX_ATTEMPTS:  # claimed again and again by workers that died mid-send
        with engine.begin() as conn:
            mark(conn, reminder, worker, status="failed", last_error=reminder.last_error or "lease expired repeatedly")
        report.failed += 1
        return
    with Session(engine, expire_on_commit=False) as session:
        decision = decide(session, reminder, practice, now)
        if decision.skip:
            with engine.begin() as conn:
                mark(conn, reminder, worker, status="skipped", last_error=decision.skip)
            if decision.replan:
                request = session.get(RecordsRequest, reminder.request_id)
                if request is not None:
                    plan_reminders(session, request, practice, now=now)
                    session.commit()
            report.skipped += 1
            return
    if isinstance(deliver, Router):
        _enqueue(engine, deliver, reminder, decision, now=now, worker=worker, report=report)
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
                mark(conn, reminder, worker, status="failed", payload=payload, last_error=_error_text(exc))
                report.failed += 1
            else:
                backoff = timedelta(minutes=min(2**reminder.attempts, 60))
                mark(
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
            mark(
                conn,
                reminder,
                worker,
                status="pending",
                payload=payload,
                due_at=decision.defer_until,
                attempts=REMINDERS.c.attempts - 1,
            )
            report.deferred += 1
            return
        if mark(conn, reminder, worker, status="sent", payload=payload, sent_at=now, last_error=None):
            insert_if_absent(conn, decision.next_rows)
            if decision.nudged_consult is not None:
                conn.execute(
                    update(Consult.__table__)
                    .where(Consult.__table__.c.id == decision.nudged_consult)
                    .values(nudged_at=now)  # type: ignore[attr-defined]
                )
        report.sent += 1


def _enqueue(
    engine: Engine,
    router: Router,
    reminder: Reminder,
    decision: Decision,
    *,
    now: datetime,
    worker: str,
    report: SweepReport,
) -> None:
    """Mark the reminder done and write one outbox message per recipient, in one transaction: nothing is sent
    here, so a sweeper killed at any point either did all of it or none, and each message goes out once."""
    with Session(engine) as session:
        conn = session.connection()
        if decision.defer_until is not None:  # a deferral is not a failed attempt
            mark(
                conn,
                reminder,
                worker,
                status="pending",
                due_at=decision.defer_until,
                attempts=REMINDERS.c.attempts - 1,
            )
            session.commit()
            report.deferred += 1
            return
        if not mark(conn, reminder, worker, status="sent", sent_at=now, last_error=None):
            session.rollback()  # the lease ran out and another sweeper has it
            return
        for key, outbound in decision.outbounds:
            router.outbound(
                session,
                outbound,
                request_id=reminder.request_id,
                purpose="reminder",
                dedupe_key=f"reminder:{reminder.id}:{key}",
            )
        insert_if_absent(conn, decision.next_rows)
        if decision.nudged_consult is not None:
            conn.execute(
                update(Consult.__table__).where(Consult.__table__.c.id == decision.nudged_consult).values(nudged_at=now)  # type: ignore[attr-defined]
            )
        session.commit()
    report.sent += 1


def sweep(
    engine: Engine,
    practice: PracticeSettings,
    deliver: Deliver | Router,
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
