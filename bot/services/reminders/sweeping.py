"""One sweep: claim what is due, decide, deliver through the adapter, mark; leases recover dead workers."""

from __future__ import annotations

import time as clock
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import PracticeSettings
from bot.services.reminders.claims import claim_due, mark, release
from bot.services.reminders.common import DEFAULT_LEASE, MAX_ATTEMPTS, REMINDERS, Deliver, SweepReport, default_worker
from bot.services.reminders.decisions import decide
from bot.services.reminders.planning import insert_if_absent, plan_reminders
from bot.store import Consult, RecordsRequest, Reminder, as_utc, utcnow


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
