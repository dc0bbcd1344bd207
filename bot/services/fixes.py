"""The conversation's "back" and "edit RR-… <field>": answers can be fixed without cancelling the request."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from bot import engine as flow_engine
from bot.answers import today_is
from bot.engine import Invalid
from bot.prompts import Answer, Prompt, Reply
from bot.refs import RunRef, parse_edit
from bot.services import editing, requests
from bot.services.editing import EditRefused
from bot.store import FlowRun, Member, RecordsRequest, session_scope
from bot.text import say
from flows.steps.common import CONTACT_FIELDS

if TYPE_CHECKING:
    from bot.services.conversation import Actor, Conversation


class Fixes:
    """Mixed into Conversation: going back a step, correcting a request's received date, requester or delivery."""

    def back(self: Conversation, actor: Actor, ref: str | None = None, *, inbound_key: str | None = None) -> Reply:
        """One step back in the run this question belongs to (or the person's latest open run); answers are kept.

        A typed "back" delivered twice (its event id) or a Back clicked twice (the question's version) goes back once.
        """
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return self._not_a_member(actor)
            run = self._run_for_back(session, member, ref)
            if run is None:
                return Reply(prompts=[self._notice(say("editing.nothing_to_go_back_to"))])
            if not self._may_act(session, member, run):
                return Reply(prompts=[self._notice(say("not_yours"))])
            asked = RunRef.parse(ref)
            if asked is not None and (asked.step, asked.version) != (run.step, run.version):
                # a Back on a question already answered (or a second click): the run has moved on, nothing changes
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            request = session.get(RecordsRequest, run.request_id) if run.request_id else None
            try:
                editing.step_back(session, run, member, request)
            except editing.LostRace:  # another Back moved the run at the same moment: that one stands
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            except EditRefused as exc:
                reply = Reply(prompts=[self._notice(str(exc)), *self._asking(session, run, member)])
            else:
                reply = Reply(prompts=self._asking(session, run, member), accepted=True)
            return self._finish(session, reply, member, actor, request_id=run.request_id)

    def edit(self: Conversation, session: Session, member: Member, request: RecordsRequest, rest: str) -> Reply:
        """edit RR-… <field> [new value]: with a value, correct it now; without, ask for it."""
        word, _, value = rest.strip().partition(" ")
        field = editing.field_of(word) if word else None
        if field is None:
            return Reply(prompts=[self._notice(say("editing.which_field", reference=request.reference, given=word))])
        if not value.strip():
            return Reply(prompts=[editing.question(request, field)])
        return self._correct(session, member, request, field, value)

    def answer_edit(self: Conversation, answer: Answer, inbound_key: str | None) -> Reply:
        """The answer to a correction's question (edit:<reference>:<field>)."""
        reference, field = parse_edit(answer.ref) or ("", "")
        with session_scope(self.engine) as session:
            member = self._member(session, answer.actor)
            if member is None:
                return self._not_a_member(answer.actor)
            request = requests.find(session, reference) if reference else None
            if request is None or field not in editing.EDITABLE.values():
                return Reply(prompts=[self._notice(say("unknown_ref"))])
            if not self._may_see(member, request):
                return Reply(prompts=[self._notice(say("not_yours"))])
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            reply = self._correct(session, member, request, field, answer.value)
            return self._finish(session, reply, member, answer.actor, request_id=request.id)

    def _correct(
        self: Conversation, session: Session, member: Member, request: RecordsRequest, field: str, value: object
    ) -> Reply:
        today = self.today()
        try:
            with today_is(today):
                told = editing.correct(
                    session, request, field, value, member=member, practice=self.practice, today=today
                )
        except EditRefused as exc:
            return Reply(prompts=[self._notice(str(exc))])
        except Invalid as exc:
            return Reply(prompts=[replace(editing.question(request, field), error=exc.reason)])
        run = session.exec(select(FlowRun).where(FlowRun.request_id == request.id, FlowRun.status == "active")).first()
        following = self._asking(session, run, member) if run is not None and run.member_id == member.id else []
        return Reply(prompts=[self._notice(told), *following], accepted=True)

    def kept_form(self: Conversation, ref: str) -> dict[str, Any]:
        """The answers already given to a form that was left half-way (the terminal asks field by field)."""
        parsed = RunRef.parse(ref)
        if parsed is None:
            return {}
        with session_scope(self.engine) as session:
            run = session.get(FlowRun, parsed.run_id)
            kept = (run.surface or {}).get("partial_form") if run else None
        return dict(kept["values"]) if kept and kept.get("ref") == ref else {}

    def keep_form(self: Conversation, ref: str, values: dict[str, Any]) -> None:
        """Keep a half-filled form's answers with its run (never client contact details), for after a quit."""
        parsed = RunRef.parse(ref)
        if parsed is None:
            return
        kept = {k: v for k, v in values.items() if k not in CONTACT_FIELDS}
        with session_scope(self.engine) as session:
            run = session.get(FlowRun, parsed.run_id)
            if run is not None:
                run.surface = {**(run.surface or {}), "partial_form": {"ref": ref, "values": kept}}
                session.add(run)

    def _run_for_back(self: Conversation, session: Session, member: Member, ref: str | None) -> FlowRun | None:
        parsed = RunRef.parse(ref)
        if parsed:
            return session.get(FlowRun, parsed.run_id)
        query = select(FlowRun).where(FlowRun.member_id == member.id, FlowRun.status == "active")
        return session.exec(query.order_by(col(FlowRun.updated_at).desc(), col(FlowRun.id).desc())).first()

    def _asking(self: Conversation, session: Session, run: FlowRun, member: Member) -> list[Prompt]:
        return flow_engine.prompts(self.flow, self._ctx(session, run, member.name))
