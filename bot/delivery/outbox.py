"""The outbox: what the bot must say, as rows written with the change that causes it, claimed and marked sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bot.prompts import Prompt, prompt_from_dict, prompt_to_dict
from bot.store import OutboxMessage, as_utc, utcnow

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
DEFAULT_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12  # with backoff doubling to 5 minutes: about 40 minutes of trying before a message is given up
HOLD = timedelta(seconds=30)  # a form the adapter opens itself goes out as a message only if that fails or dies


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
    held: bool = False,
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
        held=held,
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
    skip_destinations: Sequence[str] = (),
) -> list[OutboxMessage]:
    """Atomically claim up to `limit` due rows (and rows whose sender died mid-send), oldest first.

    A row is claimed only when nothing older to the same destination is still waiting or being sent, by this
    process or another: messages to one person or channel go out in the order they were written, whatever fails
    and is retried, and never two at once. One UPDATE ... WHERE id IN (SELECT ...) RETURNING; on PostgreSQL the
    SELECT skips rows another process has locked (SKIP LOCKED), so several `serve` processes share the outbox.
    """
    now = as_utc(now or utcnow())

    def claimable(table: Any) -> Any:
        return or_(
            and_(table.c.status == "pending", table.c.due_at <= now),
            and_(table.c.status == "claimed", table.c.claimed_until < now),
        )

    # the candidates are read from an alias: a plain `outbox` inside the UPDATE would correlate to the row being
    # updated and turn LIMIT into "every row"
    candidate, earlier = OUTBOX.alias("candidate"), OUTBOX.alias("earlier")
    waiting_before = exists().where(
        earlier.c.platform == candidate.c.platform,
        earlier.c.destination == candidate.c.destination,
        earlier.c.id < candidate.c.id,
        earlier.c.status.in_(("pending", "claimed")),
        earlier.c.held == false(),  # a form held for the adapter to show itself holds nothing up
    )
    target = sa_select(candidate.c.id).where(claimable(candidate), ~waiting_before)
    if platforms is not None:  # a process claims only what it can send
        target = target.where(candidate.c.platform.in_(list(platforms)))
    if skip_destinations:  # this process is sending to them already
        target = target.where(candidate.c.destination.notin_(list(skip_destinations)))
    target = target.order_by(candidate.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        # a CTE runs once; as an IN (subquery) PostgreSQL may run it again per row and LIMIT stops limiting
        chosen = target.with_for_update(of=candidate, skip_locked=True).cte("chosen")
        ids: Any = sa_select(chosen.c.id)
    else:
        ids = target.scalar_subquery()
    statement = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), claimable(OUTBOX))
        .values(status="claimed", claimed_by=worker, claimed_until=now + lease, attempts=OUTBOX.c.attempts + 1)
        .returning(*OUTBOX.c)
    )
    with engine.begin() as conn:
        rows = conn.execute(statement).mappings().all()
    return sorted((OutboxMessage(**dict(row)) for row in rows), key=lambda r: r.id or 0)


def _mark(engine: Engine | Connection, row: OutboxMessage, worker: str, **values: Any) -> bool:
    """Change a claimed row only while this worker still holds it; False if its lease was lost meanwhile.

    Given a connection, the change is part of the caller's transaction."""
    statement = (
        update(OUTBOX)
        .where(OUTBOX.c.id == row.id, OUTBOX.c.claimed_by == worker, OUTBOX.c.status == "claimed")
        .values(claimed_by=None, claimed_until=None, **values)
    )
    if isinstance(engine, Connection):
        return engine.execute(statement).rowcount == 1
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def mark_sent(engine: Engine, row: OutboxMessage, worker: str, result: dict[str, Any]) -> bool:
    return _mark(engine, row, worker, status="sent", sent_at=utcnow(), result=result, last_error=None)


def mark_retry(engine: Engine, row: OutboxMessage, worker: str, error: str, delay: timedelta) -> bool:
    return _mark(engine, row, worker, status="pending", due_at=utcnow() + delay, last_error=error[:500])


def mark_failed(engine: Engine | Connection, row: OutboxMessage, worker: str, error: str) -> bool:
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


def release_worker(engine: Engine, worker: str) -> None:
    """Every row `worker` still holds goes back to pending now (a clean shutdown), its attempt not counted."""
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.claimed_by == worker, OUTBOX.c.status == "claimed")
            .values(status="pending", claimed_by=None, claimed_until=None, attempts=OUTBOX.c.attempts - 1)
        )


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
    """The adapter showed a held row's form itself (and the `shown` notes before it): send only what is left.

    Guarded on the row still being pending: if the sender took it meanwhile, it goes out as written.
    """
    with engine.begin() as conn:
        row = conn.execute(
            sa_select(OUTBOX.c.payload).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "pending")
        ).first()
        if row is None:
            return
        prompts = (row.payload or {}).get("prompts", [])
        form_at = next((i for i, p in enumerate(prompts) if p.get("kind") == "form"), None)
        if form_at is None:
            return
        left = prompts[: max(form_at - shown, 0)] + prompts[form_at + 1 :]
        guard = update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "pending")
        if left:
            conn.execute(guard.values(payload={**row.payload, "prompts": left}, due_at=utcnow(), held=False))
        else:
            conn.execute(guard.values(status="sent", sent_at=utcnow(), result={"shown_by": "adapter"}, held=False))


def release_now(engine: Engine, row_id: int) -> None:
    """A held row goes out now (the adapter could not show its form itself)."""
    with engine.begin() as conn:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == row_id, OUTBOX.c.status == "pending").values(due_at=utcnow()))


def pending_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa_select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status.in_(("pending", "claimed")))
        ).scalar_one()


def next_due(engine: Engine) -> datetime | None:
    """When the soonest pending row falls due (None when nothing is waiting)."""
    with engine.connect() as conn:
        value = conn.execute(sa_select(func.min(OUTBOX.c.due_at)).where(OUTBOX.c.status == "pending")).scalar()
    return as_utc(value) if value is not None else None
