"""Benchmark: find-and-claim due reminders and one sweep, at 10k and 100k open requests, SQLite and PostgreSQL.

`--quick` runs at 1k and 2k requests in a few seconds (the test suite does, so the benchmark can't rot).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, create_engine, insert, text, update  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from bot.config import PracticeSettings  # noqa: E402
from bot.db import open_database  # noqa: E402
from bot.services.reminders import claim_due, ladder, sweep  # noqa: E402
from bot.store import Member, RecordsRequest, Reminder  # noqa: E402

TARGET_MS = 50.0
SIZES = (10_000, 100_000)
DUE_COUNTS = (100, 1000)
RUNS = 7
QUICK = {"SIZES": (1_000, 2_000), "DUE_COUNTS": (10, 100), "RUNS": 3}
NOW = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
PRACTICE = PracticeSettings.model_validate({"timezone": "America/New_York", "members": [{"name": "Dana"}]})
T = Reminder.__table__  # type: ignore[attr-defined]
COMPOSITE = "CREATE INDEX IF NOT EXISTS ix_reminders_status_due_at ON reminders (status, due_at)"


class StandIn(SimpleNamespace):
    """A plain stand-in for a request (100k SQLModel objects would dominate the seeding time) that still answers
    the model's own rules, so it can't drift from them."""

    effective_due = RecordsRequest.effective_due
    extension_available = RecordsRequest.extension_available
    extension_open = RecordsRequest.extension_open
    answered_on = RecordsRequest.answered_on


@dataclass
class Row:
    backend: str
    requests: int
    reminders: int
    index: str
    due: int
    claim_ms: float
    sweep_ms: float | None


def seed(engine: Engine, n: int) -> tuple[int, list[dict]]:
    """n open requests received over the last 40 days with their ladders; everything already past is history
    (sent), except a pool of acknowledgement reminders that can be made due on demand."""
    rng = random.Random(n)
    with engine.begin() as conn:
        conn.execute(
            insert(Member.__table__), [{"name": "Dana", "role": "clinician", "licensed": True, "active": True}]
        )  # type: ignore[attr-defined]
        owner = conn.execute(text("SELECT id FROM members WHERE name = 'Dana'")).scalar_one()
    requests, reminders, pool = [], [], []
    for i in range(1, n + 1):
        received = NOW.date() - timedelta(days=rng.randrange(0, 40))
        due_on = received + timedelta(days=30)
        request = StandIn(
            id=i,
            reference=f"RR-B-{i:06d}",
            owner_id=owner,
            received_on=received,
            due_on=due_on,
            extended_due_on=received + timedelta(days=60),
            extended_to=None,
            extension_notice_sent_on=None,
            acknowledged_on=None,
            released_on=None,
            deadline={},
            denial={},
            status="open",
        )
        requests.append(
            {
                "id": i,
                "reference": request.reference,
                "client_label": "x",
                "requester_type": "client",
                "therapy_format": "individual",
                "parties": [],
                "received_on": request.received_on,
                "access_type": "copy",
                "form": "electronic",
                "delivery": "portal",
                "language": "en",
                "third_party_direction": False,
                "direction_on_file": False,
                "jurisdiction": "US",
                "due_on": request.due_on,
                "extended_due_on": request.extended_due_on,
                "deadline": {},
                "status": "open",
                "step": "review",
                "owner_id": owner,
                "release": {},
                "denial": {},
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        for row in ladder(request, PRACTICE):  # type: ignore[arg-type]
            past = row["due_at"] <= NOW
            row.update(
                request_id=i,
                target_kind="member",
                target="Dana",
                status="sent" if past else "pending",
                sent_at=row["due_at"] if past else None,
                attempts=1 if past else 0,
                consult_id=None,
            )
            reminders.append(row)
            if past and row["kind"] == "ack" and len(pool) < max(DUE_COUNTS):
                pool.append({"k": row["dedupe_key"], "p": row["payload"]})
    with engine.begin() as conn:
        for start in range(0, len(requests), 20_000):
            conn.execute(insert(RecordsRequest.__table__), requests[start : start + 20_000])  # type: ignore[attr-defined]
        for start in range(0, len(reminders), 50_000):
            conn.execute(insert(T), reminders[start : start + 50_000])
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return len(reminders), pool


def make_due(engine: Engine, rows: list[dict], status: str) -> None:
    """Turn pool rows into due pending reminders (or back into history)."""
    with engine.begin() as conn:
        conn.execute(
            update(T)
            .where(T.c.dedupe_key == bindparam("k"))
            .values(
                status=status,
                payload=bindparam("p"),
                sent_at=None if status == "pending" else NOW,
                claimed_by=None,
                claimed_until=None,
                attempts=0,
            ),
            rows,
        )


def claim_median(engine: Engine, due: int) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        got = claim_due(engine, worker="bench", now=NOW, limit=100)
        times.append((time.perf_counter() - started) * 1000)
        assert len(got) == min(due, 100), len(got)
        with engine.begin() as conn:  # hand them back for the next run
            conn.execute(
                update(T)
                .where(T.c.claimed_by == "bench")
                .values(status="pending", claimed_by=None, claimed_until=None, attempts=0)
            )
    return statistics.median(times)


def sweep_median(engine: Engine, pool: list[dict], due: int) -> tuple[float, float]:
    claims, totals = [], []
    for _ in range(3 if due <= 100 else 1):
        make_due(engine, pool[:due], "pending")
        report = sweep(engine, PRACTICE, lambda _outbound: None, now=NOW, worker="bench")
        assert report.sent == due, report
        claims.append(report.query_ms)
        totals.append(report.total_ms)
        make_due(engine, pool[:due], "sent")
    return statistics.median(claims), statistics.median(totals)


def measure(backend: str, engine: Engine, n: int) -> list[Row]:
    started = time.perf_counter()
    stored, pool = seed(engine, n)
    print(
        f"  {backend}: seeded {n:,} requests and {stored:,} reminders in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rows = []
    due = DUE_COUNTS[0]
    make_due(engine, pool[:due], "pending")
    # baseline, same run: the single-column indexes the first schema had, without the composite claim index
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_reminders_status_due_at"))
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_reminders_status ON reminders (status)"))
        conn.execute(text("ANALYZE"))
    rows.append(Row(backend, n, stored, "status, due_at (separate)", due, claim_median(engine, due), None))
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_reminders_status"))
        conn.execute(text(COMPOSITE))  # the schema's own index (migration 0002)
        conn.execute(text("ANALYZE"))
    rows.append(Row(backend, n, stored, "(status, due_at)", due, claim_median(engine, due), None))
    make_due(engine, pool[:due], "sent")
    for due in DUE_COUNTS:
        claim_ms, sweep_ms = sweep_median(engine, pool, due)
        rows.append(Row(backend, n, stored, "(status, due_at) sweep", due, claim_ms / max(1, -(-due // 100)), sweep_ms))
    return rows


@contextmanager
def sqlite_database() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as folder:
        engine = open_database(f"sqlite:///{folder}/bench.db", auto_upgrade=True)
        try:
            yield engine
        finally:
            engine.dispose()


def postgres_base() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return url
    except Exception:
        return None


@contextmanager
def postgres_database(base: str) -> Iterator[Engine]:
    name = f"records_bot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = open_database(make_url(base).set(database=name).render_as_string(hide_password=False), auto_upgrade=True)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 2k requests, in seconds (what the tests run)")
    if parser.parse_args(argv).quick:
        globals().update(QUICK)  # the sizes every function here reads
    results: list[Row] = []
    pg = postgres_base()
    backends = [("sqlite", sqlite_database)]
    if pg:
        backends.append(("postgresql", lambda: postgres_database(pg)))
    else:
        print("PostgreSQL: skipped (no server answers; set TEST_DATABASE_URL)")
    for name, database in backends:
        for n in SIZES:
            with database() as engine:
                results.extend(measure(name, engine, n))

    print()
    print("claim = one atomic find-and-claim statement for up to 100 due rows (median of runs, ms)")
    print(
        "sweep = claim, re-read each request, render, no-op deliver, mark sent (median of 3 runs; 1 run for 1000 due; ms)"
    )
    print(
        f"{'backend':<11} {'requests':>9} {'reminders':>10} {'index':<27} {'due':>5} {'claim ms':>9} {'sweep ms':>9} {'ms/due':>7}"
    )
    failed = False
    for r in results:
        sweep_text = f"{r.sweep_ms:9.1f} {r.sweep_ms / r.due:7.2f}" if r.sweep_ms is not None else f"{'':>9} {'':>7}"
        verdict = ""
        if r.index == "(status, due_at)":
            ok = r.claim_ms < TARGET_MS
            failed |= not ok
            verdict = f"  {'PASS' if ok else 'FAIL'} (< {TARGET_MS:.0f} ms)"
        print(
            f"{r.backend:<11} {r.requests:>9,} {r.reminders:>10,} {r.index:<27} {r.due:>5} {r.claim_ms:9.2f} {sweep_text}{verdict}"
        )
    for name, _ in backends:
        per_size = {
            r.requests: r.sweep_ms
            for r in results
            if r.backend == name and r.sweep_ms is not None and r.due == DUE_COUNTS[0]
        }
        small, large = per_size[SIZES[0]], per_size[SIZES[-1]]
        print(
            f"{name}: sweep of {DUE_COUNTS[0]} due at {SIZES[-1]:,} vs {SIZES[0]:,} requests: x{large / small:.2f} "
            f"(stored grew x{SIZES[-1] // SIZES[0]}); growth with due is in the ms/due column"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
