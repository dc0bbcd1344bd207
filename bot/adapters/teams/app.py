"""The Teams bot: each activity to /api/messages becomes a call to the conversation core, answered with cards."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes

from bot.adapters.teams import cards
from bot.adapters.teams.connector import BotSettings, ConnectorError, RestConnector, ReusingAuthentication
from bot.adapters.teams.delivery import TeamsTransport, card_activity, reference_of
from bot.config import PracticeSettings
from bot.delivery.platform import ConversationPort
from bot.delivery.routing import CHANNEL_KEY
from bot.delivery.sender import SenderPort
from bot.prompts import Answer, Origin, Prompt, Reply
from bot.text import say

log = logging.getLogger("records_bot.teams")

PLATFORM = "teams"
MENTION = re.compile(r"<at[^>]*>.*?</at>", re.I | re.S)
COMMAND_WORD = "records-request"
RAW = contextvars.ContextVar[dict[str, Any]]("teams_raw_activity")  # the activity JSON as posted, for this turn


class TeamsAdapter:
    """The CloudAdapter on /api/messages, the bot turn that hands activities to the core, and the outbox transport."""

    def __init__(
        self,
        conversation: ConversationPort,
        practice: PracticeSettings,
        *,
        settings: BotSettings,
        sender: SenderPort | None = None,
        work_threads: int = 2,
        db_executor: Executor | None = None,
    ) -> None:
        self.conversation, self.practice, self.settings = conversation, practice, settings
        self.local_mode = not settings.APP_ID
        self.authentication = ReusingAuthentication(settings)
        self.cloud = CloudAdapter(self.authentication)
        self.cloud.on_turn_error = self._on_turn_error
        # on SQLite the server hands every adapter one shared writer thread (db_executor): no lock contention
        self._own_pool = db_executor is None
        self._pool = db_executor or ThreadPoolExecutor(max_workers=work_threads, thread_name_prefix="teams-work")
        self.connector = RestConnector(self.authentication, settings.APP_ID)
        self.transport = TeamsTransport(self.connector, conversation, run=self._run)
        self.sender = sender
        self.members = {m.teams_user_id: m for m in practice.members if m.teams_user_id}
        self._turns = 0  # turns in progress: shutdown waits for them (their answers are rows by the time they end)
        self._idle: asyncio.Event | None = None

    # ---- plumbing --------------------------------------------------------------------------------------------------

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_post("/api/messages", self.handle_request)

    async def handle_request(self, request: web.Request) -> web.Response:
        """POST /api/messages: authenticated by the SDK (401 before anything is read into the core)."""
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.Response(status=415)
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400)
        if not isinstance(body, dict):
            return web.Response(status=400)
        try:
            activity = Activity().deserialize(body)
        except Exception:  # msrest refuses a field of the wrong shape: not an activity
            return web.Response(status=400)
        if not activity.type or not isinstance(body.get("serviceUrl", ""), str):
            return web.Response(status=400)
        RAW.set(body)
        if self._idle is None:
            self._idle = asyncio.Event()
        self._turns += 1
        self._idle.clear()
        try:
            return await self._authenticated_turn(request, activity)
        finally:
            self._turns -= 1
            if not self._turns:
                self._idle.set()

    async def _authenticated_turn(self, request: web.Request, activity: Activity) -> web.Response:
        try:
            authenticated = await self.authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as exc:  # missing, malformed, expired or foreign token: refused before anything is read
            log.warning("refused an unauthenticated request to /api/messages (%s)", type(exc).__name__)
            return web.Response(status=401)
        response = await self.cloud.process_activity(authenticated, activity, self.on_turn)
        if response is not None:
            return web.json_response(response.body, status=response.status)
        return web.Response(status=201)

    async def _run(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A synchronous core call (database inside) on the adapter's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(call, *args, **kwargs))

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the turns still in progress (shutdown, tests); the rest of their work is in the outbox."""
        if self._turns and self._idle is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        await self.connector.close()
        await self.authentication.close()
        if self._own_pool:
            self._pool.shutdown(wait=True, cancel_futures=False)

    def _kick(self) -> None:
        if self.sender is not None:
            self.sender.kick()

    async def _on_turn_error(self, context: TurnContext, error: Exception) -> None:
        log.error("a Teams turn failed: %s", type(error).__name__, exc_info=error)
        try:
            await self.say(context, say("teams.something_went_wrong"))
        except Exception:  # the connector itself is down: the log has it
            log.warning("could not tell the user about a failed turn")

    async def say(self, context: TurnContext, text: str) -> None:
        """A plain line back into the conversation the activity came from."""
        await self.connector.send(reference_of(RAW.get()), {"type": "message", "text": text})

    async def show(self, context: TurnContext, card: cards.Card) -> None:
        """A card back into the conversation the activity came from, as a reply to it."""
        await self.connector.send(reference_of(RAW.get()), card_activity(card, replyToId=context.activity.id))

    # ---- the turn --------------------------------------------------------------------------------------------------

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        if activity.type == ActivityTypes.message:
            if self._aad(activity) not in self.members:
                await self.say(context, say("teams.not_a_member"))
                return
            await self._remember_where(context)
            if isinstance(activity.value, dict) and activity.value:
                await self.handle_submit(context, activity.value)
            elif activity.text:
                await self.handle_text(context)
        elif activity.type in (ActivityTypes.installation_update, ActivityTypes.conversation_update):
            await self.handle_installed(context)

    def _aad(self, activity: Activity) -> str:
        sender = activity.from_property
        return str(getattr(sender, "aad_object_id", None) or "")

    def _conversation_type(self, activity: Activity) -> str:
        return str(getattr(activity.conversation, "conversation_type", None) or "personal")

    async def _remember_where(self, context: TurnContext) -> None:
        """A member's personal chat is where their steps, reminders and consults go: keep its address (in the DB).

        From a channel, a member the bot has no personal chat with yet gets one opened, so the steps of what they
        start there have somewhere to go (a failure here is reported later, when a step cannot be delivered).
        """
        activity = context.activity
        aad = self._aad(activity)
        if self._conversation_type(activity) == "personal":
            await self.transport.remember(f"dm:{aad}", reference_of(RAW.get()))
        elif await self.transport.recall(f"dm:{aad}") is None:
            try:
                await self.transport.remember(f"dm:{aad}", await self.connector.open_personal_chat(RAW.get()))
            except ConnectorError as exc:
                log.info("could not open a personal chat from a channel message (%s)", exc)

    async def handle_installed(self, context: TurnContext) -> None:
        """Added to a team channel: that channel becomes the records channel when none is chosen yet.
        Added by a member for themself: their personal chat is kept, and they are greeted once."""
        activity = context.activity
        installed = activity.type == ActivityTypes.installation_update and activity.action in ("add", "add-upgrade")
        bot_added = any(m.id == activity.recipient.id for m in activity.members_added or [])
        kind = self._conversation_type(activity)
        if kind == "channel" and (installed or bot_added):
            if await self.transport.recall(CHANNEL_KEY) is None:
                await self.transport.remember(CHANNEL_KEY, reference_of(RAW.get(), channel=True))
                await self.say(context, say("teams.channel_set"))
        elif kind == "personal" and installed:  # Teams also sends a conversationUpdate: one welcome, not two
            if self._aad(activity) in self.members:
                await self.transport.remember(f"dm:{self._aad(activity)}", reference_of(RAW.get()))
            await self.say(context, say("teams.welcome"))

    async def handle_text(self, context: TurnContext) -> None:
        """`records-request [help|list|status RR-…|channel]`, or the subcommand alone; @mentions stripped first."""
        activity = context.activity
        text = " ".join(MENTION.sub(" ", activity.text or "").split())
        words = text.split(maxsplit=1)
        if words and words[0].lower().lstrip("/") == COMMAND_WORD:
            text = words[1] if len(words) > 1 else ""
        origin = Origin(PLATFORM, self._aad(activity))
        key = f"teams:{activity.id}" if activity.id else None
        if text.strip().lower() == "channel":
            await self.choose_channel(context, origin)
            return
        if text:
            reply = await self._run(self.conversation.command, origin, text, inbound_key=key)
        else:
            reply = await self._run(self.conversation.start, origin, inbound_key=key)
        if reply.duplicate and reply.queued == []:
            return  # a redelivery of an activity already handled
        await self.show_reply(context, reply)

    async def choose_channel(self, context: TurnContext, origin: Origin) -> None:
        activity = context.activity
        member = self.members.get(origin.user_id)
        if member is None or member.role != "admin":
            await self.say(context, say("teams.channel_admins_only"))
        elif self._conversation_type(activity) != "channel":
            await self.say(context, say("teams.channel_only_in_a_team"))
        else:
            await self.transport.remember(CHANNEL_KEY, reference_of(RAW.get(), channel=True))
            await self.say(context, say("teams.channel_set"))

    async def handle_submit(self, context: TurnContext, value: dict[str, Any]) -> None:
        """An Action.Submit on one of our cards: the answer goes to the core; a wrong form comes back with its errors."""
        activity = context.activity
        read = cards.read_submit(value)
        if read is None:
            return
        ref, answer, label, question = read
        origin_id = self._aad(activity)
        if value.get(cards.BACK):
            origin = Origin(PLATFORM, origin_id, message=self._answered(activity, question, label))
            await self.show_reply(context, await self._run(self.conversation.back, origin, ref))
            return
        if isinstance(answer, dict) and not ref.startswith("consult:"):
            errors = await self._run(self.conversation.validate_form, ref, answer)
            if errors:
                await self._form_again(context, ref, answer, errors)
                return
        origin = Origin(PLATFORM, origin_id, message=self._answered(activity, question, label))
        key = f"teams:{activity.id}" if activity.id else None
        reply = await self._run(self.conversation.answer, Answer(ref, answer, origin), inbound_key=key)
        if reply.duplicate and not reply.prompts:
            reply.prompts = [Prompt(kind="notice", text=say("teams.not_yours"))]
        await self.show_reply(context, reply)

    def _answered(self, activity: Any, question: str, label: str | None) -> dict[str, Any] | None:
        """The card a submit answered (to tick in place once the answer is taken), if Teams says which."""
        if not activity.reply_to_id:
            return None
        return {
            "reference": reference_of(RAW.get()),
            "activity_id": activity.reply_to_id,
            "question": question,
            "answer": label,
        }

    async def _form_again(self, context: TurnContext, ref: str, values: dict[str, str], errors: dict[str, str]) -> None:
        """The form card, in place where Teams allows it, with what was typed and each field's reason."""
        from bot.refs import RunRef

        parsed = RunRef.parse(ref)
        current = (
            await self._run(self.conversation.current, parsed.run_id, Origin(PLATFORM, self._aad(context.activity)))
            if parsed
            else Reply()
        )
        form = next((p for p in current.prompts if p.kind == "form" and p.ref == ref), None)
        if form is None:
            await self.say(context, say("teams.form_gone"))
            return
        shown = {name if name in values else next(iter(values), name): reason for name, reason in errors.items()}
        card = cards.render_form_again(form, values, shown)
        if context.activity.reply_to_id:
            try:
                await self.connector.update(reference_of(RAW.get()), context.activity.reply_to_id, card_activity(card))
                return
            except ConnectorError as exc:  # a card that can't be updated: the form comes again as a new card
                log.info("could not update the form card in place (%s)", exc)
        await self.show(context, card)

    async def show_reply(self, context: TurnContext, reply: Reply) -> None:
        """What the core wrote to the outbox goes out now; a reply that changed nothing is answered in this turn."""
        if reply.queued:
            self._kick()
            return
        if reply.prompts:
            await self.show(context, cards.render_cards(reply.prompts))
