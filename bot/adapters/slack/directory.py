"""Who is who on Slack: practice members by Slack user id and back, from practice.toml (the source of truth)."""

from __future__ import annotations

import re

from bot.config import PracticeSettings


class Directory:
    """Maps Slack user ids to practice member names (the core's actors) and names to ids for DMs and mentions."""

    def __init__(self, practice: PracticeSettings) -> None:
        self._by_slack = {m.slack_user_id: m.name for m in practice.members if m.slack_user_id}
        self._by_name = {m.name.lower(): m.slack_user_id for m in practice.members if m.slack_user_id}
        names = sorted((m.name for m in practice.members if m.slack_user_id), key=len, reverse=True)
        self._mention = re.compile("@(" + "|".join(re.escape(n) for n in names) + r")\b", re.I) if names else None

    def member(self, slack_user_id: str | None) -> str | None:
        """The member name for a Slack user id, or None for anyone not in the practice."""
        return self._by_slack.get(slack_user_id or "")

    def slack_id(self, name: str) -> str | None:
        return self._by_name.get(name.lower())

    def mentions(self, mrkdwn_text: str) -> str:
        """Turn "@Dana Reyes" in channel posts into a real Slack mention of that member."""
        if self._mention is None:
            return mrkdwn_text
        return self._mention.sub(lambda m: f"<@{self._by_name[m.group(1).lower()]}>", mrkdwn_text)
