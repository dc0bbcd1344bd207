"""The outbox sender: claims due rows, sends each through its platform's transport, retries, marks, reports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.delivery import outbox
from bot.delivery.routing import Router
from bot.prompts import Prompt
from bot.store import Member, OutboxMessage, utcnow
from bot.text import say

log = logging.getLogger("records_bot.outbox")


class DeliveryFailed(Exception):
    """A send that did not go through. Transient ones are retried (after retry_after when the platform says so)."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.permanent, self.retry_after = reason, permanent, retry_after


class Transport(Protocol):
    """One platform's way of sending an outbox row; returns where the message landed (e.g. channel and ts)."""

    platform: str

    async def send(self, row: OutboxMessage) -> dict[str, Any]: ...


class SenderPort(Protocol):
    """What an adapter uses of the sender: wake it, and settle a held form it showed itself (or could not)."""

    def kick(self) -> None: ...

    def form_shown(self, row_id: int, shown: int) -> None: ...

    def form_not_shown(self, row_id: int) -> None: ...


CLAIM_BATCH = 50


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """1, 2, 4 … seconds up to 5 minutes, with jitter; never sooner than the platform's Retry-After."""
    base = min(2 ** max(attempts - 1, 0), 300) * random.uniform(0.8, 1.2)
    return timedelta(seconds=max(base, retry_after or 0.0))


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    problems: list[tuple[OutboxMessage, str, bool]] = field(default_factory=list)  # (row, reason, given up)


class OutboxSender:
    """Sends what is due, soon after it is written (kick) and on a short poll; several processes may run one each."""

    def __init__(
        self,
        engine: Engine,
        router: Router,
        transports: dict[str, Transport],
        *,
        worker: str,
        poll_interval: float = 1.0,
        run: Callable[..., Awaitable[Any]] | None = None,
        lease: timedelta = outbox.DEFAULT_LEASE,
        db_executor: Executor | None = None,
    ) -> None:
        self.engine, self.router, self.transports = engine, router, transports
        self.worker, self.poll_interval, self.lease = worker, poll_interval, lease
        # the sender's database work on one thread of its own: never many writers queueing on SQLite's lock
        self._db = db_executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-db")
        self._run = run or self._in_db_thread
        self._wake: asyncio.Event | None = None
        self._busy: dict[tuple[str, str], asyncio.Task[None]] = {}  # destinations being sent to now
        self._pass: asyncio.Lock | None = None

    async def _in_db_thread(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(call, *args, **kwargs))

    def form_shown(self, row_id: int, shown: int) -> None:
        """An adapter showed a held row's form itself (a modal): only the rest of that row goes out."""
        outbox.after_form_shown(self.engine, row_id, shown)

    def form_not_shown(self, row_id: int) -> None:
        """It could not: the row goes out now as a message (its form behind a button)."""
        outbox.release_now(self.engine, row_id)

    def kick(self) -> None:
        """Something was just written: look now instead of at the next poll."""
        if self._wake is not None:
            self._wake.set()

    async def run_forever(self) -> None:
        self._wake = asyncio.Event()
        host = self.worker.rpartition(":")[0]
        if host:
            released = await self._run(outbox.release_dead_local, self.engine, host, process_alive)
            if released:
                log.warning("%d message(s) left mid-send by a stopped process on this host go out again", released)
        while True:
            try:
                await self.send_due(wait=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox pass failed; trying again shortly")
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that lands as the event is set
            # (a kick during shutdown), and this loop would then never end, hanging the server's clean-up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()

    async def send_due(self, *, wait: bool = True) -> SendReport:
        """One pass: claim what is due for the platforms this process can send through, send it, mark it.

        Each destination is sent in order by one task at a time (a step after the tick on the one before), and
        destinations never wait for each other: a records channel paced at one post a second does not hold up
        anyone's DM. wait=False (the running service) returns once the sends are started.
        """
        report = SendReport()
        started: list[asyncio.Task[None]] = []
        if self._pass is None:
            self._pass = asyncio.Lock()
        async with self._pass:  # one claiming pass at a time in this process (the poller and a drain may overlap)
            await self._claim_and_start(report, started)
        if wait and started:
            await asyncio.gather(*started)
        return report

    async def _claim_and_start(self, report: SendReport, started: list[asyncio.Task[None]]) -> None:
        while True:
            busy = sorted({destination for _, destination in self._busy})
            rows = await self._run(
                outbox.claim_due,
                self.engine,
                worker=self.worker,
                lease=self.lease,
                platforms=tuple(self.transports),
                skip_destinations=busy,
                limit=CLAIM_BATCH,
            )
            if not rows:
                break
            groups: dict[tuple[str, str], list[OutboxMessage]] = {}
            for row in rows:
                groups.setdefault((row.platform, row.destination), []).append(row)
            for key, group in groups.items():
                # the claim gives each destination its oldest waiting row only, never one being sent (skipped)
                task = asyncio.ensure_future(self._send_group(group, report))
                self._busy[key] = task
                task.add_done_callback(lambda _t, key=key: self._finished(key))
                started.append(task)
            if len(rows) < CLAIM_BATCH:
                break

    def _finished(self, key: tuple[str, str]) -> None:
        self._busy.pop(key, None)
        self.kick()  # that destination may have more waiting

    async def drain(self, timeout: float = 10.0) -> None:
        """Send until nothing is waiting, retries included, or `timeout` passes (tests and shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self.send_due()
            if self._busy:
                await asyncio.wait(list(self._busy.values()), timeout=max(deadline - loop.time(), 0.01))
                continue
            if not await self._run(outbox.pending_count, self.engine):
                return
            soonest = await self._run(outbox.next_due, self.engine)
            wait = (soonest - utcnow()).total_seconds() if soonest else 0.05  # else: another pass is mid-send
            if wait > deadline - loop.time():
                return  # held forms and far retries stay for later
            await asyncio.sleep(min(max(wait, 0.01), 0.2))

    async def _send_group(self, group: list[OutboxMessage], report: SendReport) -> None:
        for index, row in enumerate(group):
            try:
                went_on = await self._send_one(row, report)
            except Exception:  # the database failed around a send: the row's lease brings it back, the rest now
                log.exception("outbox row %s: could not record its outcome", row.id)
                went_on = False
            if not went_on:
                await self._run(outbox.give_back, self.engine, group[index + 1 :], self.worker)
                return

    async def release_mine(self) -> None:
        """At shutdown: rows this process claimed but did not send go back at once, not after their lease."""
        await self._run(outbox.release_worker, self.engine, self.worker)

    async def _send_one(self, row: OutboxMessage, report: SendReport) -> bool:
        transport = self.transports[row.platform]
        try:
            result = await transport.send(row)
        except DeliveryFailed as exc:
            return await self._failed(row, exc, report)
        except Exception as exc:  # an unexpected answer (a text error body, a dropped connection): try again later
            log.warning("outbox row %s to %s: %s", row.id, row.platform, type(exc).__name__)
            return await self._failed(row, DeliveryFailed(type(exc).__name__), report)
        if not await self._run(outbox.mark_sent, self.engine, row, self.worker, result):
            log.warning("outbox row %s was sent after its lease ran out; another sender may send it too", row.id)
        report.sent += 1
        return True

    async def _failed(self, row: OutboxMessage, exc: DeliveryFailed, report: SendReport) -> bool:
        if exc.permanent or row.attempts >= outbox.MAX_ATTEMPTS:
            log.error("outbox row %s (%s to %s) not delivered: %s", row.id, row.purpose, row.platform, exc.reason)
            await self._run(self._give_up, row, exc.reason)
            report.failed += 1
            report.problems.append((row, exc.reason, True))
            return exc.permanent  # an unreachable destination does not hold up what follows it
        if row.purpose == "step" and row.attempts == 1:
            await self._say_delayed(row)
        delay = backoff(row.attempts, exc.retry_after)
        log.info("outbox row %s: %s; retrying in %.1fs", row.id, exc.reason, delay.total_seconds())
        await self._run(outbox.mark_retry, self.engine, row, self.worker, exc.reason, delay)
        report.retried += 1
        report.problems.append((row, exc.reason, False))
        return False

    async def _say_delayed(self, row: OutboxMessage) -> None:
        """The answer was kept but its next step did not go out: say that plainly, once (best effort)."""
        say_delayed = getattr(self.transports[row.platform], "say_delayed", None)
        if say_delayed is None:
            return
        try:
            await say_delayed(row)
        except Exception:  # the platform is down altogether: the step itself will say it when it arrives
            log.info("could not tell %s that their next step is delayed", row.destination)

    def _give_up(self, row: OutboxMessage, reason: str) -> None:
        """Mark it failed and tell the person who caused it (and the admins), in one transaction."""
        with Session(self.engine) as session:
            if not outbox.mark_failed(session.connection(), row, self.worker, reason):
                return
            if row.purpose in ("problem", "update"):
                session.commit()  # never a notice about a notice; a tick that can't be shown changes nothing
                return
            notify = [row.payload.get("notify")] if row.payload.get("notify") else []
            if row.purpose == "step" and row.member_id:
                notify = []  # the person themself is the one we cannot reach
            admins = session.exec(select(Member.id).where(Member.role == "admin", Member.active == True)).all()  # noqa: E712
            member = session.get(Member, row.member_id) if row.member_id else None
            prompt = Prompt(
                kind="notice",
                text=say(
                    "delivery.unreachable",
                    kind=row.destination_kind,
                    platform=row.platform,
                    who=member.name if member else row.destination,
                    reason=reason,
                ),
            )
            targets = [m for m in [*notify, *admins] if m and m != row.member_id]
            self.router.problem(session, targets, prompt, key=str(row.id))
            session.commit()
