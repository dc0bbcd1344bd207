"""The outbox: what the bot must say, as rows written with the change that causes it, claimed and marked sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, literal_column, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.prompts import Prompt, prompt_from_dict, prompt_to_dict
from bot.store import OutboxMessage, as_utc, utcnow

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12  # with backoff doubling to 5 minutes: about 40 minutes of trying before a message is given up
HOLD = timedelta(seconds=10)  # a form the adapter opens itself goes out as a message only if that fails or dies


def enqueue(
    session: Session,
    *,
    platform: str,
    destination_kind: str,
    destination: str,
    purpose: str,
    prompts: Sequence[Prompt] = (),
    member_id: int | None = None,
    run_id: int | None = None,
    request_id: int | None = None,
    extra: dict[str, Any] | None = None,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Add one message to the outbox in the caller's transaction; it is sent only once that commits."""
    row = OutboxMessage(
        platform=platform,
        destination_kind=destination_kind,
        destination=destination[:255],
        purpose=purpose,
        member_id=member_id,
        run_id=run_id,
        request_id=request_id,
        payload={"prompts": [prompt_to_dict(p) for p in prompts], **(extra or {})},
        due_at=due_at or utcnow(),
        dedupe_key=dedupe_key,
    )
    session.add(row)
    session.flush()
    return row


def prompts_of(row: OutboxMessage) -> list[Prompt]:
    return [prompt_from_dict(p) for p in (row.payload or {}).get("prompts", [])]


def claim_due(
    engine: Engine,
    *,
    worker: str,
    now: datetime | None = None,
    limit: int = 50,
    lease: timedelta = DEFAULT_LEASE,
    platforms: Sequence[str] | None = None,
) -> list[OutboxMessage]:
    """Atomically claim up to `limit` due rows (and rows whose sender died mid-send), oldest first.

    One UPDATE ... WHERE id IN (...) RETURNING: on PostgreSQL the inner SELECT skips rows another process has
    locked, so several `serve` processes share the outbox and each message is claimed by one of them.
    """
    now = as_utc(now or utcnow())
    postgres = engine.dialect.name == "postgresql"
    pending, claimed = literal_column("'pending'"), literal_column("'claimed'")
    due = sa_select(OUTBOX.c.id).where(OUTBOX.c.status == pending, OUTBOX.c.due_at <= now)
    expired = sa_select(OUTBOX.c.id).where(OUTBOX.c.status == claimed, OUTBOX.c.claimed_until < now)
    halves = []
    for query in (due, expired):
        if platforms is not None:  # a process claims only what it can send
            query = query.where(OUTBOX.c.platform.in_(list(platforms)))
        query = query.order_by(OUTBOX.c.id).limit(limit)
        halves.append(query.with_for_update(skip_locked=True) if postgres else query)
    ids: list[int] = []
    with engine.begin() as conn:
        for half in halves:
            ids.extend(conn.execute(half).scalars().all())
        if not ids:
            return []
        rows = (
            conn.execute(
                update(OUTBOX)
                .where(
                    OUTBOX.c.id.in_(ids),
                    # checked again as it is written: another sender may have claimed it since the SELECT
                    or_(
                        and_(OUTBOX.c.status == "pending", OUTBOX.c.due_at <= now),
                        and_(OUTBOX.c.status == "claimed", OUTBOX.c.claimed_until < now),
                    ),
                )
                .values(status="claimed", claimed_by=worker, claimed_until=now + lease, attempts=OUTBOX.c.attempts + 1)
                .returning(*OUTBOX.c)
            )
            .mappings()
            .all()
        )
    return sorted((OutboxMessage(**dict(row)) for row in rows), key=lambda r: r.id or 0)


def _mark(engine: Engine, row: OutboxMessage, worker: str, **values: Any) -> bool:
    """Change a claimed row only while this worker still holds it; False if its lease was lost meanwhile."""
    with engine.begin() as conn:
        result = conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row.id, OUTBOX.c.claimed_by == worker, OUTBOX.c.status == "claimed")
            .values(claimed_by=None, claimed_until=None, **values)
        )
    return result.rowcount == 1


def mark_sent(engine: Engine, row: OutboxMessage, worker: str, result: dict[str, Any]) -> bool:
    return _mark(engine, row, worker, status="sent", sent_at=utcnow(), result=result, last_error=None)


def mark_retry(engine: Engine, row: OutboxMessage, worker: str, error: str, delay: timedelta) -> bool:
    return _mark(engine, row, worker, status="pending", due_at=utcnow() + delay, last_error=error[:500])


def mark_failed(engine: Engine, row: OutboxMessage, worker: str, error: str) -> bool:
    return _mark(engine, row, worker, status="failed", last_error=error[:500])


def release_dead_local(engine: Engine, host: str, alive: Callable[[int], bool]) -> int:
    """Rows claimed by a sender on this host whose process is gone (killed mid-send): claimable again now,
    instead of after their lease. Senders on other hosts are left to their leases."""
    with engine.begin() as conn:
        claimed = conn.execute(
            sa_select(OUTBOX.c.id, OUTBOX.c.claimed_by).where(
                OUTBOX.c.status == "claimed", OUTBOX.c.claimed_by.like(f"{host}:%")
            )
        ).all()
        dead = [
            row_id
            for row_id, worker in claimed
            if (worker or "").rpartition(":")[2].isdecimal() and not alive(int(worker.rpartition(":")[2]))
        ]
        if dead:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(dead), OUTBOX.c.status == "claimed")
                .values(status="pending", claimed_by=None, claimed_until=None, due_at=utcnow())
            )
    return len(dead)


def give_back(engine: Engine, rows: Sequence[OutboxMessage], worker: str) -> None:
    """Hand claimed rows back unsent, their attempt not counted (an earlier message to the same place failed)."""
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([r.id for r in rows]), OUTBOX.c.claimed_by == worker, OUTBOX.c.status == "claimed")
            .values(status="pending", claimed_by=None, claimed_until=None, attempts=OUTBOX.c.attempts - 1)
        )


def after_form_shown(engine: Engine, row_id: int, shown: int) -> None:
    """The adapter showed a held row's form itself (and the `shown` notes before it): send only what is left."""
    with Session(engine) as session:
        row = session.get(OutboxMessage, row_id)
        if row is None or row.status != "pending":
            return
        prompts = row.payload.get("prompts", [])
        form_at = next((i for i, p in enumerate(prompts) if p.get("kind") == "form"), None)
        if form_at is None:
            return
        left = prompts[: form_at - shown] + prompts[form_at + 1 :] if shown <= form_at else prompts[form_at + 1 :]
        if left:
            row.payload = {**row.payload, "prompts": left}
            row.due_at = utcnow()
        else:
            row.status, row.sent_at, row.result = "sent", utcnow(), {"shown_by": "adapter"}
        session.add(row)
        session.commit()


def release_now(engine: Engine, row_id: int) -> None:
    """A held row goes out now (the adapter could not show its form itself)."""
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "pending").values(due_at=utcnow()))


def pending_count(engine: Engine) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        return conn.execute(
            sa_select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status.in_(("pending", "claimed")))
        ).scalar_one()


def next_due(engine: Engine) -> datetime | None:
    """When the soonest pending row falls due (None when nothing is waiting)."""
    from sqlalchemy import func

    with engine.connect() as conn:
        value = conn.execute(sa_select(func.min(OUTBOX.c.due_at)).where(OUTBOX.c.status == "pending")).scalar()
    return as_utc(value) if value is not None else None
