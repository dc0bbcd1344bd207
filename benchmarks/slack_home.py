"""What a supervisor (and a clinician) waits for when opening the App Home: app_home_opened sent -> views.publish
reached Slack, for records-bot over a seeded practice history and for a bare Bolt app publishing a static Home
view with as many blocks (no database), same fake Slack, same run.

Run: uv run python benchmarks/slack_home.py [--requests 2000] [--open 200] [--members 12] [--opens 40]
                                           [--concurrency 4] [--database-url postgresql+psycopg://...] [--quick]
Prints p50/p99 for each, the published views' block counts (Slack takes at most 100) and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, func, select  # noqa: E402

from benchmarks.slack_ack import MemoryWatch, free_port, practice_file, wait_healthy  # noqa: E402
from benchmarks.slack_intake import start  # noqa: E402
from bot.config import load_practice  # noqa: E402
from bot.context import sync_members  # noqa: E402
from bot.db import open_database  # noqa: E402
from bot.domain.deadlines import due_dates  # noqa: E402
from bot.store import Draft, FlowRun, Member, RecordsRequest, ReferenceCounter  # noqa: E402
from tests.fakes.slack_api import FakeSlackAPI, event_callback, sign  # noqa: E402

SECRET = "bench-signing-secret"
SUPERVISOR = "U_SUPERVISOR"
VIEW_BLOCKS = 100  # Slack's limit for a Home view
TARGET_SUPERVISOR_MS = 500
TARGET_CLINICIAN_MS = 300
QUICK = {"requests": 200, "open": 30, "opens": 10}

# where an open request's run stands: (step, the request's status), weighted like a practice's working week
OPEN_STEPS = (
    ("acknowledge", "open", 3),
    ("timeframe", "acknowledged", 2),
    ("review", "in_review", 4),
    ("findings", "in_review", 2),
    ("consult", "in_review", 1),
    ("decision", "in_review", 2),
    ("release", "in_review", 1),
    ("follow_up", "released", 2),  # released, the follow-up question not answered yet: still on the lists
)


# ---- the practice's history --------------------------------------------------------------------------------------


def seed(url: str, practice_path: Path, *, total: int, open_count: int, today: date) -> dict[str, int]:
    """`total` requests received over two years, the newest `open_count` of them open with an active run; the rest
    closed (most released, some denied with a sent denial letter, a few cancelled, two under a board complaint),
    each with its finished run and letters. One session, added in bulk."""
    practice = load_practice(practice_path)
    engine = open_database(url, auto_upgrade=url.startswith("sqlite"))  # PostgreSQL: `db upgrade` ran before
    sync_members(engine, practice)
    rng = random.Random(total * 1000 + open_count)
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(RecordsRequest)).one():
            raise SystemExit("the database already holds requests: give the benchmark an empty one")
        clinicians = [m for m in session.exec(select(Member).where(Member.role == "clinician")).all()]
        supervisor = session.exec(select(Member).where(Member.role == "supervisor")).one()
        # the oldest first, so references count up through the two years like real ones
        received = sorted(today - timedelta(days=rng.randrange(45, 730)) for _ in range(total - open_count))
        received += sorted(today - timedelta(days=rng.randrange(0, 45)) for _ in range(open_count))
        numbers: dict[int, int] = {}
        requests, runs, drafts = [], [], []
        closed = total - open_count
        complaints = set(rng.sample(range(closed), min(2, closed)))
        for n, day in enumerate(received):
            numbers[day.year] = numbers.get(day.year, 0) + 1
            owner = clinicians[n % len(clinicians)]
            access = "inspect" if rng.random() < 0.05 else "copy"
            deadline = due_dates(day, practice.jurisdiction, access, hipaa_covered=practice.hipaa_covered_entity)
            extended = rng.random() < (0.08 if n >= closed else 0.04)
            request = RecordsRequest(
                reference=f"RR-{day.year}-{numbers[day.year]:04d}",
                client_label=f"{chr(65 + rng.randrange(26))}{chr(65 + rng.randrange(26))}-{rng.randrange(1, 999)}",
                client_contact=None,
                requester_type=rng.choice(("client", "client", "client", "representative")),
                received_on=day,
                access_type=access,
                scope_note="all records",
                form=rng.choice(("electronic", "electronic", "paper")),
                delivery=rng.choice(("portal", "portal", "email", "mail")),
                due_on=deadline.due,
                extended_due_on=deadline.extended_due,
                deadline={**deadline.to_json(), "fee": {"total_cents": 650, "notes": []}},
                fee_estimate_cents=650,
                acknowledged_on=day + timedelta(days=rng.randrange(0, 3)),
                owner_id=owner.id,
                created_at=datetime.combine(day, clock(15), UTC),
                updated_at=datetime.combine(day, clock(15), UTC),
            )
            if extended:
                request.extension_reason = "records in off-site storage"
                request.extension_notice_sent_on = day + timedelta(days=20)
                request.extended_to = deadline.extended_due
            run = FlowRun(
                flow="records_request",
                member_id=owner.id,
                answers={"intake": {"client_label": request.client_label, "access_type": access}},
                version=rng.randrange(4, 30),
                created_at=request.created_at,
                updated_at=request.updated_at,
            )
            letters: list[Draft] = []
            if n >= closed:  # open now
                step, status = rng.choices([s[:2] for s in OPEN_STEPS], [s[2] for s in OPEN_STEPS])[0]
                request.step, request.status = step, status
                if step == "acknowledge":
                    request.acknowledged_on = None
                if status == "released":
                    request.released_on = today - timedelta(days=rng.randrange(0, 5))
                    letters.append(_letter("release_cover", request.released_on, supervisor))
                run.step, run.status = step, "active"
            else:
                answered = day + timedelta(days=rng.randrange(3, 35))
                roll = rng.random()
                request.step, request.status, request.closed_on = "closed", "closed", answered + timedelta(days=14)
                request.outcome = "board_complaint" if n in complaints else "moved_on"
                if roll < 0.04:
                    request.status, request.outcome, request.step = "cancelled", "cancelled", "closed"
                    request.closed_on, request.acknowledged_on = day + timedelta(days=2), None
                elif roll < 0.14:  # denied: the letter's date is the answer
                    kind = "partial_denial" if roll < 0.06 else "denial"
                    request.denial = {"grounds": ["harm"], "sent_on": answered.isoformat()}
                    letters.append(_letter(kind, answered, supervisor))
                    if kind == "partial_denial":
                        request.released_on = answered
                else:
                    request.released_on = answered
                    request.release = {"released_on": answered.isoformat(), "pages": rng.randrange(3, 80)}
                    letters.append(_letter("release_cover", answered, supervisor))
                run.step, run.status = "follow_up", "done"
            requests.append(request)
            runs.append(run)
            drafts.append(letters)
        session.add_all(requests)
        session.flush()
        for request, run, letters in zip(requests, runs, drafts, strict=True):
            run.request_id = request.id
            for letter in letters:
                letter.request_id = request.id
        session.add_all(runs)
        session.add_all([letter for letters in drafts for letter in letters])
        session.add_all([ReferenceCounter(year=year, last=last) for year, last in numbers.items()])
        session.commit()
        counts = {
            "requests": len(requests),
            "open": sum(1 for r in runs if r.status == "active"),
            "letters": sum(len(letters) for letters in drafts),
            "clinicians": len(clinicians),
        }
    engine.dispose()
    return counts


def _letter(kind: str, sent_on: date, author: Member) -> Draft:
    body = f"# {kind.replace('_', ' ').title()}\n\n" + "The practice has reviewed your request for records. " * 30
    return Draft(kind=kind, body=body, created_by_id=author.id, sent_on=sent_on)


# ---- opening the Home tab ------------------------------------------------------------------------------------------


@dataclass
class Opens:
    name: str
    latencies: list[float] = field(default_factory=list)  # event sent -> views.publish for that user reached Slack
    blocks: list[int] = field(default_factory=list)  # blocks in each published view
    failed: int = 0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def home_opened(user: str) -> str:
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user.removeprefix("U"),
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    return event_callback(event)


async def run_opens(name: str, url: str, fake: FakeSlackAPI, users: list[str], concurrency: int) -> Opens:
    """Each user in `users` opens the Home tab, `concurrency` at a time. The same user may have several opens in
    flight, each answered by one views.publish: the n-th publish to a user answers their n-th open (first in, first
    out), which can't make an answer earlier than its open."""
    result = Opens(name)
    published: dict[str, list[Any]] = {}  # user -> the views.publish calls for them since the run began
    sent: dict[str, int] = {}
    with fake._lock:
        seen = len(fake.calls)

    def collect() -> None:
        nonlocal seen
        with fake._lock:
            fresh = fake.calls[seen:]
        seen += len(fresh)
        for call in fresh:
            if call.method == "views.publish":
                published.setdefault(str(call.args.get("user_id")), []).append(call)

    queue: asyncio.Queue[str] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(user: str) -> None:
            n = sent.get(user, 0)
            sent[user] = n + 1
            body = home_opened(user)
            started = time.monotonic()
            async with session.post(url, data=body.encode(), headers=sign(SECRET, body)) as response:
                await response.read()
                if response.status != 200:
                    result.failed += 1
                    return
            deadline = started + 30
            while time.monotonic() < deadline:
                collect()
                if len(published.get(user, [])) > n:
                    call = published[user][n]
                    if not call.ok:
                        result.failed += 1
                        return
                    result.latencies.append(call.at - started)
                    result.blocks.append(len(call.args["view"]["blocks"]))
                    return
                await asyncio.sleep(0.002)
            result.failed += 1

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return result


def opens(url: str, fake: FakeSlackAPI, name: str, users: list[str], concurrency: int) -> Opens:
    asyncio.run(run_opens(f"{name} (warm-up)", url, fake, users[:1], 1))  # the first open pays for imports
    return asyncio.run(run_opens(name, url, fake, users, concurrency))


# ---- the run --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests over two years, open and closed")
    parser.add_argument("--open", type=int, default=200, help="of them open, each with an active run")
    parser.add_argument("--members", type=int, default=12, help="clinicians owning the requests (and a supervisor)")
    parser.add_argument("--opens", type=int, default=40, help="Home opens for each of the supervisor and clinicians")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--quick", action="store_true", help="200 requests, 30 open, 10 opens each (the tests)")
    args = parser.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    if not 0 < args.open <= args.requests:
        parser.error("--open must be between 1 and --requests")

    tmp = Path(tempfile.mkdtemp(prefix="slack-home-"))
    fake = FakeSlackAPI().start()
    base = os.environ | {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "PYTHONPATH": str(ROOT),
    }
    base.pop("SLACK_APP_TOKEN", None)
    processes: list[subprocess.Popen] = []
    try:
        # ---- the practice and its history ----
        practice = practice_file(tmp, args.members)
        with practice.open("a") as f:
            f.write(f'\n[[members]]\nname = "Supervisor"\nrole = "supervisor"\nslack_user_id = "{SUPERVISOR}"\n')
        url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
        env = base | {
            "DATABASE_URL": url,
            "PRACTICE_FILE": str(practice),
            "POLL_INTERVAL_SECONDS": "3600",
            "RECORDS_BOT_KEY_FILE": str(tmp / "key"),
        }
        if args.database_url:
            cli = [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"]
            subprocess.run(cli, env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        today = datetime.now(load_practice(practice).tz).date()
        started = time.perf_counter()
        seeded = seed(url, practice, total=args.requests, open_count=args.open, today=today)
        backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        print(
            f"{backend}: seeded {seeded['requests']:,} requests ({seeded['open']} open, each with an active run), "
            f"{seeded['letters']:,} letters, {seeded['clinicians']} clinicians and a supervisor "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        clinicians = [f"U_B{n % args.members:04d}" for n in range(args.opens)]

        # ---- records-bot serve ----
        port = free_port()
        serve = [sys.executable, "-c", "from bot.cli import main; main()", "serve"]
        if os.environ.get("BENCH_PROFILE"):  # a cProfile of the server, written when it stops
            serve = [sys.executable, os.environ["BENCH_PROFILE"]]
        ours = start(serve, env | {"PORT": str(port)}, tmp, tmp / "ours.log")
        processes.append(ours)
        wait_healthy(port, ours)
        events = f"http://127.0.0.1:{port}/slack/events"
        watch = MemoryWatch(ours.pid)
        supervisor_run = opens(events, fake, "records-bot / supervisor", [SUPERVISOR] * args.opens, args.concurrency)
        clinician_run = opens(events, fake, "records-bot / clinician", clinicians, args.concurrency)
        our_peak = watch.stop()
        ours.terminate()
        ours.wait(20)

        # ---- the bare Bolt app: a static Home view as big as the supervisor's ----
        blocks = max(supervisor_run.blocks, default=VIEW_BLOCKS)
        port = free_port()
        bare = start(
            [sys.executable, str(ROOT / "benchmarks" / "bare_bolt.py")],
            base | {"PORT": str(port), "BARE_HOME_BLOCKS": str(blocks)},
            tmp,
            tmp / "bare.log",
        )
        processes.append(bare)
        wait_healthy(port, bare)
        watch = MemoryWatch(bare.pid)
        bare_run = opens(
            f"http://127.0.0.1:{port}/slack/events", fake, "bare Bolt / static Home", [SUPERVISOR] * args.opens, 4
        )
        bare_peak = watch.stop()
        bare.terminate()
        bare.wait(10)

        print(
            f"\n{args.requests} requests ({args.open} open) over two years, {args.members} clinicians and a supervisor; "
            f"{args.opens} Home opens each at concurrency {args.concurrency} (after one warm-up open)\n"
        )
        print(f"{'app / who opens Home':28} {'p50 ms':>8} {'p99 ms':>8} {'blocks':>8} {'failed':>7} {'peak MB':>8}")
        for run, peak in ((bare_run, bare_peak), (supervisor_run, our_peak), (clinician_run, our_peak)):
            shown = f"{min(run.blocks)}-{max(run.blocks)}" if run.blocks and min(run.blocks) != max(run.blocks) else ""
            shown = shown or (str(run.blocks[0]) if run.blocks else "-")
            print(
                f"{run.name:28} {run.pct(0.5):8.0f} {run.pct(0.99):8.0f} {shown:>8} {run.failed:7d} {peak / 2**20:8.0f}"
            )
        supervisor_p99, clinician_p99 = supervisor_run.pct(0.99), clinician_run.pct(0.99)
        ratio = supervisor_p99 / bare_run.pct(0.99) if bare_run.latencies else float("nan")
        print(f"\nratio (records-bot supervisor / bare Bolt): p99 {ratio:.1f}x, memory {our_peak / bare_peak:.2f}x")
        fits = all(b <= VIEW_BLOCKS for b in supervisor_run.blocks + clinician_run.blocks)
        complete = not (supervisor_run.failed or clinician_run.failed or bare_run.failed)
        print(
            "targets: supervisor Home p99 < {} ms: {}; clinician Home p99 < {} ms: {}; views <= {} blocks: {}; "
            "every open published: {}".format(
                TARGET_SUPERVISOR_MS,
                "PASS" if supervisor_p99 < TARGET_SUPERVISOR_MS else "FAIL",
                TARGET_CLINICIAN_MS,
                "PASS" if clinician_p99 < TARGET_CLINICIAN_MS else "FAIL",
                VIEW_BLOCKS,
                "PASS" if fits else "FAIL",
                "PASS" if complete else "FAIL",
            )
        )
        lines = (tmp / "ours.log").read_text().splitlines()
        if lines:
            print(f"\nours.log: {len(lines)} lines; the last few:", *lines[-5:], sep="\n  ")
        if not (fits and complete):
            sys.exit(1)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
