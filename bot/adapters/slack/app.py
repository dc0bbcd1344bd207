"""The Bolt AsyncApp: ack first, then hand the interaction to the conversation core and show what it says."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import blocks
from bot.adapters.slack.delivery import Pacer, SlackTransport
from bot.adapters.slack.directory import Directory
from bot.adapters.slack.ids import (
    ACTION_PATTERN,
    COMMAND,
    CONSULT_PREFIX,
    FORM_CALLBACK,
    NOTE_BLOCK,
    Action,
    action_of,
    block_id,
    ref_of,
)
from bot.adapters.slack.inbound import payload_problem
from bot.config import PracticeSettings
from bot.delivery.platform import ConversationPort
from bot.delivery.sender import SenderPort
from bot.prompts import Answer, Origin, Prompt, Reply
from bot.refs import RunRef
from bot.text import say

log = logging.getLogger("records_bot.slack")

VIEWS_REMEMBERED = 500  # modals whose latest update this process remembers (see SlackAdapter._update_view)


def web_client(token: str, api_url: str | None = None, timeout: float = 10.0) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL when set (GovSlack, a local fake).

    No retries inside the client: a message that fails goes back to the outbox, which waits Retry-After or backs
    off without holding anything up; a modal that can't open becomes a message with the form behind a button.
    """
    base_url = (api_url.rstrip("/") + "/") if api_url else AsyncWebClient.BASE_URL
    client = AsyncWebClient(token=token, base_url=base_url, timeout=int(max(timeout, 1)))
    client.retry_handlers.clear()
    return client


class SlackAdapter:
    """Registers the listeners on an AsyncApp and runs the slow part of each interaction after its ack."""

    def __init__(
        self,
        conversation: ConversationPort,
        practice: PracticeSettings,
        *,
        sender: SenderPort | None = None,
        token: str,
        signing_secret: str,
        api_url: str | None = None,
        api_timeout: float = 10.0,
        pacer: Pacer | None = None,
        process_before_response: bool = True,
        work_threads: int = 1,
        background_slots: int = 2,
        db_executor: Executor | None = None,
    ) -> None:
        self.conversation, self.practice = conversation, practice
        self.client = web_client(token, api_url, api_timeout)
        self.directory = Directory(practice)
        # Two small pools: form checks that hold up an ack never queue behind slow work, and the slow work
        # (database writes, one writer at a time on SQLite anyway) uses few threads so the event loop keeps the GIL.
        self._ack_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-ack")
        # On SQLite every write goes through one shared thread (db_executor): writers queueing on its lock sleep in
        # growing steps, which costs far more than waiting a few milliseconds in line.
        self._own_pools = db_executor is None
        self._work_pool = db_executor or ThreadPoolExecutor(max_workers=work_threads, thread_name_prefix="slack-work")
        self._urgent_pool = db_executor or ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-urgent")
        self.transport = SlackTransport(
            self.client, practice, self.directory, conversation, pacer=pacer, run=self._run
        )  # its database calls (DM channel ids) on the same thread as the adapter's
        self.sender = sender  # set by the server once the outbox sender exists
        self._tasks: set[asyncio.Task[None]] = set()
        # modals shown again after a change (view id -> hash replaced, hash now, when the change was made), and one
        # lock per modal being updated, so two quick changes are shown in the order they were made
        self._view_updates: OrderedDict[str, tuple[str | None, tuple[str, ...], float]] = OrderedDict()
        self._view_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._slot_count, self._slots = (
            background_slots,
            cast(asyncio.Semaphore | None, None),
        )  # the semaphore is made on the serving loop
        # process_before_response=True runs the ack function inline and answers Slack the moment it returns;
        # the slow part always runs in a task started by spawn(), so nothing slow ever sits before the ack.
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret,
            process_before_response=process_before_response,
            raise_error_for_unhandled_request=False,
        )
        self.app.middleware(self._only_our_workspace)
        self.app.command(COMMAND)(self.ack_command)
        self.app.action(ACTION_PATTERN)(self.ack_action)
        self.app.view(FORM_CALLBACK)(self.ack_form_submission)
        self.app.event("app_home_opened")(self.handle_home_opened)
        self.app.event("message")(self.handle_direct_message)
        self.app.error(self._on_error)

    # ---- plumbing --------------------------------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None], *, urgent: bool = False) -> None:
        """Run the slow part after the ack; keep a reference so the task is not collected mid-way.

        At most `background_slots` interactions do their slow part at once; the rest wait their turn, so a burst
        never floods the event loop with follow-up work that would delay the acks of the requests behind it.
        Urgent work (opening a modal before its trigger expires) takes no slot and has its own threads.
        """
        task = asyncio.ensure_future(work if urgent else self._in_slot(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _in_slot(self, work: Coroutine[Any, Any, None]) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._slot_count)
        try:
            async with self._slots:
                await work
        finally:
            if inspect.getcoroutinestate(work) == inspect.CORO_CREATED:
                work.close()  # cancelled before its turn (shutdown): nothing ran, nothing to undo

    def spawn_unlimited(self, work: Coroutine[Any, Any, None]) -> None:
        """Work that mostly waits (paced posts to the records channel): tracked, but takes no slot."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for work still running after its ack (used at shutdown and by tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # work spawns more work (a step's channel post is paced in its own task): wait until none is left
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(list(self._tasks), timeout=deadline - loop.time())

    async def _guard(self, slack_user_id: str, channel: str | None, work: Callable[[], Awaitable[None]]) -> None:
        """Run the slow part; if the core itself failed, nothing was kept, and the person is told just that."""
        try:
            await work()
        except Exception:
            log.exception("interaction failed")
            await self._best_effort_tell(
                slack_user_id, channel, Prompt(kind="notice", text=say("slack.something_went_wrong"))
            )

    async def _best_effort_tell(self, slack_user_id: str, channel: str | None, prompt: Prompt) -> None:
        try:
            await self.transport.tell(slack_user_id, channel, [prompt])
        except Exception:  # Slack itself is down: nothing more we can show; the log has it
            log.warning("could not tell %s about an error", slack_user_id)

    async def _only_our_workspace(self, context: Any, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        ours = context.authorize_result.team_id if context.authorize_result else None
        theirs = context.team_id
        if ours and theirs and ours != theirs and not context.enterprise_id:
            log.warning("refused a request from workspace %s", theirs)
            is_command = "command" in body
            return BoltResponse(status=200, body=say("slack.other_workspace") if is_command else "")
        return await next()

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)

    async def _run(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A synchronous core call (database inside) on the work pool."""
        return await asyncio.get_running_loop().run_in_executor(self._work_pool, partial(call, *args, **kwargs))

    async def _run_urgent(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A core call a modal waits on (a new intake): its own threads, never queued behind others' answers."""
        return await asyncio.get_running_loop().run_in_executor(self._urgent_pool, partial(call, *args, **kwargs))

    async def _run_before_ack(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A core call whose answer goes on the ack (form validation): its own pool, never behind slow work."""
        return await asyncio.get_running_loop().run_in_executor(self._ack_pool, partial(call, *args, **kwargs))

    def close(self) -> None:
        self._ack_pool.shutdown(wait=False, cancel_futures=True)
        if self._own_pools:
            self._urgent_pool.shutdown(wait=True, cancel_futures=False)
            self._work_pool.shutdown(wait=True, cancel_futures=False)

    async def _show_reply(self, user: str, channel: str | None, reply: Reply, trigger_id: str | None) -> None:
        """What the core wrote to the outbox goes out now (a held form opens as a modal first); a reply that
        changed nothing (help, status, "already done") is answered privately where it was asked."""
        if reply.queued:
            try:
                if reply.held is not None:
                    await self._open_held_form(reply, trigger_id)
            except Exception:  # the answer is kept and its messages are rows: they still go out; never say "nothing"
                log.exception("after a kept answer, settling the held form failed; the outbox sends it")
            self._kick()
            return
        if reply.prompts:
            await self.transport.tell(user, channel, reply.prompts)

    async def _open_held_form(self, reply: Reply, trigger_id: str | None) -> None:
        """Open the form as a modal while the trigger is fresh; if Slack won't, the held message goes out instead."""
        held = cast(int, reply.held)
        form = next((p for p in reply.prompts if p.kind == "form" and p.ref), None)
        if form is None or not trigger_id:
            await self._run(self._sender().form_not_shown, held)
            return
        at = reply.prompts.index(form)
        before = reply.prompts[:at]
        lead = tuple(before) if all(p.kind == "notice" and not p.body for p in before) else ()
        try:
            await self.client.views_open(trigger_id=trigger_id, view=blocks.render_modal(form, {"ref": form.ref}, lead))
        except Exception as exc:  # expired trigger, Slack error or timeout: the form goes to the DM behind a button
            log.warning("views.open failed (%s); the form goes out as a message", type(exc).__name__)
            await self._run(self._sender().form_not_shown, held)
            return
        await self._run(self._sender().form_shown, held, len(lead))

    def _sender(self) -> SenderPort:
        if self.sender is None:
            raise RuntimeError("the Slack adapter has no outbox sender")
        return self.sender

    def _kick(self) -> None:
        if self.sender is not None:
            self.sender.kick()

    # ---- /records-request ------------------------------------------------------------------------------------------

    async def ack_command(self, ack: Callable[..., Awaitable[None]], command: dict[str, Any]) -> None:
        """Ack at once (a refusal rides on the ack itself); the conversation runs after."""
        if self.directory.member(command.get("user_id")) is None:
            await ack(text=say("slack.not_a_member"))
            return
        await ack()
        text = (command.get("text") or "").strip()
        # a new intake opens its modal on a trigger that lives 3 s: it never waits behind others' work
        self.spawn(self.handle_command(command), urgent=not text)

    async def handle_command(self, command: dict[str, Any]) -> None:
        user, channel = command["user_id"], command.get("channel_id")
        trigger = command.get("trigger_id")
        key = trigger or command.get("event_id")

        async def work() -> None:
            text = (command.get("text") or "").strip()
            origin = Origin("slack", user, hold_form=bool(trigger))
            if text:
                reply = await self._run(self.conversation.command, origin, text, inbound_key=key)
            else:
                reply = await self._run_urgent(self.conversation.start, origin, inbound_key=key)
            if reply.duplicate:
                return  # a retry of a command already handled
            await self._show_reply(user, channel, reply, trigger)

        await self._guard(user, channel, work)

    # ---- buttons, selects, date pickers ----------------------------------------------------------------------------

    async def ack_action(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        act = action_of(action.get("action_id", ""))
        if act is Action.check or payload_problem(body):
            return  # a tick in a checklist: Slack keeps it in the message state until Done (or nobody clicked)
        if act is Action.controls:  # someone is filling in the modal, waiting to see the fields appear
            self.spawn(self.reshape_form(body, action), urgent=True)
            return
        self.spawn(self.handle_action(body, action))

    async def handle_action(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user = str((body.get("user") or {}).get("id") or "")
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        if self.directory.member(user) is None:
            await self._best_effort_tell(user, channel, Prompt(kind="notice", text=say("slack.not_a_member")))
            return

        async def work() -> None:
            act = action_of(action["action_id"])
            ref = ref_of(action.get("block_id", ""))
            if act is None or ref is None:
                return
            trigger = body.get("trigger_id")
            if act is Action.open_form:
                await self._open_form(user, channel, ref, trigger)
                return
            if act is Action.back:
                origin = Origin("slack", user, message=answered_message(body, channel, say("slack.went_back")))
                await self._show_reply(user, channel, await self._run(self.conversation.back, origin, ref), None)
                return
            value, label = read_action(act, action, body, ref)
            key = f"{container.get('message_ts') or container.get('view_id')}:{action['action_id']}:{action.get('action_ts')}"
            message = answered_message(body, channel, label)
            origin = Origin("slack", user, message=message, hold_form=bool(trigger))
            reply = await self._run(self.conversation.answer, Answer(ref, value, origin), inbound_key=key)
            if reply.duplicate and not reply.prompts:
                reply.prompts = [Prompt(kind="notice", text=say("slack.not_yours"))]
            await self._show_reply(user, channel, reply, trigger)

        await self._guard(user, channel, work)

    async def _current_form(self, user: str, ref: str, *, urgent: bool = False) -> Prompt | None:
        """The form the run is waiting on, if `ref` still addresses it (same step and version)."""
        parsed = RunRef.parse(ref)
        if parsed is None:
            return None
        run = self._run_urgent if urgent else self._run
        reply = await run(self.conversation.current, parsed.run_id, Origin("slack", user))
        form = next((p for p in reply.prompts if p.kind == "form" and p.ref == ref), None)
        return form or next((p for p in reply.prompts if p.kind == "notice"), None)  # e.g. "belongs to a colleague"

    async def _open_form(self, user: str, channel: str | None, ref: str, trigger_id: str | None) -> None:
        # rebuilt from the database, so it works after a restart and on any of several processes
        form = await self._current_form(user, ref)
        if form is not None and form.kind == "notice":
            await self.transport.tell(user, channel, [form])
            return
        if form is None or not trigger_id:
            await self.transport.tell_text(user, channel, say("slack.form_gone"))
            return
        await self.client.views_open(trigger_id=trigger_id, view=blocks.render_modal(form, {"ref": ref}))

    async def reshape_form(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A field others depend on changed in a modal: the modal again, with the fields that now apply (views.update).

        Nothing is recorded: the answers are taken on Submit, where fields that do not apply are ignored anyway.
        """
        user = str((body.get("user") or {}).get("id") or "")
        view = body.get("view") or {}
        ref = private_ref(view.get("private_metadata"))
        if not ref or not view.get("id") or self.directory.member(user) is None:
            return
        try:
            form = await self._current_form(user, ref, urgent=True)
            if form is None or form.kind != "form":
                return  # answered or replaced meanwhile (or not theirs): Submit says so
            again = blocks.reshaped_modal(form, view)
            await self._update_view(view, again, float(action.get("action_ts") or 0))
        except Exception:  # the modal still works as shown; the flow checks the fields that apply on Submit
            log.exception("could not show the form again after a change")

    async def _update_view(self, view: dict[str, Any], again: dict[str, Any], changed_at: float) -> None:
        """views.update when the fields that apply differ from what the modal shows, on the hash it shows them with.

        What it shows is what our last update put there (a change made before that update landed still reports the
        view as it was), else the view the change came from; an older change never goes on top of a newer one. A
        hash Slack no longer has (the modal changed elsewhere, or was closed) leaves the modal as it is.
        """
        view_id = str(view["id"])
        lock = self._view_locks.get(view_id)
        if lock is None:
            lock = self._view_locks[view_id] = asyncio.Lock()
        async with lock:
            last = self._view_updates.get(view_id)  # (hash, fields shown, time of the change it showed)
            if last is not None and changed_at <= last[2]:
                return
            on_screen_hash, on_screen = (last[0], last[1]) if last is not None else (view.get("hash"), None)
            if on_screen is None:
                on_screen = blocks.input_ids(view)
            wanted = blocks.input_ids(again)
            if wanted == on_screen:  # the same fields still apply: nothing to redraw (what was typed stays as it is)
                self._view_updates[view_id] = (on_screen_hash, on_screen, changed_at)  # yet newer than any late one
                return
            try:
                response = await self.client.views_update(view_id=view_id, hash=on_screen_hash, view=again)
            except SlackApiError as exc:  # hash_conflict: changed elsewhere since; not_found: closed
                log.info("views.update refused (%s); the modal stays as it is", exc.response.get("error"))
                return
            shown_hash = str((response.get("view") or {}).get("hash") or "")
            self._view_updates[view_id] = (shown_hash, wanted, changed_at)
            while len(self._view_updates) > VIEWS_REMEMBERED:
                self._view_updates.popitem(last=False)

    # ---- the intake form (modal) -----------------------------------------------------------------------------------

    async def ack_form_submission(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """Field errors go back on the ack (response_action=errors, under the field); a good form closes and runs on."""
        user = str((body.get("user") or {}).get("id") or "")
        values = blocks.form_values(view.get("state", {}).get("values", {}))
        first_field = next(iter(values), None)
        if self.directory.member(user) is None:
            await ack(response_action="errors", errors={first_field: say("slack.not_a_member")} if first_field else {})
            return
        ref = private_ref(view.get("private_metadata"))
        errors = await self._run_before_ack(self.conversation.validate_form, ref, values) if ref else {}
        if errors:
            shown = {
                name if name in values else first_field: blocks.clip(reason, 2000) for name, reason in errors.items()
            }
            await ack(response_action="errors", errors={k: v for k, v in shown.items() if k})
            return
        await ack()
        self.spawn(self.handle_form_submission(user, ref, values, f"{view.get('id')}:{view.get('hash')}"))

    async def handle_form_submission(self, user: str, ref: str, values: dict[str, str], key: str) -> None:
        async def work() -> None:
            origin = Origin("slack", user)
            reply = await self._run(self.conversation.answer, Answer(ref, values, origin), inbound_key=key)
            await self._show_reply(user, None, reply, None)

        await self._guard(user, None, work)

    # ---- App Home and typed DMs ------------------------------------------------------------------------------------

    async def handle_home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user") or "")
        self.spawn(self._publish_home(user))

    async def _publish_home(self, user: str) -> None:
        if self.directory.member(user) is None:
            view = blocks.render_home([Prompt(kind="notice", text=say("slack.not_a_member"))])
        else:
            prompts = await self._run(self.conversation.home, Origin("slack", user))
            view = blocks.render_home(prompts)
        try:
            await self.client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            log.warning("views.publish failed: %s", exc.response.get("error"))

    async def handle_direct_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Typed commands in the app's DM ("status RR-2026-0001", "help") work like the slash command's subcommands."""
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype") or not event.get("text"):
            return
        user = str(event.get("user") or "")
        if self.directory.member(user) is None:
            self.spawn(self.transport.tell_text(user, None, say("slack.not_a_member")))
            return
        # a typed message has no trigger to open a modal with: its event id keeps a retried delivery from acting twice
        command = {"user_id": user, "channel_id": None, "text": event["text"], "event_id": body.get("event_id")}
        self.spawn(self.handle_command(command))


def answered_message(body: dict[str, Any], channel: str | None, answer: str | None) -> dict[str, Any] | None:
    """The DM message a click answered (to tick in place once the answer is taken), if it was in a message."""
    container = body.get("container") or {}
    if container.get("type") != "message" or not container.get("message_ts") or not channel:
        return None
    shown = body.get("message") or {}
    return {
        "channel": channel,
        "ts": container["message_ts"],
        "text": shown.get("text") or "",
        "blocks": shown.get("blocks") or [],
        "answer": answer,
    }


def private_ref(metadata: Any) -> str:
    """The prompt ref a modal carries in private_metadata; "" for anything malformed."""
    try:
        data = json.loads(metadata or "{}")
    except (TypeError, ValueError):
        return ""
    return str(data.get("ref", "")) if isinstance(data, dict) else ""


def read_action(act: Action, action: dict[str, Any], body: dict[str, Any], ref: str) -> tuple[Any, str | None]:
    """The answer value a click carries and how it reads back on the finished step."""
    if act is Action.choose:
        if "selected_option" in action:
            option = action["selected_option"] or {}
            return option.get("value"), (option.get("text") or {}).get("text")
        value, label = action.get("value"), (action.get("text") or {}).get("text")
        if ref.startswith(CONSULT_PREFIX):  # the consult card's optional note travels in the message state
            note_state = (body.get("state") or {}).get("values", {}).get(block_id(ref, NOTE_BLOCK), {})
            note = (next(iter(note_state.values()), {}) or {}).get("value")
            if note:
                return {"answer": value, "note": note}, f"{label}: {note}"
        return value, label
    if act is Action.pick_date:
        return action.get("selected_date"), action.get("selected_date")
    if act is Action.type_text:
        return action.get("value") or "", action.get("value") or ""
    # Done: read what Slack kept in the message state for the prompt's first block
    state = (body.get("state") or {}).get("values", {}).get(block_id(ref), {})
    element = next(iter(state.values()), {})
    if "selected_options" in element:
        options = element.get("selected_options") or []
        labels = ", ".join((o.get("text") or {}).get("text", "") for o in options) or say("slack.checklist_none")
        return [o["value"] for o in options], labels
    return element.get("value") or "", element.get("value") or ""
