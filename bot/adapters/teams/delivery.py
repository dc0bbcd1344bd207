"""Teams' transport for the outbox: proactive cards to a member's personal chat or the records channel, ticks in place."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.adapters.teams import cards
from bot.adapters.teams.connector import ConnectorError, RestConnector
from bot.delivery import outbox
from bot.delivery.platform import ConversationStore
from bot.delivery.routing import CHANNEL_KEY
from bot.delivery.sender import DeliveryFailed
from bot.prompts import Prompt
from bot.store import OutboxMessage
from bot.text import say

log = logging.getLogger("records_bot.teams")

PLATFORM = "teams"
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410, 413})


def reference_of(raw: dict[str, Any], *, channel: bool = False) -> dict[str, Any]:
    """The conversation reference of an inbound activity (its JSON as posted), as the SDK would store it."""
    reference = {
        "user": None if channel else raw.get("from"),  # a channel post is to the channel, not to whoever typed
        "bot": raw.get("recipient"),
        "conversation": raw.get("conversation"),
        "channelId": raw.get("channelId"),
        "locale": raw.get("locale"),
        "serviceUrl": raw.get("serviceUrl"),
    }
    return {k: v for k, v in reference.items() if v is not None}


def card_activity(card: cards.Card, **extra: Any) -> dict[str, Any]:
    """A message activity carrying one Adaptive Card."""
    return {"type": "message", "attachments": [{"contentType": cards.CONTENT_TYPE, "content": card}], **extra}


class TeamsTransport:
    """Sends outbox rows through the Bot Connector with the CloudAdapter's proactive path."""

    platform = PLATFORM

    def __init__(
        self, connector: RestConnector, store: ConversationStore, *, run: Callable[..., Awaitable[Any]] | None = None
    ) -> None:
        self.connector, self.store = connector, store
        self._run = run or asyncio.to_thread
        self._references: dict[str, dict[str, Any]] = {}  # a cache of what the database keeps

    async def remember(self, key: str, reference: dict[str, Any]) -> None:
        """Store a reference when it is new or changed (one write per member, not one per turn)."""
        if self._references.get(key) == reference:
            return
        await self._run(self.store.remember, PLATFORM, key, reference)
        self._references[key] = reference

    async def recall(self, key: str) -> dict[str, Any] | None:
        found = self._references.get(key)
        if found is None:
            found = await self._run(self.store.recall, PLATFORM, key)
            if found is not None:
                self._references[key] = found
        return found

    async def send(self, row: OutboxMessage) -> dict[str, Any]:
        try:
            if row.destination_kind == "update":
                return await self._update(row)
            prompts = outbox.prompts_of(row)
            if row.destination_kind == "channel":
                reference = await self.recall(CHANNEL_KEY)
                if reference is None:
                    raise DeliveryFailed(say("teams.reason_no_channel"), permanent=True)
                card = cards.render_cards(prompts)
            else:
                reference = await self.recall(f"dm:{row.destination}")
                if reference is None:
                    raise DeliveryFailed(say("teams.reason_not_installed"), permanent=True)
                card = cards.render_step([await self._as_text(p) for p in prompts])
            sent = await self.connector.send(reference, card_activity(card))
            return {"conversation": (reference.get("conversation") or {}).get("id"), "activity_id": sent}
        except ConnectorError as exc:
            raise classify(exc) from None

    async def _as_text(self, prompt: Prompt) -> Prompt:
        """A file (a case file) as a card's text: a bot can't send a file into a personal chat without a consent
        card first, so the Markdown goes in the card, made now by the core (the outbox row holds no client details)."""
        if prompt.kind != "file":
            return prompt
        body = prompt.body if prompt.body is not None else await self._run(self.store.file_content, prompt.ref)
        text = say("teams.file_as_text", title=prompt.header or prompt.filename or "", comment=prompt.text)
        return Prompt(kind="notice", text=text, body=body)

    async def _update(self, row: OutboxMessage) -> dict[str, Any]:
        message = row.payload.get("message") or {}
        reference, activity_id = message.get("reference"), message.get("activity_id")
        if not reference or not activity_id:
            return {"skipped": "no card to tick"}
        card = cards.render_answered(message.get("question") or "", message.get("answer"))
        try:
            await self.connector.update(reference, activity_id, card_activity(card))
        except ConnectorError as exc:
            raise classify(exc) from None
        return {"conversation": (reference.get("conversation") or {}).get("id"), "activity_id": activity_id}


def classify(exc: ConnectorError) -> DeliveryFailed:
    """A Connector failure as the outbox sees it: 429 waits Retry-After, 5xx retries, a removed app never will."""
    status = exc.status
    if status == 429:
        return DeliveryFailed("Teams rate limit", retry_after=exc.retry_after or 1.0)
    if status in PERMANENT_STATUSES:
        return DeliveryFailed(say("teams.reason_refused", status=status), permanent=True)
    return DeliveryFailed(f"HTTP {status} from the Bot Connector" if status else "no answer from the Bot Connector")
