"""Ack latency, throughput and memory of `records-bot serve` against a bare Bolt app, same fake Slack, same run.

Run: uv run python benchmarks/slack_ack.py [--requests 1000] [--concurrency 20] [--users 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import block_action, intake_values, sign, slash_command, view_submission  # noqa: E402

SECRET = "bench-signing-secret"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class MemoryWatch:
    """Samples a process's resident memory every 50 ms; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("server exited early; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} never became healthy")


async def fire(url: str, bodies: list[str], concurrency: int, name: str) -> Phase:
    """POST the signed bodies at the given concurrency; each latency is send -> response (the ack)."""
    phase = Phase(name)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                headers = sign(SECRET, body)
                started = time.perf_counter()
                try:
                    async with session.post(url, data=body.encode(), headers=headers) as response:
                        await response.read()
                        ok = response.status == 200
                        if os.environ.get("BENCH_DEBUG") and not ok:
                            print(response.status, await response.text())
                except aiohttp.ClientError:
                    ok = False
                elapsed = time.perf_counter() - started
                if ok:
                    phase.latencies.append(elapsed)
                else:
                    phase.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - started
    return phase


def fake_counts(api_url: str) -> dict[str, int]:
    import urllib.request

    with urllib.request.urlopen(f"{api_url}/_counts", timeout=5) as response:
        return json.loads(response.read())


def wait_for_calls(api_url: str, method: str, at_least: int, timeout: float) -> float | None:
    """Seconds until the fake has seen at_least calls to method (the work after the acks), or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if fake_counts(api_url).get(method, 0) >= at_least:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def practice_file(folder: Path, users: int) -> Path:
    lines = ['name = "Benchmark Practice"', 'records_channel = "C_RECORDS"', ""]
    lines += ["[privacy_contact]", 'name_or_title = "Privacy Officer"', 'phone = "555-0100"', ""]
    for n in range(users):
        lines += ["[[members]]", f'name = "Clinician {n:04d}"', f'slack_user_id = "U_B{n:04d}"', ""]
    path = folder / "practice.toml"
    path.write_text("\n".join(lines))
    return path


def runs(db: Path) -> list[tuple[int, str, int, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT r.id, r.step, r.version, m.slack_user_id FROM flow_runs r JOIN members m ON m.id = r.member_id ORDER BY r.id"
        )
        return list(rows)


def report(rows: list[tuple[str, Phase]], memory: dict[str, int]) -> None:
    print(f"\n{'app / phase':38} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}")
    for label, phase in rows:
        print(
            f"{label:38} {phase.pct(0.50):8.1f} {phase.pct(0.95):8.1f} {phase.pct(0.99):8.1f} {phase.throughput:8.0f} {phase.errors:7d}"
        )
    print("\npeak resident memory: " + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in memory.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--users", type=int, default=1000, help="distinct clinicians (Slack paces posts per DM)")
    args = parser.parse_args()
    n, conc = args.requests, args.concurrency

    tmp = Path(tempfile.mkdtemp(prefix="slack-ack-"))
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.slack_api"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    api_url = fake.stdout.readline().strip()  # type: ignore[union-attr]
    base_env = os.environ | {
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "PYTHONPATH": str(ROOT),
    }
    base_env.pop("SLACK_APP_TOKEN", None)
    processes: list[subprocess.Popen] = [fake]
    try:
        # ---- the bare Bolt app ----
        bare_port = free_port()
        bare_log = (tmp / "bare.log").open("w")
        bare = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "bare_bolt.py")],
            env=base_env | {"PORT": str(bare_port)},
            cwd=tmp,
            stderr=bare_log,
            text=True,
        )
        processes.append(bare)
        wait_healthy(bare_port, bare)
        bare_url = f"http://127.0.0.1:{bare_port}/slack/events"
        users = [f"U_B{i % args.users:04d}" for i in range(n)]
        watch = MemoryWatch(bare.pid)
        bare_cmd = asyncio.run(
            fire(
                bare_url, [slash_command(user=u, trigger_id=f"bare.{i}") for i, u in enumerate(users)], conc, "commands"
            )
        )
        clicks = [
            block_action(
                block_id=f"b{i}",
                action_id="a",
                value="x",
                user=u,
                channel=f"D{u}",
                message_ts=f"1.{i}",
                action_ts=f"2.{i}",
            )
            for i, u in enumerate(users)
        ]
        bare_click = asyncio.run(fire(bare_url, clicks, conc, "clicks"))
        wait_for_calls(api_url, "chat.postMessage", 2 * n, 60)
        bare_peak = watch.stop()
        bare.terminate()
        bare.wait(10)
        before = fake_counts(api_url)

        # ---- records-bot serve ----
        port = free_port()
        db = tmp / "bench.sqlite"
        env = base_env | {
            "PORT": str(port),
            "DATABASE_URL": f"sqlite:///{db}",
            "PRACTICE_FILE": str(practice_file(tmp, args.users)),
            "POLL_INTERVAL_SECONDS": "3600",
        }
        command = [shutil.which("records-bot") or sys.executable, "serve"]
        if not shutil.which("records-bot"):
            command = [sys.executable, "-c", "from bot.cli import main; main()", "serve"]
        server_log = (tmp / "records-bot.log").open("w")  # a file, not a pipe: a full pipe would stall the server
        ours = subprocess.Popen(command, env=env, cwd=tmp, stderr=server_log, stdout=subprocess.DEVNULL, text=True)
        processes.append(ours)
        wait_healthy(port, ours)
        url = f"http://127.0.0.1:{port}/slack/events"
        watch = MemoryWatch(ours.pid)
        our_cmd = asyncio.run(
            fire(url, [slash_command(user=u, trigger_id=f"ours.{i}") for i, u in enumerate(users)], conc, "commands")
        )
        opened_after = wait_for_calls(api_url, "views.open", before.get("views.open", 0) + n, 120)

        # intake submissions move every run to its first step so the clicks answer real prompts
        started = {r[0]: r for r in runs(db)}
        submissions = [
            view_submission(
                values=intake_values(received_on=str(date.today() - timedelta(days=2))),
                private_metadata=json.dumps({"ref": f"run:{rid}:intake:0"}),
                user=r[3],
                view_id=f"V{rid}",
                view_hash="h",
            )
            for rid, r in started.items()
        ]
        our_views = asyncio.run(fire(url, submissions, conc, "view submissions"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(r[1] == "intake" for r in runs(db)):
            time.sleep(0.2)
        ready = [r for r in runs(db) if r[1] != "intake"]
        our_clicks = [
            block_action(
                block_id=f"run:{rid}:{step}:{version}|0",
                action_id="rr:choose:0",
                value="sent_today",
                user=user,
                channel=f"D{user.removeprefix('U')}",
                message_ts=f"1.{rid}",
                action_ts=f"2.{rid}",
            )
            for rid, step, version, user in ready
        ]
        our_click = asyncio.run(fire(url, our_clicks, conc, "clicks"))
        clicked = {rid: version for rid, _, version, _ in ready}
        settle_started = time.monotonic()
        advanced = 0
        while time.monotonic() - settle_started < 120:
            advanced = sum(1 for r in runs(db) if r[0] in clicked and r[2] > clicked[r[0]])
            if advanced == len(clicked):
                break
            time.sleep(0.2)
        updated_after = time.monotonic() - settle_started
        our_peak = watch.stop()
        ours.terminate()
        ours.wait(20)
        logged = (tmp / "records-bot.log").read_text().splitlines()
        if logged:
            print(f"records-bot logged {len(logged)} lines; the last few:", *logged[-5:], sep="\n  ")

        report(
            [
                ("bare Bolt / commands", bare_cmd),
                ("bare Bolt / clicks", bare_click),
                ("records-bot / commands", our_cmd),
                ("records-bot / clicks", our_click),
                ("records-bot / intake submissions", our_views),
            ],
            {"bare Bolt": bare_peak, "records-bot": our_peak},
        )
        print(
            f"records-bot: views.open for every command {opened_after:.1f}s after the last ack"
            if opened_after is not None
            else "records-bot: views.open backlog not cleared in 120 s"
        )
        print(
            f"records-bot: {advanced} of {len(ready)} clicked runs advanced one step; all done {updated_after:.1f} s after the last ack"
        )
        print("\nratios (records-bot / bare Bolt):")
        for label, mine, base in (("commands", our_cmd, bare_cmd), ("clicks", our_click, bare_click)):
            print(
                f"  {label:9} p99 {mine.pct(0.99) / base.pct(0.99):.2f}x   throughput {mine.throughput / base.throughput:.2f}x"
            )
        print(f"  memory    {our_peak / bare_peak:.2f}x")
        p99 = max(our_cmd.pct(0.99), our_click.pct(0.99))
        ratio = min(our_cmd.throughput / bare_cmd.throughput, our_click.throughput / bare_click.throughput)
        print(
            "\ntargets: p99 ack < 100 ms: {}; throughput >= 0.5x bare: {}; memory < 150 MB: {}".format(
                "PASS" if p99 < 100 else "FAIL",
                "PASS" if ratio >= 0.5 else "FAIL",
                "PASS" if our_peak < 150 * 2**20 else "FAIL",
            )
        )
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
