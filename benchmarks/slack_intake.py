"""Whole intakes under load: /records-request -> modal -> submit -> the reference in the DM, for records-bot and a
bare Bolt app doing the minimum (modal, one DM, one channel post, no database), same fake Slack, same run.

Run: uv run python benchmarks/slack_intake.py [--intakes 60] [--concurrency 10] [--members 12]
Prints intakes per second for both and the ratio, modal-open and whole-intake p50/p99, and peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.slack_ack import MemoryWatch, free_port, practice_file, wait_healthy  # noqa: E402
from tests.fakes.slack_api import FakeSlackAPI, intake_values, sign, slash_command, view_submission  # noqa: E402

SECRET = "bench-signing-secret"
TRIGGER_LIFETIME = 3.0  # Slack refuses views.open on a trigger older than this


@dataclass
class Intakes:
    name: str
    modal: list[float] = field(default_factory=list)  # slash sent -> views.open reached Slack
    whole: list[float] = field(default_factory=list)  # slash sent -> the reference reached the DM
    failed: int = 0
    seconds: float = 0.0

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    @property
    def rate(self) -> float:
        return len(self.whole) / self.seconds if self.seconds else 0.0

    @property
    def late_modals(self) -> int:
        return sum(1 for m in self.modal if m > TRIGGER_LIFETIME)


async def wait_call(fake: FakeSlackAPI, test, since: int, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """The first call since index `since` that passes test(call), polled every 5 ms (only new calls are read)."""
    deadline = time.monotonic() + timeout
    seen = since
    while time.monotonic() < deadline:
        with fake._lock:
            fresh = fake.calls[seen:]
        found = next((c for c in fresh if test(c)), None)
        if found is not None:
            return found
        seen += len(fresh)
        await asyncio.sleep(0.005)
    return None


async def run_intakes(name: str, url: str, fake: FakeSlackAPI, users: list[str], concurrency: int) -> Intakes:
    result = Intakes(name)
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for n, user in enumerate(users):
        queue.put_nowait((n, user))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def post(body: str) -> int:
            async with session.post(url, data=body.encode(), headers=sign(SECRET, body)) as response:
                await response.read()
                return response.status

        async def one(n: int, user: str) -> None:
            trigger = f"{name}.{n}"
            dm = "D" + user.removeprefix("U")
            started, mark = time.monotonic(), len(fake.calls)
            if await post(slash_command(user=user, trigger_id=trigger)) != 200:
                result.failed += 1
                return
            opened = await wait_call(
                fake, lambda c: c.method == "views.open" and c.args.get("trigger_id") == trigger, mark
            )
            if opened is None or not opened.ok:
                result.failed += 1
                return
            result.modal.append(opened.at - started)
            view = opened.response["view"]  # type: ignore[index]
            body = view_submission(
                values=intake_values(client_label=f"BX-{n}"),
                private_metadata=opened.args["view"].get("private_metadata", "{}"),
                user=user,
                view_id=view["id"],
                view_hash=view["hash"],
            )
            submitted_at, mark = time.monotonic(), len(fake.calls)
            if await post(body) != 200:
                result.failed += 1
                return
            told = await wait_call(
                fake,
                lambda c: (
                    c.method == "chat.postMessage"
                    and c.ok
                    and c.args.get("channel") == dm
                    and c.at >= submitted_at
                    and "RR-" in str(c.args.get("text", "")) + str(c.args.get("blocks", ""))
                ),
                mark,
            )
            if told is None:
                result.failed += 1
                return
            result.whole.append(told.at - started)

        async def worker() -> None:
            while not queue.empty():
                n, user = queue.get_nowait()
                await one(n, user)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.monotonic() - started
    return result


def start(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--intakes", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--members", type=int, default=12, help="distinct clinicians taking intakes")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="slack-intake-"))
    fake = FakeSlackAPI().start()
    base = os.environ | {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "PYTHONPATH": str(ROOT),
    }
    base.pop("SLACK_APP_TOKEN", None)
    users = [f"U_B{n % args.members:04d}" for n in range(args.intakes)]
    processes: list[subprocess.Popen] = []
    try:
        # ---- the bare Bolt app: modal, one DM, one channel post ----
        port = free_port()
        bare = start(
            [sys.executable, str(ROOT / "benchmarks" / "bare_bolt.py")],
            base | {"PORT": str(port), "BARE_OPENS_MODAL": "1"},
            tmp,
            tmp / "bare.log",
        )
        processes.append(bare)
        wait_healthy(port, bare)
        watch = MemoryWatch(bare.pid)
        bare_run = asyncio.run(
            run_intakes("bare", f"http://127.0.0.1:{port}/slack/events", fake, users, args.concurrency)
        )
        bare_peak = watch.stop()
        bare.terminate()
        bare.wait(10)

        # ---- records-bot serve ----
        port = free_port()
        env = base | {
            "PORT": str(port),
            "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}",
            "PRACTICE_FILE": str(practice_file(tmp, args.members)),
            "POLL_INTERVAL_SECONDS": "3600",
            "RECORDS_BOT_KEY_FILE": str(tmp / "key"),
        }
        if args.database_url:
            subprocess.run(
                [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
                env=env,
                cwd=tmp,
                check=True,
            )
        serve = [sys.executable, "-c", "from bot.cli import main; main()", "serve"]
        if os.environ.get("BENCH_PROFILE"):  # a cProfile of the server, written when it stops
            serve = [sys.executable, os.environ["BENCH_PROFILE"]]
        ours = start(serve, env, tmp, tmp / "ours.log")
        processes.append(ours)
        wait_healthy(port, ours)
        watch = MemoryWatch(ours.pid)
        our_run = asyncio.run(
            run_intakes("ours", f"http://127.0.0.1:{port}/slack/events", fake, users, args.concurrency)
        )
        our_peak = watch.stop()
        ours.terminate()
        ours.wait(20)

        print(f"\n{args.intakes} intakes, concurrency {args.concurrency}, {args.members} clinicians\n")
        print(
            f"{'app':12} {'intakes/s':>10} {'modal p50':>10} {'modal p99':>10} {'>3 s':>5} {'whole p50':>10} {'whole p99':>10} {'failed':>7} {'peak MB':>8}"
        )
        for run, peak in ((bare_run, bare_peak), (our_run, our_peak)):
            print(
                f"{run.name:12} {run.rate:10.1f} {run.pct(run.modal, 0.5):10.0f} {run.pct(run.modal, 0.99):10.0f} "
                f"{run.late_modals:5d} {run.pct(run.whole, 0.5):10.0f} {run.pct(run.whole, 0.99):10.0f} "
                f"{run.failed:7d} {peak / 2**20:8.0f}"
            )
        ratio = our_run.rate / bare_run.rate if bare_run.rate else 0.0
        modal_p99 = our_run.pct(our_run.modal, 0.99)
        print(f"\nratio (records-bot / bare Bolt): intakes/s {ratio:.2f}x, memory {our_peak / bare_peak:.2f}x")
        print(
            "targets: modal open p99 < 300 ms: {}; intakes/s >= 0.25x bare: {}; no modal past its trigger: {}".format(
                "PASS" if modal_p99 < 300 else "FAIL",
                "PASS" if ratio >= 0.25 else "FAIL",
                "PASS" if our_run.late_modals == 0 and not our_run.failed else "FAIL",
            )
        )
        for name in ("ours.log",):
            lines = (tmp / name).read_text().splitlines()
            if lines:
                print(f"\n{name}: {len(lines)} lines; the last few:", *lines[-5:], sep="\n  ")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
        fake.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
