"""Teams' transport for the outbox: proactive cards to a member's personal chat or the records channel, ticks in place."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.core.card_factory import CardFactory
from botbuilder.schema import Activity, ConversationReference, ErrorResponseException
from msrest.exceptions import ClientRequestError

from bot.adapters.teams import cards
from bot.delivery import outbox
from bot.delivery.routing import CHANNEL_KEY
from bot.delivery.sender import DeliveryFailed
from bot.store import OutboxMessage
from bot.text import say

log = logging.getLogger("records_bot.teams")

PLATFORM = "teams"
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410, 413})


class ConversationStore(Protocol):
    """Where conversation references live: the platform_conversations table, never only in memory."""

    def recall(self, platform: str, key: str) -> dict | None: ...

    def remember(self, platform: str, key: str, reference: dict) -> None: ...


def reference_dict(activity: Activity, *, channel: bool = False) -> dict[str, Any]:
    """The conversation reference of an inbound activity as JSON (no activity id: sends start new messages)."""
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    if channel:
        reference.user = None  # a channel post is to the channel, not to whoever typed there
    return reference.serialize()


class TeamsTransport:
    """Sends outbox rows through the Bot Connector with the CloudAdapter's proactive path."""

    platform = PLATFORM

    def __init__(
        self, cloud: Any, app_id: str, store: ConversationStore, *, run: Callable[..., Awaitable[Any]] | None = None
    ) -> None:
        self.cloud, self.app_id, self.store = cloud, app_id, store
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
                card = cards.render_step(prompts)
            sent = await self.send_card(reference, card)
            return {"conversation": (reference.get("conversation") or {}).get("id"), "activity_id": sent}
        except ErrorResponseException as exc:
            raise classify(exc) from None
        except (TimeoutError, aiohttp.ClientError, ClientRequestError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__} talking to the Bot Connector") from None

    async def send_card(self, reference: dict[str, Any], card: cards.Card) -> str | None:
        """One card, proactively, into the conversation the reference addresses; returns the new activity's id."""
        sent: list[str | None] = []

        async def callback(context: TurnContext) -> None:
            response = await context.send_activity(MessageFactory.attachment(CardFactory.adaptive_card(card)))
            sent.append(response.id if response else None)

        await self.cloud.continue_conversation(ConversationReference().deserialize(reference), callback, self.app_id)
        return sent[0] if sent else None

    async def _update(self, row: OutboxMessage) -> dict[str, Any]:
        message = row.payload.get("message") or {}
        reference, activity_id = message.get("reference"), message.get("activity_id")
        if not reference or not activity_id:
            return {"skipped": "no card to tick"}
        card = cards.render_answered(message.get("question") or "", message.get("answer"))

        async def callback(context: TurnContext) -> None:
            updated = MessageFactory.attachment(CardFactory.adaptive_card(card))
            updated.id = activity_id
            updated.conversation = context.activity.conversation
            await context.update_activity(updated)

        await self.cloud.continue_conversation(ConversationReference().deserialize(reference), callback, self.app_id)
        return {"conversation": (reference.get("conversation") or {}).get("id"), "activity_id": activity_id}


def classify(exc: ErrorResponseException) -> DeliveryFailed:
    """A Connector failure as the outbox sees it: 429 waits Retry-After, 5xx retries, a removed app never will."""
    response = getattr(exc, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    if status == 429:
        headers = getattr(response, "headers", {}) or {}
        try:
            wait = float(headers.get("Retry-After", 1))
        except (TypeError, ValueError):
            wait = 1.0
        return DeliveryFailed("Teams rate limit", retry_after=wait)
    if status in PERMANENT_STATUSES:
        return DeliveryFailed(say("teams.reason_refused", status=status), permanent=True)
    return DeliveryFailed(f"HTTP {status} from the Bot Connector" if status else "no answer from the Bot Connector")
