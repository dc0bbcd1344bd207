"""Mixed into Conversation: a colleague's answer to a consult card, and the asker's reply to "ask someone else?"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import col, select

from bot import engine as flow_engine
from bot.answers import read_choice
from bot.engine import Invalid
from bot.prompts import Answer, Choice, Reply
from bot.refs import parse_consult, parse_offer
from bot.services import audit, consults
from bot.store import Consult, FlowRun, RecordsRequest, session_scope
from bot.text import say

if TYPE_CHECKING:
    from bot.services.conversation import Conversation

CONSULT_ANSWERS = ("can_help", "call_me", "not_now")


class ConsultAnswers:
    """Answers that come back on consult cards: recorded once, told to the asker, the run moved where needed."""

    def _answer_consult(self: Conversation, answer: Answer, inbound_key: str | None) -> Reply:
        consult_id = parse_consult(answer.ref) or 0
        value, note = answer.value, None
        if isinstance(value, dict):
            value, note = value.get("answer"), value.get("note")
        elif isinstance(value, str) and ":" in value:
            value, note = (part.strip() for part in value.split(":", 1))
        labels = tuple(Choice(v, say("consult_answer", value=v)) for v in CONSULT_ANSWERS)
        try:
            value = read_choice(value, labels)
        except Invalid as exc:
            return Reply(prompts=[self._notice(exc.reason)])
        with session_scope(self.engine) as session:
            member = self._member(session, answer.actor)
            if member is None:
                return self._not_a_member(answer.actor)
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            consult = session.get(Consult, consult_id)
            taken = consult is not None and consult.status == "waiting" and consult.asked_member_id == member.id
            try:
                messages = consults.answer(session, consult_id=consult_id, member=member, answer=value, note=note)
            except consults.ConsultError as exc:
                return Reply(prompts=[self._notice(str(exc))])
            mine = [p for m in messages if m.target == member.name for p in m.prompts]
            reply = Reply(prompts=mine, outbound=[m for m in messages if m.target != member.name], accepted=taken)
            return self._finish(
                session, reply, member, answer.actor, request_id=consult.request_id if consult else None
            )

    def _answer_offer(self: Conversation, answer: Answer, inbound_key: str | None) -> Reply:
        """The asker's reply to "no answer yet, ask someone else?": withdraw the consult and go back to the consult step."""
        consult_id = parse_offer(answer.ref) or 0
        labels = tuple(Choice(v, say("consults.offer_label", choice=v)) for v in consults.OFFER_CHOICES)
        try:
            choice = read_choice(answer.value, labels)
        except Invalid as exc:
            return Reply(prompts=[self._notice(exc.reason)])
        with session_scope(self.engine) as session:
            member = self._member(session, answer.actor)
            consult = session.get(Consult, consult_id)
            request = session.get(RecordsRequest, consult.request_id) if consult else None
            if member is None or consult is None or request is None or not self._may_see(member, request):
                return Reply(prompts=[self._notice(say("not_yours"))])
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("already_done"))], duplicate=True)
            if choice == "keep_waiting" or consult.status != "waiting":
                reply = Reply(prompts=[self._notice(say("still_waiting"))], accepted=choice == "keep_waiting")
                return self._finish(session, reply, member, answer.actor)
            consult.status = "withdrawn"
            session.add(consult)
            audit.record(
                session,
                request_id=consult.request_id,
                actor=member.name,
                action="consult.withdrawn",
                after={"consult_id": consult.id},
            )
            run = session.exec(
                select(FlowRun).where(FlowRun.request_id == consult.request_id, FlowRun.status == "active")
            ).first()
            if run is None or run.step not in ("consult", "decision"):
                reply = Reply(prompts=[self._notice(say("consult_withdrawn"))], accepted=True)
                return self._finish(session, reply, member, answer.actor)
            if run.step == "decision":  # not decided yet: step back so another colleague can be asked
                session.execute(
                    update(FlowRun).where(col(FlowRun.id) == run.id).values(step="consult", version=run.version + 1)
                )
                session.refresh(run)
            reply = Reply(prompts=flow_engine.prompts(self.flow, self._ctx(session, run, member.name)), accepted=True)
            return self._finish(session, reply, member, answer.actor, request_id=consult.request_id)
