"""Runs conversations: loads a run, checks the answer's version, advances the flow, applies its effects, replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import engine as flow_engine
from bot.answers import today_is
from bot.config import EnvSettings, PracticeSettings, SettingsError
from bot.delivery.routing import Router
from bot.engine import Ctx, Invalid, RunState
from bot.prompts import Answer, Choice, Origin, Prompt, Reply
from bot.refs import (
    CASE_FILE,
    REFERENCE,
    RESUME,
    RunRef,
    parse_case_file,
    parse_consult,
    parse_edit,
    parse_offer,
    parse_resume,
    resume_ref,
)
from bot.services import case_files, consults, oversight, practice_file, requests
from bot.services.case_files import CaseFiles
from bot.services.consult_answers import ConsultAnswers
from bot.services.effects import EffectRefused, EffectRunner
from bot.services.fixes import Fixes
from bot.services.oversight_commands import OversightCommands
from bot.services.reminders import plan_reminders
from bot.services.report import practice_report
from bot.services.request_commands import RequestCommands
from bot.store import (
    PLATFORM_ID_FIELDS,
    Consult,
    FlowRun,
    InboundKey,
    Member,
    PlatformConversation,
    RecordsRequest,
    session_scope,
    utcnow,
)
from bot.text import say
from flows.records_request import FLOWS, RecordsRequestFlow

Actor = str | Origin  # a member's name (the terminal) or where a chat platform says they are


class Conversation(Fixes, OversightCommands, CaseFiles, RequestCommands, ConsultAnswers):
    """The platform-neutral conversation: adapters turn platform events into these calls and render the replies."""

    def __init__(
        self,
        engine: Engine,
        practice: PracticeSettings,
        *,
        today: Callable[[], date] | None = None,
        encrypt_contact: Callable[[dict[str, str]], str] | None = None,
        env: EnvSettings | None = None,
        practice_file: Path | None = None,
        router: Router | None = None,
    ):
        self.engine = engine
        self.practice = practice
        # where details asked in the conversation are saved (None: kept for this process only)
        self.practice_file = practice_file or (env.practice_file if env else None)
        self.today = today or (lambda: utcnow().astimezone(self.practice.tz).date())
        self.encrypt_contact = encrypt_contact or self._encrypt_with_configured_key
        self.env = env  # SMTP settings, when phone consults may email their summary
        self.flow: RecordsRequestFlow = FLOWS["records_request"]  # type: ignore[assignment]
        self.router = router or Router(practice, env.chat_platforms if env else ())

    # ------------------------------------------------------------------ entry points
    def start(self, actor: Actor, *, inbound_key: str | None = None) -> Reply:
        """/records-request: a new run at intake (a retried command returns nothing new)."""
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return self._not_a_member(actor)
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("already_started"))], duplicate=True)
            state = flow_engine.start(self.flow, first=self.flow.opening_step(self.practice))
            run = FlowRun(flow=self.flow.name, member_id=member.id, step=state.step, answers={}, version=0)
            session.add(run)
            session.flush()
            ctx = self._ctx(session, run, member.name)
            return self._finish(
                session, Reply(prompts=flow_engine.prompts(self.flow, ctx), accepted=True), member, actor
            )

    def answer(self, answer: Answer, *, inbound_key: str | None = None) -> Reply:
        """An answer to any prompt: a step of a run, or a consult card ("today" read as the practice's today)."""
        with today_is(self.today()):
            return self._answer(answer, inbound_key)

    def _answer(self, answer: Answer, inbound_key: str | None) -> Reply:
        if parse_consult(answer.ref) is not None:
            return self._answer_consult(answer, inbound_key)
        if parse_offer(answer.ref) is not None:
            return self._answer_offer(answer, inbound_key)
        if parse_edit(answer.ref) is not None:
            return self.answer_edit(answer, inbound_key)
        if parse_case_file(answer.ref) is not None:
            return self.answer_case_file(answer, inbound_key)
        resumed = parse_resume(answer.ref)
        if resumed and answer.value == CASE_FILE:  # a request's row on the Home tab: its case file
            return self.send_case_file(answer.actor, resumed, inbound_key=inbound_key)
        if resumed:  # "next action" on a request (the Home tab): its current step, where the conversation goes on
            return self.command(answer.actor, f"resume {resumed}", inbound_key=inbound_key)
        ref = RunRef.parse(answer.ref)
        if ref is None:
            return Reply(prompts=[self._notice(say("unknown_ref"))])
        run_id, step, version = ref.run_id, ref.step, ref.version
        try:
            with session_scope(self.engine) as session:
                member = self._member(session, answer.actor)
                if member is None:
                    return self._not_a_member(answer.actor)
                run = session.get(FlowRun, run_id)
                if run is None:
                    return Reply(prompts=[self._notice(say("unknown_ref"))])
                if not self._may_act(session, member, run):
                    return Reply(prompts=[self._notice(say("not_yours"))])
                if inbound_key and not self._claim_key(session, inbound_key):
                    return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
                if run.status != "active" or run.step != step or run.version != version:
                    return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
                reply = self._advance(session, run, member, answer.value, in_chat=isinstance(answer.actor, Origin))
                if reply.accepted and run.member_id != member.id:
                    reply = self._hand_back(session, run, member, reply)
                return self._finish(session, reply, member, answer.actor, request_id=run.request_id)
        except _Stale:
            return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
        except EffectRefused as exc:  # nothing was kept: ask the same question again with the reason
            current = self.current(run_id, answer.actor)
            again = Reply(prompts=[replace(p, error=exc.reason) for p in current.prompts if p.kind != "notice"])
            with session_scope(self.engine) as session:
                member = self._member(session, answer.actor)
                return self._finish(session, again, member, answer.actor) if member else again

    def command(self, actor: Actor, text: str, *, inbound_key: str | None = None) -> Reply:
        """/records-request (new) | help | list | status RR-… | resume RR-… | extend RR-… | cancel RR-… <reason> |
        casefile RR-… | settings."""
        words = text.strip().split(maxsplit=2)
        verb = words[0].lower().lstrip("/") if words else "help"
        if verb in ("records-request", "new", "start"):
            return self.start(actor, inbound_key=inbound_key)
        if verb == "back":
            return self.back(actor, inbound_key=inbound_key)
        if verb in ("casefile", "case-file"):  # in chat, a request's case file to my DM (Teams has no Home tab)
            ref = REFERENCE.search(text)
            if not ref:
                return Reply(prompts=[self._notice(say("needs_reference", verb=verb))])
            return self.send_case_file(actor, ref[1], inbound_key=inbound_key)
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return self._not_a_member(actor)
            if verb == "help":
                return Reply(prompts=[self._notice(say("help"))])
            if verb == "list":
                # supervisors and admins see the whole practice
                return Reply(prompts=[self._notice(self.list_text(session, member))])
            if verb == "settings":
                allowed = member.role == "admin"
                return Reply(
                    prompts=[self._notice(say("settings", practice=self.practice) if allowed else say("admins_only"))]
                )
            if verb == "find":
                return self.find_reply(session, member, text.strip().partition(" ")[2])
            if verb not in ("status", "resume", "cancel", "extend", "take", "edit", "reassign"):
                return Reply(prompts=[self._notice(say("unknown_command", given=verb))])
            ref = REFERENCE.search(text)
            if not ref:
                return Reply(prompts=[self._notice(say("needs_reference", verb=verb))])
            request = requests.find(session, ref[1])
            if request is None:
                return Reply(prompts=[self._notice(say("no_such_request", reference=ref[1].upper()))])
            if not self._may_see(member, request):
                return Reply(prompts=[self._notice(say("not_yours"))])
            if verb == "status":
                return Reply(prompts=[self._notice(self._status_text(session, request))])
            if verb == "resume":
                return self._finish(session, self._resume(session, request, member), member, actor)
            # extend and cancel change things: a retried or double-sent command does it once
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            if verb == "edit":
                reply = self.edit(session, member, request, text[ref.end() :])
            elif verb == "reassign":
                reply = self.reassign_reply(session, member, request, text[ref.end() :])
            elif verb == "extend":
                reply = self._extend(session, request, member)
            elif verb == "take":
                reply = self._take(session, request, member)
            else:
                in_chat = isinstance(actor, Origin)
                reply = self._cancel(session, request, member, text[ref.end() :].strip(), in_chat=in_chat)
            return self._finish(session, reply, member, actor, request_id=request.id)

    def discard(self, ref: str, actor: Actor) -> Reply:
        """Drop an intake that never became a request (nothing to audit); a request itself needs cancel RR-… <reason>."""
        parsed = RunRef.parse(ref)
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            run = session.get(FlowRun, parsed.run_id) if parsed else None
            if member is None or run is None or not self._may_act(session, member, run):
                return Reply(prompts=[self._notice(say("unknown_ref"))])
            if run.request_id is not None:
                request = session.get(RecordsRequest, run.request_id)
                return Reply(prompts=[self._notice(say("cancel_needs_reason", reference=request.reference))])
            session.execute(
                update(FlowRun).where(col(FlowRun.id) == run.id).values(status="cancelled", updated_at=utcnow())
            )
            return Reply(prompts=[self._notice(say("intake_discarded"))], accepted=True)

    def validate_form(self, ref: str, values: dict[str, Any]) -> dict[str, str]:
        """Per-field problems with a form answer, without taking it (for modal errors)."""
        with today_is(self.today()):
            return self._validate_form(ref, values)

    def _validate_form(self, ref: str, values: dict[str, Any]) -> dict[str, str]:
        parsed = RunRef.parse(ref)
        if parsed is None:
            return {}
        with session_scope(self.engine) as session:
            run = session.get(FlowRun, parsed.run_id)
            if run is None or run.step != parsed.step or run.version != parsed.version:
                return {}  # a form already sent (or replaced): taking it will say "already done"
            member = session.get(Member, run.member_id)
            ctx = self._ctx(session, run, member.name if member else "")
            step = self.flow.steps[run.step]
            if not step.read:
                return {}
            try:
                getattr(self.flow, step.read)(ctx, values)
            except Invalid as exc:
                return exc.fields or {"_": exc.reason}
            return {}

    def current(self, run_id: int, actor: Actor) -> Reply:
        """The prompts a run is waiting on (used on resume and after a restart)."""
        with session_scope(self.engine) as session:
            run = session.get(FlowRun, run_id)
            member = self._member(session, actor)
            if run is None or member is None:
                return Reply()
            if not self._may_act(session, member, run):
                return Reply(prompts=[self._notice(say("not_yours"))])
            return Reply(prompts=flow_engine.prompts(self.flow, self._ctx(session, run, member.name)))

    def open_runs(self, actor: Actor) -> list[int]:
        """This member's unfinished runs, oldest first: what 'resume where it stopped' picks up."""
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return []
            # soonest deadline first; a request waiting only for its follow-up comes back with the reminder, not here
            query = (
                select(FlowRun.id, RecordsRequest)
                .join(RecordsRequest, isouter=True)
                .where(FlowRun.member_id == member.id, FlowRun.status == "active", FlowRun.step != "follow_up")
            )
            rows = session.exec(query).all()
            return [
                run_id
                for run_id, request in sorted(rows, key=lambda r: (r[1] is None, r[1] and r[1].effective_due, r[0]))
            ]

    def waiting_consults(self, actor: Actor) -> list[Prompt]:
        """Consult cards still waiting on this member."""
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return []
            query = select(Consult).where(Consult.asked_member_id == member.id, Consult.status == "waiting")
            cards = []
            for consult in session.exec(query.order_by(Consult.id)):
                request = session.get(RecordsRequest, consult.request_id)
                asker = session.get(Member, consult.asked_by_id) if consult.asked_by_id else None
                cards.append(consults.card(consult, request, asker.name if asker else ""))
            return cards

    def home(self, actor: Actor) -> list[Prompt]:
        """App Home: my open requests, consults waiting on me; supervisors and admins also see the whole practice
        (owner, step, due date, days left, soonest first), any request's case file, and the practice's numbers."""
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return [self._notice(say("not_a_member", actor=_label(actor)))]
            today = self.today()
            mine = oversight.visible(session, member, today, mine_only=True)
            running = select(FlowRun.request_id).where(FlowRun.status == "active")
            runs = set(session.exec(running).all())
            prompts = [self._notice(say("home_mine", requests=mine, today=today, runs=runs))]
            for row in mine:
                buttons = (Choice(RESUME, say("home_next")),) if row.request.id in runs else ()
                prompts.append(
                    Prompt(
                        kind="choice",
                        text=say("oversight.row", r=row, today=today, everyone=False, bullet=False),
                        ref=resume_ref(row.request.reference),
                        choices=(*buttons, Choice(CASE_FILE, say("case_file.button"))),
                    )
                )
            practice: list[Prompt] = []
            if oversight.sees_everything(member):
                everyone = oversight.visible(session, member, today)
                practice.append(self._notice(say("oversight.list", rows=everyone, everyone=True, today=today)))
                pick = case_files.picker([row.request for row in everyone])
                if pick is not None:
                    practice.append(pick)
                numbers = practice_report(session, today)
                practice.append(self._notice(say("report.text", r=numbers, practice=self.practice.name)))
        return [*prompts, *self.waiting_consults(actor), *practice]

    def recall(self, platform: str, key: str) -> dict[str, Any] | None:
        """Where to reach someone or something on a platform, as the adapter stored it (a DM channel id...)."""
        with session_scope(self.engine) as session:
            row = session.exec(
                select(PlatformConversation).where(
                    PlatformConversation.platform == platform, PlatformConversation.key == key
                )
            ).first()
            return dict(row.reference) if row else None

    def remember(self, platform: str, key: str, reference: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            row = session.exec(
                select(PlatformConversation).where(
                    PlatformConversation.platform == platform, PlatformConversation.key == key
                )
            ).first() or PlatformConversation(platform=platform, key=key)
            row.reference, row.updated_at = dict(reference), utcnow()
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # another process stored the same place a moment ago: theirs stands
                session.rollback()

    # ------------------------------------------------------------------ internals
    def _advance(self, session: Session, run: FlowRun, member: Member, raw: Any, *, in_chat: bool = False) -> Reply:
        before = run.step
        ctx = self._ctx(session, run, member.name)
        try:
            result = flow_engine.advance(self.flow, ctx, raw)
        except Invalid as exc:
            prompts = flow_engine.prompts(self.flow, ctx)
            fields = dict(exc.fields or {})
            return Reply(
                prompts=[replace(p, error=exc.reason, field_errors=fields) for p in prompts if p.kind != "notice"]
            )
        # optimistic lock: only one answer may move a run from this version
        moved = session.execute(
            update(FlowRun)
            .where(col(FlowRun.id) == run.id, col(FlowRun.version) == run.version)
            .values(
                step=result.state.step,
                answers=result.state.answers,
                version=result.state.version,
                status=result.state.status,
                updated_at=utcnow(),
            )
        )
        if moved.rowcount != 1:
            raise _Stale
        session.expire(run)
        runner = EffectRunner(session, self.practice, run, member, self.today(), self.encrypt_contact, self.env)
        for effect in result.effects:
            if effect.kind == "save_practice":  # the practice's own details: the file, not the database
                runner.notices.append(self._notice(self._save_practice(effect.data)))
                continue
            runner.apply(effect)  # EffectRefused undoes the whole answer (the transaction rolls back)
        notices, outbound, queued = runner.notices, runner.outbound, runner.queued
        session.refresh(run)
        request = session.get(RecordsRequest, run.request_id) if run.request_id else None
        if request is not None:
            if run.status == "active":
                requests.update_request(session, request, {"step": run.step}, actor=member.name)
            plan_reminders(session, request, self.practice, now=utcnow())
        ctx = self._ctx(session, run, member.name)
        prompts = [*notices]
        answered = request.answered_on if request is not None else None
        if run.status == "active" and run.step == "follow_up" and before != "follow_up" and answered:
            # "How did it turn out?" comes with the follow-up reminder, not seconds after the records (or the
            # denial letter) went out
            when = answered + timedelta(days=self.practice.reminders.follow_up_after_release_days)
            said = say("follow_up_later", request=request, when=when, in_chat=in_chat)
            prompts.append(self._closing(said, request, in_chat))
        elif run.status == "active":
            prompts.extend(flow_engine.prompts(self.flow, ctx))
        else:
            prompts.append(self._closing(say("run_done", request=request, in_chat=in_chat), request, in_chat))
        return Reply(prompts=prompts, outbound=outbound, accepted=True, queued=list(queued))

    def _save_practice(self, values: dict[str, str]) -> str:
        """Adopt details answered in the conversation; saved to practice.toml when there is one to write."""
        try:
            self.practice, message = practice_file.adopt(self.practice, values, self.practice_file)
        except SettingsError as exc:
            raise EffectRefused(str(exc)) from None
        return message

    def _ctx(self, session: Session, run: FlowRun, actor: str) -> Ctx:
        request = session.get(RecordsRequest, run.request_id) if run.request_id else None
        found = ()
        if request is not None:
            found = tuple(
                session.exec(select(Consult).where(Consult.request_id == request.id).order_by(Consult.id)).all()
            )
        asked_ids = {c.asked_member_id for c in found if c.asked_member_id and c.status != "withdrawn"}
        consulted = (
            tuple(m.name for m in session.exec(select(Member).where(col(Member.id).in_(asked_ids))))
            if asked_ids
            else ()
        )
        state = RunState(step=run.step, answers=dict(run.answers), version=run.version, status=run.status)
        return Ctx(
            practice=self.practice,
            today=self.today(),
            actor=actor,
            run_id=run.id,
            state=state,
            request=request,
            consults=found,
            consulted=consulted,
            can_email=bool(self.env and self.env.smtp_host),
            client_name=lambda: _client_name(request),
        )

    def _member(self, session: Session, actor: Actor) -> Member | None:
        """The member acting: by their platform id when they come from a chat platform, else by name (terminal)."""
        query = select(Member).where(Member.active == True)  # noqa: E712
        if isinstance(actor, Origin):
            column = getattr(Member, PLATFORM_ID_FIELDS.get(actor.platform, ""), None)
            if column is None or not actor.user_id:
                return None
            return session.exec(query.where(column == actor.user_id)).first()
        return session.exec(query.where(Member.name == actor)).first()

    def member_name(self, actor: Actor) -> str | None:
        """The display name of whoever this is, or None for someone outside the practice."""
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            return member.name if member else None

    def _finish(
        self, session: Session, reply: Reply, member: Member, actor: Actor, *, request_id: int | None = None
    ) -> Reply:
        """Write what this reply says into the outbox, in the same transaction as the change that causes it.

        Messages for others go to every platform they are on; a person on none, or a records channel that
        is not set, is said to the one acting instead of being dropped. From a chat platform, the actor's own
        next message is a row too, sent after commit; the terminal prints its reply itself.
        """
        if self.router.platforms:
            for item in reply.outbound:
                rows = self.router.outbound(session, item, asker=member, request_id=request_id)
                if rows:
                    continue
                if item.target_kind == "channel":
                    reply.prompts.insert(0, self._notice(say("delivery.no_channel")))
                elif item.target != member.name:
                    reply.prompts.insert(0, self._notice(say("delivery.nobody_reachable", who=item.target)))
        if isinstance(actor, Origin):
            self.router.to_actor(session, reply, member, actor, request_id=request_id)
        return reply

    def _may_act(self, session: Session, member: Member, run: FlowRun) -> bool:
        return run.member_id == member.id or member.role in ("supervisor", "admin")

    def _may_see(self, member: Member, request: RecordsRequest) -> bool:
        return request.owner_id == member.id or member.role in ("supervisor", "admin")

    def _claim_key(self, session: Session, key: str) -> bool:
        """Record an inbound interaction key; False when it was handled before (a retry or a double click).

        One INSERT ... ON CONFLICT DO NOTHING: atomic on SQLite and PostgreSQL, so two deliveries of the same
        event can't both see "new". It commits or rolls back with the rest of the answer.
        """
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        table = InboundKey.__table__  # type: ignore[attr-defined]
        statement = (
            insert(table)
            .values(key=key[:255], received_at=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key)
        )
        # the returned row, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT DO NOTHING
        return session.execute(statement).first() is not None

    def _encrypt_with_configured_key(self, contact: dict[str, str]) -> str:
        """Encrypt with RECORDS_BOT_KEY or the local key file (created 0600 on first use): the same settings the
        case file decrypts with."""
        from bot.config import load_env
        from bot.services.secrets import encrypt_contact, load_fernet

        return encrypt_contact(load_fernet(self.env or load_env()), contact)

    def _notice(self, text: str) -> Prompt:
        return Prompt(kind="notice", text=text)

    def _closing(self, text: str, request: RecordsRequest | None, in_chat: bool) -> Prompt:
        """The message a person sees when a request is done: in chat it carries the Case file button."""
        return case_files.button(request.reference, text) if in_chat and request is not None else self._notice(text)

    def _not_a_member(self, actor: Actor) -> Reply:
        return Reply(prompts=[self._notice(say("not_a_member", actor=_label(actor)))])


def _label(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.user_id


def _client_name(request: RecordsRequest | None) -> str:
    """The client's name sealed in the request ("" when none is kept), opened only when a check asks for it."""
    from bot.services.secrets import client_name

    return client_name(request.client_contact if request else None)


class _Stale(Exception):
    """Another answer moved the run first."""
