"""The core stays platform-neutral: only the adapters import Slack or Bot Framework SDKs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_IMPORT = re.compile(r"^\s*(from|import)\s+(slack_bolt|slack_sdk|botbuilder)\b", re.M)
ALLOWED = {"slack_bolt": "bot/adapters/slack/", "slack_sdk": "bot/adapters/slack/", "botbuilder": "bot/adapters/teams/"}


def test_only_adapters_import_platform_sdks():
    offenders = []
    for path in [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("flows").rglob("*.py")]:
        rel = path.relative_to(ROOT).as_posix()
        for match in PLATFORM_IMPORT.finditer(path.read_text()):
            if not rel.startswith(ALLOWED[match.group(2)]):
                offenders.append(f"{rel} imports {match.group(2)}")
    assert offenders == []


def test_the_check_itself_catches_a_leak(tmp_path):
    leaked = "from slack_sdk import WebClient\n"
    assert PLATFORM_IMPORT.search(leaked)
