"""The core stays platform-neutral: only the adapters import Slack or Bot Framework SDKs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_IMPORT = re.compile(r"^\s*(from|import)\s+(slack_bolt|slack_sdk|botbuilder|botframework|msrest)\b", re.M)
TEAMS = "bot/adapters/teams/"  # the Bot Framework SDK and its connector: replaceable by swapping this folder alone
ALLOWED = {
    "slack_bolt": "bot/adapters/slack/",
    "slack_sdk": "bot/adapters/slack/",
    "botbuilder": TEAMS,
    "botframework": TEAMS,
    "msrest": TEAMS,
}


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
    for leak in ("from botbuilder.core import TurnContext\n", "import botframework.connector\n"):
        assert PLATFORM_IMPORT.search(leak)


def test_the_teams_sdk_is_imported_only_when_teams_is_served():
    """The core and the Slack side load without botbuilder: it is reached only through PLATFORM_MODULES."""
    import subprocess
    import sys

    code = (
        "import sys, bot.server, bot.delivery.platform, bot.services.conversation, bot.adapters.slack.platform; "
        "print(any(m.startswith(('botbuilder', 'botframework')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
