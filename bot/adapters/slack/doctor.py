"""records-bot doctor's Slack checks: the token (auth.test), the records channel (the app in it), members' user ids."""

from __future__ import annotations

import re
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.config import EnvSettings, PracticeSettings
from bot.services.doctor import Finding, first_line, found

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9_]{2,}$")  # what Slack's channel ids look like; anything else is a name
LIST_PAGES = 50  # a records channel found by name: look through at most this many pages of 200 channels
UNREACHABLE = (OSError, HTTPException)  # refused, unresolvable, timed out, or cut off mid-answer


def check_slack(env: EnvSettings, practice: PracticeSettings) -> list[Finding]:
    """Every Slack check, in order; the ones that need a working token are left out when it fails."""
    missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not getattr(env, name.lower())]
    if missing:
        return [found(False, "slack_settings", "slack_unset", names=missing)]
    findings = [found(True, "slack_settings", "slack_settings_ok", socket=bool(env.slack_app_token))]
    client = web_client(str(env.slack_bot_token), env.slack_api_url)
    token = check_token(client)
    findings.append(token)
    if not token.ok:
        return findings
    findings.append(check_channel(client, practice.records_channel))
    findings.extend(check_member(client, m.name, m.slack_user_id) for m in practice.members)
    return findings


def web_client(token: str, api_url: str | None) -> WebClient:
    base_url = (api_url.rstrip("/") + "/") if api_url else WebClient.BASE_URL
    client = WebClient(token=token, base_url=base_url, timeout=10)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def check_token(client: WebClient) -> Finding:
    try:
        identity = client.auth_test()
    except SlackApiError as exc:
        return found(False, "slack_token", "token_refused", error=_error(exc))
    except UNREACHABLE as exc:
        return found(False, "slack_token", "slack_unreachable", url=client.base_url, error=first_line(exc))
    return found(True, "slack_token", "token_ok", team=identity.get("team", "?"), user=identity.get("user", "?"))


def check_channel(client: WebClient, configured: str) -> Finding:
    """The records channel exists, is not archived, and the app is a member (so its posts there can land)."""
    try:
        channel = _channel(client, configured)
    except SlackApiError as exc:
        error = _error(exc)
        if error == "missing_scope":
            needed = exc.response.get("needed") or "channels:read"
            return found(False, "records_channel", "channel_no_scope", configured, needed=needed)
        if error == "channel_not_found":
            return found(False, "records_channel", "channel_missing", configured)
        return found(False, "records_channel", "channel_error", configured, error=error)
    except UNREACHABLE as exc:
        return found(
            False, "records_channel", "slack_unreachable", configured, url=client.base_url, error=first_line(exc)
        )
    if channel is None:
        return found(False, "records_channel", "channel_missing", configured)
    name = channel.get("name") or configured.lstrip("#")
    if channel.get("is_archived"):
        return found(False, "records_channel", "channel_archived", configured, name=name)
    if not channel.get("is_member"):
        return found(False, "records_channel", "channel_not_member", configured, name=name)
    return found(True, "records_channel", "channel_ok", configured, name=name)


def _channel(client: WebClient, configured: str) -> dict[str, Any] | None:
    if CHANNEL_ID.match(configured):
        return client.conversations_info(channel=configured)["channel"]
    wanted, cursor = configured.lstrip("#").lower(), None
    for _ in range(LIST_PAGES):
        page = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        match = next((c for c in page.get("channels", []) if str(c.get("name", "")).lower() == wanted), None)
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if match is not None or not cursor:
            return match
    return None


def check_member(client: WebClient, name: str, slack_user_id: str | None) -> Finding:
    if not slack_user_id:
        return found(False, "member", "member_unset", name)
    try:
        user = client.users_info(user=slack_user_id)["user"]
    except SlackApiError as exc:
        error = _error(exc)
        if error in ("user_not_found", "user_not_visible"):
            return found(False, "member", "member_missing", name, user_id=slack_user_id, error=error)
        return found(False, "member", "member_error", name, user_id=slack_user_id, error=error)
    except UNREACHABLE as exc:
        return found(False, "member", "slack_unreachable", name, url=client.base_url, error=first_line(exc))
    if user.get("deleted"):
        return found(False, "member", "member_deactivated", name, user_id=slack_user_id)
    shown = (user.get("profile") or {}).get("real_name") or user.get("real_name") or user.get("name") or slack_user_id
    return found(True, "member", "member_ok", name, user_id=slack_user_id, slack_name=shown)


def _error(exc: SlackApiError) -> str:
    response = exc.response
    return str(response.get("error") if isinstance(response.data, dict) else response.status_code)
