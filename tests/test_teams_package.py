"""records-bot teams-package: the zip Teams uploads, for this bot's app id; misuse exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

APP_ID = "11111111-2222-3333-4444-555555555555"


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "teams-package", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


def test_the_package_holds_the_manifest_for_this_bot_and_two_icons(tmp_path: Path):
    done = run("--output", str(tmp_path / "app.zip"), cwd=tmp_path, MICROSOFT_APP_ID=APP_ID)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "app.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert package.read("color.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["bots"][0]["scopes"] == ["personal", "team"]
    titles = [c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]]
    assert titles == ["records-request", "help", "list", "status"]


def test_without_an_app_id_or_with_a_bad_one_it_exits_2_with_one_line(tmp_path: Path):
    missing = run(cwd=tmp_path)
    assert missing.returncode == 2 and "MICROSOFT_APP_ID" in missing.stderr
    bad = run("--app-id", "not-a-guid", cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert not list(tmp_path.glob("*.zip"))
