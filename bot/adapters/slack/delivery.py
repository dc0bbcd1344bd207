"""Slack's transport for the outbox: DMs (one message a step), paced channel posts, answered steps ticked."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import blocks
from bot.adapters.slack.directory import Directory
from bot.config import PracticeSettings
from bot.delivery import outbox
from bot.delivery.platform import ConversationStore
from bot.delivery.sender import DeliveryFailed
from bot.prompts import Prompt
from bot.store import OutboxMessage
from bot.text import say

log = logging.getLogger("records_bot.slack")


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
        except SlackRequestError as exc:  # a file's bytes did not reach Slack's upload URL: the whole upload again
            raise DeliveryFailed(f"file upload refused: {str(exc)[:200]}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # the message may have gone out with only its answer lost: the retry looks before it posts again
            raise DeliveryFailed(f"{UNSURE}{type(exc).__name__} talking to Slack") from None

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

    async def post(
        self, channel: str, message: blocks.Message, *, paced: bool = False, tag: dict[str, Any] | None = None
    ) -> str:
        if paced:  # fan-out to the shared channel keeps to ~1 post a second; a DM follows a person's own clicks
            await self.pacer.wait(channel)
        extra: dict[str, Any] = {"metadata": {"event_type": METADATA_EVENT, "event_payload": tag}} if tag else {}
        response = await self.client.chat_postMessage(
            channel=channel, text=message["text"], blocks=message["blocks"], **extra
        )
        return str(response["ts"])

    async def _to_member(self, row: OutboxMessage, prompts: Sequence[Prompt]) -> dict[str, Any]:
        channel = await self.dm_channel(row.destination)
        files = [p for p in prompts if p.kind == "file"]
        if files:  # a file row (a case file) holds nothing else
            return {"channel": channel, "files": [await self._upload(channel, p) for p in files]}
        # each piece carries the row's id in its metadata; after a send whose answer was lost (a timeout), the pieces
        # already in the DM are found there and not posted twice
        landed: dict[int, str] = {}
        if (row.last_error or "").startswith(UNSURE):
            try:
                landed = await self._already_posted(channel, row)
            except SlackApiError as exc:
                failure = classify(exc)
                if not failure.permanent:  # can't look just now: look again on the next try, don't post blind
                    raise DeliveryFailed(UNSURE + failure.reason, retry_after=failure.retry_after) from None
                log.warning("cannot read the DM to check for a lost answer (%s); posting again", failure.reason)
        sent = []
        for index, message in enumerate(blocks.render_step(prompts)):
            ts = landed.get(index) or await self.post(channel, message, tag={"outbox_id": row.id, "piece": index})
            sent.append(ts)
        return {"channel": channel, "ts": sent}  # kept on the outbox row: where each step's message lives

    async def _upload(self, channel: str, prompt: Prompt) -> str:
        """A file into the DM (files.getUploadURLExternal, the upload, files.completeUploadExternal), its note with
        it. Its content is made now, by the core: the outbox row names it and holds no client details."""
        content = prompt.body if prompt.body is not None else await self._run(self.store.file_content, prompt.ref)
        response = await self.client.files_upload_v2(
            channel=channel,
            content=content,
            filename=prompt.filename or "file.md",
            title=prompt.header or prompt.filename,
            initial_comment=blocks.mrkdwn(prompt.text) if prompt.text else None,
        )
        return str((response.get("file") or {}).get("id") or "")

    async def _already_posted(self, channel: str, row: OutboxMessage) -> dict[int, str]:
        """Pieces of this row that reached the DM before (found by their metadata), by piece number."""
        since = (row.created_at.timestamp() - 5) if row.created_at else 0
        response = await self.client.conversations_history(
            channel=channel, oldest=f"{since:.6f}", limit=100, include_all_metadata=True
        )
        found: dict[int, str] = {}
        for message in response.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == METADATA_EVENT and payload.get("outbox_id") == row.id:
                found[int(payload.get("piece", 0))] = str(message.get("ts"))
        return found

    async def _to_channel(self, channel: str, prompts: Sequence[Prompt]) -> dict[str, Any]:
        sent = []
        for message in blocks.render_messages(list(prompts)):
            message = {**message, "blocks": [self._with_mentions(b) for b in message["blocks"]]}
            sent.append(await self.post(channel, message, paced=True))
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


METADATA_EVENT = "records_bot_outbox"  # Slack message metadata naming the outbox row a message came from
UNSURE = "unsure: "  # a failure after which the message may have gone out all the same


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
