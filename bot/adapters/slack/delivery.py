"""Slack's transport for the outbox: DMs (one message a step), paced channel posts, answered steps ticked."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import blocks
from bot.adapters.slack.directory import Directory
from bot.config import PracticeSettings
from bot.delivery import outbox
from bot.delivery.sender import DeliveryFailed
from bot.prompts import Prompt
from bot.refs import RunRef
from bot.store import OutboxMessage
from bot.text import say

log = logging.getLogger("records_bot.slack")


class ConversationStore(Protocol):
    """What the transport keeps in the database: where a run's messages live, each member's DM channel."""

    def surface(self, ref: str) -> dict: ...

    def set_surface(self, ref: str, surface: dict) -> None: ...

    def recall(self, platform: str, key: str) -> dict | None: ...

    def remember(self, platform: str, key: str, reference: dict) -> None: ...


class Pacer:
    """At most `rate` posts a second per channel after a burst of `burst` (Slack: about 1/s per channel)."""

    def __init__(self, rate: float = 1.0, burst: int = 5) -> None:
        self.rate, self.burst = rate, burst
        self._state: dict[str, tuple[float, float]] = {}  # channel -> (tokens, last refill)
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            tokens, last = self._state.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / self.rate)
                now, tokens = time.monotonic(), 1.0
            self._state[channel] = (tokens - 1.0, now)


class SlackTransport:
    """Sends outbox rows through the Web API: a member's DM (one message a step), the records channel, a tick."""

    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        practice: PracticeSettings,
        directory: Directory,
        store: ConversationStore,
        *,
        pacer: Pacer | None = None,
        run: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self.client, self.practice, self.directory, self.store = client, practice, directory, store
        self.pacer = pacer or Pacer()
        self._run = run or asyncio.to_thread
        self._dm: dict[str, str] = {}  # a cache of what the database keeps

    async def send(self, row: OutboxMessage) -> dict[str, Any]:
        try:
            if row.destination_kind == "update":
                return await self._update(row)
            prompts = outbox.prompts_of(row)
            if row.destination_kind == "channel":
                return await self._to_channel(row.destination, prompts)
            return await self._to_member(row, prompts)
        except SlackApiError as exc:
            raise classify(exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__} talking to Slack") from None

    async def dm_channel(self, slack_user_id: str) -> str:
        """The app's DM channel with this user: conversations.open once, then kept in the database."""
        channel = self._dm.get(slack_user_id)
        if channel is None:
            stored = await self._run(self.store.recall, self.platform, f"dm:{slack_user_id}")
            channel = (stored or {}).get("channel")
            if not channel:
                response = await self.client.conversations_open(users=slack_user_id)
                channel = str(response["channel"]["id"])
                await self._run(self.store.remember, self.platform, f"dm:{slack_user_id}", {"channel": channel})
            self._dm[slack_user_id] = channel
        return channel

    async def post(self, channel: str, message: blocks.Message) -> str:
        await self.pacer.wait(channel)
        response = await self.client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"])
        return str(response["ts"])

    async def _to_member(self, row: OutboxMessage, prompts: Sequence[Prompt]) -> dict[str, Any]:
        channel = await self.dm_channel(row.destination)
        done = list((row.result or {}).get("ts", []))
        sent = list(done)
        for index, message in enumerate(blocks.render_step(prompts)):
            if index < len(done):
                continue  # a retry after a partial send: the pieces that went out don't go again
            sent.append(await self.post(channel, message))
        refs = [p.ref for p in prompts if p.expects_answer and p.ref and RunRef.parse(p.ref)]
        if refs and sent:
            surface = dict(await self._run(self.store.surface, refs[-1]) or {})
            steps = dict(surface.get("steps") or {})
            steps[refs[-1]] = sent[-1]
            await self._run(self.store.set_surface, refs[-1], {"channel": channel, "steps": steps})
        return {"channel": channel, "ts": sent}

    async def _to_channel(self, channel: str, prompts: Sequence[Prompt]) -> dict[str, Any]:
        sent = []
        for message in blocks.render_messages(list(prompts)):
            message = {**message, "blocks": [self._with_mentions(b) for b in message["blocks"]]}
            sent.append(await self.post(channel, message))
        return {"channel": channel, "ts": sent}

    async def _update(self, row: OutboxMessage) -> dict[str, Any]:
        message = row.payload.get("message") or {}
        channel, ts = message.get("channel"), message.get("ts")
        if not channel or not ts:
            return {"skipped": "no message to tick"}
        shown = blocks.render_answered(message.get("blocks") or [], message.get("text") or "", message.get("answer"))
        await self.client.chat_update(channel=channel, ts=ts, text=shown["text"], blocks=shown["blocks"])
        return {"channel": channel, "ts": ts}

    async def say_delayed(self, row: OutboxMessage) -> None:
        """A plain line in the DM: the answer is saved and the next step is on its way."""
        channel = await self.dm_channel(row.destination)
        await self.client.chat_postMessage(channel=channel, text=say("delivery.saved_on_its_way"))

    async def tell(self, slack_user_id: str, channel: str | None, prompts: Sequence[Prompt]) -> None:
        """A short private answer that changes nothing (help, status, "not yours"): ephemeral where typed, else a DM."""
        for message in blocks.render_messages(list(prompts)):
            if channel:
                try:
                    await self.client.chat_postEphemeral(channel=channel, user=slack_user_id, **message)
                    continue
                except SlackApiError as exc:
                    log.info("ephemeral to %s failed (%s); sending a DM", channel, exc.response.get("error"))
            await self.post(await self.dm_channel(slack_user_id), message)

    async def tell_text(self, slack_user_id: str, channel: str | None, text: str) -> None:
        await self.tell(slack_user_id, channel, [Prompt(kind="notice", text=text)])

    def _with_mentions(self, block: blocks.Block) -> blocks.Block:
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") == "mrkdwn":
            return {**block, "text": {**text, "text": self.directory.mentions(text["text"])}}
        return block


# errors that no retry will fix: the destination is wrong or the app may not post there
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "account_inactive",
        "cannot_dm_bot",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
        "restricted_action",
        "msg_too_long",
        "invalid_blocks",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)


def classify(exc: SlackApiError) -> DeliveryFailed:
    """A Web API failure as the outbox sees it: 429 waits Retry-After, 5xx and odd answers retry, some never will."""
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    try:
        error = str(response.get("error") or "")
    except Exception:  # a text body (a proxy's error page): no error code to read
        error = ""
    if status == 429 or error == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry_after = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        try:
            wait = float(retry_after) if retry_after is not None else 1.0
        except (TypeError, ValueError):
            wait = 1.0
        return DeliveryFailed("Slack rate limit", retry_after=wait)
    if error in PERMANENT_ERRORS:
        return DeliveryFailed(error, permanent=True)
    return DeliveryFailed(error or f"HTTP {status}")


def error_notice() -> Prompt:
    return Prompt(kind="notice", text=say("slack.slack_error"))
