"""The benchmarks still run: each at its quick size, in a few seconds, so a change to the code they drive can't rot them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # nothing listens on port 1: SQLite only


def test_the_reminders_benchmark_runs_at_its_quick_size():
    # PostgreSQL too when the suite has one (TEST_DATABASE_URL), as the other PostgreSQL tests do
    env = os.environ | {"TEST_DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or NO_POSTGRES}
    process = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "reminders.py"), "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "sqlite: seeded 1,000 requests" in process.stdout
    assert process.stdout.count("PASS (< 50 ms)") >= 2 and "FAIL" not in process.stdout
    assert "sqlite: sweep of 10 due at 2,000 vs 1,000 requests" in process.stdout
    assert process.stderr == ""


def test_the_slack_home_benchmark_runs_at_its_quick_size():
    # SQLite only (no --database-url): the latency targets may FAIL on a loaded machine; the run itself must not
    process = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "slack_home.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "sqlite: seeded 200 requests (30 open, each with an active run)" in process.stdout
    for row in ("bare Bolt / static Home", "records-bot / supervisor", "records-bot / clinician"):
        assert row in process.stdout
    assert "views <= 100 blocks: PASS; every open published: PASS" in process.stdout
