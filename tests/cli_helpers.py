"""Running `records-bot` as a user would: a real subprocess, its own environment, no practice file unless given."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(tmp_path, db_url, *args, typed=None, **extra_env):
    """records-bot <args> in tmp_path against db_url (`typed`: what the person types); returns the finished process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECORDS_BOT_", "DATABASE_URL", "PRACTICE_FILE"))}
    env.update(
        DATABASE_URL=db_url,
        PRACTICE_FILE=str(tmp_path / "no-such-practice.toml"),
        PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update(extra_env)  # may name a PRACTICE_FILE of its own
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        input=typed,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
