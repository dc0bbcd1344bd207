"""Two server processes on one database, 1,000 reminders due at once: each is delivered exactly once."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from datetime import UTC, date, datetime

from sqlmodel import select

from bot.config import PracticeSettings
from bot.context import sync_members
from bot.db import open_database
from bot.services.reminders import plan_reminders, sweep
from bot.store import Member, RecordsRequest, Reminder, make_engine, session_scope

DUE = 1000
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # every request's acknowledgement reminder is due, nothing else
PRACTICE = {"timezone": "America/New_York", "members": [{"name": "Dana"}]}


def seed(url: str) -> None:
    engine = open_database(url, auto_upgrade=True)
    practice = PracticeSettings.model_validate(PRACTICE)
    sync_members(engine, practice)
    with session_scope(engine) as session:
        dana = session.exec(select(Member.id).where(Member.name == "Dana")).one()
        for n in range(DUE):
            request = RecordsRequest(
                reference=f"RR-2026-{n:04d}",
                client_label="x",
                received_on=date(2026, 12, 1),
                due_on=date(2026, 12, 31),
                owner_id=dana,
            )
            session.add(request)
            session.flush()
            plan_reminders(session, request, practice)
    engine.dispose()


def sweeper(url: str, out_path: str, name: str, go) -> None:
    """One 'server process': wait for the starting gun, then sweep with a slowish delivery that logs each message."""
    engine = make_engine(url)
    practice = PracticeSettings.model_validate(PRACTICE)
    fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def deliver(outbound) -> None:
        reference = outbound.prompts[0].header.split(" ")[0]
        # O_APPEND: each line lands whole, whichever process writes it
        os.write(fd, f"{name}|{outbound.target}|{reference}\n".encode())
        time.sleep(0.0005)

    go.wait()
    sweep(engine, practice, deliver, now=NOW, worker=name, limit=25)
    os.close(fd)
    engine.dispose()


def race(url: str, tmp_path) -> None:
    seed(url)
    out = tmp_path / "deliveries.log"
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    workers = [ctx.Process(target=sweeper, args=(url, str(out), f"server-{i}", go)) for i in (1, 2)]
    for w in workers:
        w.start()
    time.sleep(1.0)  # both processes imported and waiting
    go.set()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0

    lines = [line.split("|") for line in out.read_text().splitlines()]
    per_message = Counter((target, reference) for _, target, reference in lines)
    assert len(per_message) == 2 * DUE  # a channel post and a DM for every request
    assert set(per_message.values()) == {1}  # ... and not one of them twice
    by_worker = Counter(worker for worker, _, _ in lines)
    assert len(by_worker) == 2, by_worker  # both processes really took part

    engine = make_engine(url)
    with session_scope(engine) as session:
        statuses = Counter(session.exec(select(Reminder.status).where(Reminder.kind == "ack")).all())
    engine.dispose()
    assert statuses == {"sent": DUE}


def test_two_processes_on_one_sqlite_file_send_each_reminder_once(tmp_path):
    race(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path)


def test_two_processes_on_one_postgresql_database_send_each_reminder_once(postgres_url, tmp_path):
    race(postgres_url, tmp_path)
