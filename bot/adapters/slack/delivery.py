"""Putting prompts in front of people on Slack: DMs, step messages updated in place, paced channel posts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import blocks
from bot.adapters.slack.directory import Directory
from bot.config import PracticeSettings
from bot.prompts import Outbound, Prompt, Reply
from bot.text import say

log = logging.getLogger("records_bot.slack")


class Surfaces(Protocol):
    """The part of the conversation core that remembers where a run's messages live."""

    def surface(self, ref: str) -> dict: ...

    def set_surface(self, ref: str, surface: dict) -> None: ...


class UnsafeChannelPost(Exception):
    """An outbound channel post that the core did not mark PHI-free; it is never sent."""


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


class Delivery:
    """Sends Replies and Outbound messages through the Web API; remembers DM channels and step messages."""

    def __init__(
        self,
        client: AsyncWebClient,
        practice: PracticeSettings,
        directory: Directory,
        surfaces: Surfaces,
        *,
        pacer: Pacer | None = None,
        run: Callable[..., Awaitable[Any]] | None = None,
        later: Callable[[Coroutine[Any, Any, None]], None] | None = None,
    ) -> None:
        self.client, self.practice, self.directory, self.surfaces = client, practice, directory, surfaces
        self.pacer = pacer or Pacer()
        self._run = run or asyncio.to_thread
        self._later = later
        self._dm: dict[str, str] = {}

    # ---- channels --------------------------------------------------------------------------------------------------

    async def dm_channel(self, slack_user_id: str) -> str:
        """The app's DM channel with this user (conversations.open once, then remembered)."""
        channel = self._dm.get(slack_user_id)
        if channel is None:
            response = await self.client.conversations_open(users=slack_user_id)
            channel = self._dm[slack_user_id] = response["channel"]["id"]
        return channel

    async def post(self, channel: str, message: blocks.Message) -> str:
        await self.pacer.wait(channel)
        response = await self.client.chat_postMessage(channel=channel, text=message["text"], blocks=message["blocks"])
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: blocks.Message) -> None:
        await self.client.chat_update(channel=channel, ts=ts, text=message["text"], blocks=message["blocks"])

    # ---- to the person in the conversation ------------------------------------------------------------------------

    async def show(self, slack_user_id: str, prompts: Sequence[Prompt]) -> None:
        """Post prompts in the member's DM; a run's header message sits at the top and is kept up to date."""
        if not prompts:
            return
        channel = await self.dm_channel(slack_user_id)
        for prompt in prompts:
            run_ref = prompt.ref if prompt.ref and prompt.ref.startswith("run:") else None
            surface: dict[str, Any] = {}
            if run_ref:
                surface = dict(await self._run(self.surfaces.surface, run_ref) or {})
            if run_ref and prompt.header:
                await self._header(channel, prompt.header, surface)
            shown = Prompt(**{**prompt.__dict__, "header": None}) if run_ref and prompt.header else prompt
            last_ts = ""
            for message in blocks.render_message(shown):
                last_ts = await self.post(channel, message)
            if run_ref:
                steps = dict(surface.get("steps") or {})
                steps[run_ref] = last_ts
                surface.update({"channel": channel, "steps": steps})
                await self._run(self.surfaces.set_surface, run_ref, surface)

    async def _header(self, channel: str, header: str, surface: dict[str, Any]) -> None:
        message = blocks.render_header(header)
        if surface.get("header_ts") and surface.get("channel") == channel:
            if surface.get("header") != header:
                await self.update(channel, surface["header_ts"], message)
        else:
            surface["header_ts"] = await self.post(channel, message)
        surface["header"] = header

    async def tell(self, slack_user_id: str, channel: str | None, prompts: Sequence[Prompt]) -> None:
        """A short private answer: ephemeral where the person is, else a DM."""
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

    async def mark_done(self, channel: str, ts: str, question: str, answer: str | None) -> None:
        """Replace a step's message with its finished form: the question ticked and the answer under it."""
        await self.update(channel, ts, blocks.render_done(Prompt(kind="notice", text=question), answer))

    # ---- to others -------------------------------------------------------------------------------------------------

    async def outbound(self, item: Outbound) -> None:
        """A member's DM (consult card, escalation) or a PHI-free post in the practice's records channel."""
        if item.target_kind == "channel":
            if not item.phi_free:
                raise UnsafeChannelPost(f"refused a channel post to {item.target} not marked PHI-free")
            channel = item.target or self.practice.records_channel
            for message in blocks.render_messages(list(item.prompts)):
                message = {**message, "blocks": [self._with_mentions(b) for b in message["blocks"]]}
                await self.post(channel, message)
            return
        slack_id = self.directory.slack_id(item.target)
        if slack_id is None:
            log.warning("no Slack account for member %r; message not sent", item.target)
            return
        await self.show(slack_id, item.prompts)

    def _with_mentions(self, block: blocks.Block) -> blocks.Block:
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") == "mrkdwn":
            return {**block, "text": {**text, "text": self.directory.mentions(text["text"])}}
        return block

    async def reply(self, slack_user_id: str, reply: Reply) -> None:
        """Everything a Reply asks for except forms (the caller opens those): prompts to the actor, outbound to others."""
        await self.show(slack_user_id, reply.prompts)
        for item in reply.outbound:
            if self._later is not None and item.target_kind == "channel":
                self._later(self._outbound_logged(item))  # paced at ~1/s per channel: wait without holding up the DM
            else:
                await self._outbound_logged(item)

    async def _outbound_logged(self, item: Outbound) -> None:
        try:
            await self.outbound(item)
        except (SlackApiError, UnsafeChannelPost) as exc:
            log.error("outbound %s to %s not sent: %s", item.target_kind, item.target, exc)


def error_notice() -> Prompt:
    return Prompt(kind="notice", text=say("slack.slack_error"))
