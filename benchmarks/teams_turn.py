"""Turn latency and throughput of `records-bot serve` (Teams) against a bare CloudAdapter bot, same fake Bot
Connector, same run, concurrency 20.

Each turn is a real Activity posted to /api/messages; its latency is post -> the bot's HTTP answer, which both bots
give after their turn is done (the bare bot's one reply sent; records-bot's answer sent or its outbox row written).

Phases: "help" typed in the personal chat (the core looks the member up and the answer card is sent in the turn,
one Connector call, like the bare bot's reply) and "records-request" (a new run: database writes, an outbox row, the
intake card sent proactively by the outbox sender after the turn).

Run: uv run python benchmarks/teams_turn.py [--turns 600] [--concurrency 20] [--users 200]

Where the time goes (cProfile of the serving loop, 400 "help" turns, 2 shared cores, November 2026):
- the bare CloudAdapter builds a new msrest ConnectorClient (configuration, pipeline, retry policies, a requests
  session with no kept connections) and a new user-token client on every turn, serializes the reply through msrest
  models, and sends it with blocking `requests` in the default thread pool: about half its CPU is client set-up.
- records-bot keeps the SDK's authentication as is (every request checked; anonymous in local mode, JWT otherwise)
  but reuses the clients it makes (bot/adapters/teams/connector.py: one per bot id, serviceUrl and audience), and sends
  its cards, already JSON, on one shared aiohttp session with the same credentials' bearer token. Per turn on the loop
  that leaves about 1 ms for msrest's Activity.deserialize (the largest SDK cost left), 0.6 ms for the Connector call,
  0.05 ms for authentication; the core's database work (member lookup, inbound key, run and outbox rows) runs on the
  adapter's two threads. A new run ("records-request") is bound by SQLite writes, one writer at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.slack_ack import MemoryWatch, Phase, free_port, wait_healthy  # noqa: E402
from tests.fakes.bot_connector import message  # noqa: E402


async def fire(url: str, activities: list[dict], concurrency: int, name: str) -> Phase:
    """POST the activities at the given concurrency; each latency is send -> the bot's answer (201)."""
    phase = Phase(name)
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for activity in activities:
        queue.put_nowait(activity)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            while not queue.empty():
                body = json.dumps(queue.get_nowait())
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as answer:
                        await answer.read()
                        ok = answer.status in (200, 201)
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    phase.latencies.append(time.perf_counter() - started)
                else:
                    phase.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - started
    return phase


def counts(connector_url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{connector_url}/_counts", timeout=5) as response:
        return json.loads(response.read())


def practice_file(folder: Path, users: int) -> Path:
    lines = ['name = "Benchmark Practice"', "", "[privacy_contact]", 'name_or_title = "Privacy Officer"']
    lines += ['phone = "555-0100"', ""]
    for n in range(users):
        lines += ["[[members]]", f'name = "Clinician {n:04d}"', f'teams_user_id = "aad-{n:04d}"', ""]
    path = folder / "practice.toml"
    path.write_text("\n".join(lines))
    return path


def activities(connector_url: str, text: str, turns: int, users: int) -> list[dict]:
    return [message(connector_url, text=text, user=f"aad-{n % users:04d}") for n in range(turns)]


def run_phase(url: str, connector_url: str, text: str, args: argparse.Namespace, label: str) -> Phase:
    warm = activities(connector_url, "help", args.concurrency * 2, args.users)
    asyncio.run(fire(url, warm, args.concurrency, "warm-up"))
    return asyncio.run(fire(url, activities(connector_url, text, args.turns, args.users), args.concurrency, label))


def report(rows: list[tuple[str, Phase]]) -> None:
    print(f"\n{'bot / phase':44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'turns/s':>8} {'errors':>7}")
    for label, phase in rows:
        print(
            f"{label:44} {phase.pct(0.50):8.1f} {phase.pct(0.95):8.1f} {phase.pct(0.99):8.1f}"
            f" {phase.throughput:8.0f} {phase.errors:7d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--users", type=int, default=200, help="distinct members (each has their own chat)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="teams-turn-"))
    connector = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.bot_connector"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    connector_url = connector.stdout.readline().strip()  # type: ignore[union-attr]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MICROSOFT_APP_ID"):
        env.pop(name, None)
    processes = [connector]
    rows: list[tuple[str, Phase]] = []
    memory: dict[str, int] = {}
    try:
        bare_port = free_port()
        bare = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "bare_cloud_adapter.py")],
            env=env | {"PORT": str(bare_port)},
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "bare.log").open("w"),
        )
        processes.append(bare)
        wait_healthy(bare_port, bare)
        watch = MemoryWatch(bare.pid)
        before = counts(connector_url).get("send", 0)
        bare_phase = run_phase(f"http://127.0.0.1:{bare_port}/api/messages", connector_url, "help", args, "bare")
        memory["bare CloudAdapter"] = watch.stop()
        bare_sent = counts(connector_url).get("send", 0) - before
        rows.append(("bare CloudAdapter: one reply per turn", bare_phase))
        bare.terminate()
        bare.wait(10)

        ours_port = free_port()
        db = tmp / "bench.db"
        ours_env = env | {
            "PORT": str(ours_port),
            "DATABASE_URL": f"sqlite:///{db}",
            "PRACTICE_FILE": str(practice_file(tmp, args.users)),
            "RECORDS_BOT_KEY_FILE": str(tmp / "key"),
            "POLL_INTERVAL_SECONDS": "3600",
        }
        subprocess.run(
            [sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
            env=ours_env,
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ours = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "serve"],
            env=ours_env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "ours.log").open("w"),
        )
        processes.append(ours)
        wait_healthy(ours_port, ours)
        watch = MemoryWatch(ours.pid)
        url = f"http://127.0.0.1:{ours_port}/api/messages"
        before = counts(connector_url).get("send", 0)
        help_phase = run_phase(url, connector_url, "help", args, "help")
        ours_sent = counts(connector_url).get("send", 0) - before
        rows.append(("records-bot: help (core + answer card)", help_phase))
        start_phase = run_phase(url, connector_url, "records-request", args, "start")
        rows.append(("records-bot: records-request (new run)", start_phase))
        time.sleep(2)  # the outbox sends the intake cards after the turns
        memory["records-bot"] = watch.stop()
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(10)

    report(rows)
    ratio = help_phase.throughput / bare_phase.throughput if bare_phase.throughput else float("nan")
    print(f"\nthroughput, records-bot help vs bare CloudAdapter: {ratio:.1f}x (aim: at least 3x)")
    start_ratio = start_phase.throughput / bare_phase.throughput if bare_phase.throughput else float("nan")
    print(f"throughput, records-bot records-request vs bare CloudAdapter: {start_ratio:.1f}x")
    print(f"Connector sends: bare {bare_sent}, records-bot help {ours_sent} (one per turn each, warm-up included)")
    print("peak resident memory: " + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in memory.items()))
    print(f"logs: {tmp}")


if __name__ == "__main__":
    main()
