"""Mixed into Conversation: what a person does to a whole request: take it over, resume, extend, cancel, its status."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot import engine as flow_engine
from bot.prompts import Outbound, Reply
from bot.services import case_files, consults, oversight, requests
from bot.services.effects import channel_post, owner_name
from bot.services.reminders import plan_reminders
from bot.store import Consult, FlowRun, Member, RecordsRequest, utcnow
from bot.text import say

if TYPE_CHECKING:
    from bot.services.conversation import Conversation

# "extend" comes after the acknowledgement (the timeframe step offers it there) and never from inside itself or after
BEFORE_TIMEFRAME = (
    "intake",
    "parties",
    "party_consents",
    "acknowledge",
    "acknowledge_date",
    "email_risk",
    "delivery_change",
    "direction",
)
NOT_FROM_HERE = (*BEFORE_TIMEFRAME, "extension_reason", "extension_date", "extension_notice", "follow_up")


class RequestCommands:
    """Commands on a whole request, each in the caller's transaction; the caller writes what they say."""

    def _hand_back(self: Conversation, session: Session, run: FlowRun, member: Member, reply: Reply) -> Reply:
        """A supervisor or admin answered on a colleague's request: the owner is told what changed and gets the next
        step; the one who stepped in sees what they did and how to take the request over."""
        owner = session.get(Member, run.member_id) if run.member_id else None
        request = session.get(RecordsRequest, run.request_id) if run.request_id else None
        if owner is None or request is None or not owner.active:
            return reply  # no owner to hand back to (they left the practice): the one who stepped in carries on
        notices = [p for p in reply.prompts if not p.expects_answer or case_files.is_button(p)]
        # the owner's next step is built for the owner (whom to consult, who may review, whose name is on drafts)
        session.refresh(run)
        asking = (
            [p for p in flow_engine.prompts(self.flow, self._ctx(session, run, owner.name)) if p.expects_answer]
            if run.status == "active"
            else []
        )
        told = self._notice(say("stepped_in", who=member.name, request=request, step=request.step))
        reply.outbound.append(
            Outbound(target_kind="member", target=owner.name, prompts=(told, *asking), phi_free=False)
        )
        handed = self._notice(say("handed_back", owner=owner.name, request=request, waiting=bool(asking)))
        return replace(reply, prompts=[*notices, handed])

    def _take(self: Conversation, session: Session, request: RecordsRequest, member: Member) -> Reply:
        """A supervisor or admin takes a colleague's request over: theirs from now on (owner, steps, reminders)."""
        if member.role not in ("supervisor", "admin"):
            return Reply(prompts=[self._notice(say("take_not_allowed"))])
        if request.status not in requests.OPEN_STATUSES:
            return Reply(prompts=[self._notice(say("already_closed", request=request))])
        before = session.get(Member, request.owner_id) if request.owner_id else None
        if before is not None and before.id == member.id:
            return Reply(prompts=[self._notice(say("already_yours", request=request))])
        # the same hand-over as an admin's reassign: the run, waiting consults and pending reminders, audited
        oversight.reassign(session, request, member, actor=member, practice=self.practice)
        run = session.exec(select(FlowRun).where(FlowRun.request_id == request.id, FlowRun.status == "active")).first()
        prompts = [self._notice(say("taken", request=request))]
        if run is not None:
            session.refresh(run)
            prompts.extend(flow_engine.prompts(self.flow, self._ctx(session, run, member.name)))
        outbound = []
        if before is not None:
            note = self._notice(say("taken_from_you", who=member.name, request=request))
            outbound.append(Outbound(target_kind="member", target=before.name, prompts=(note,), phi_free=False))
        return Reply(prompts=prompts, outbound=outbound, accepted=True)

    def _resume(self: Conversation, session: Session, request: RecordsRequest, member: Member) -> Reply:
        run = session.exec(
            select(FlowRun).where(FlowRun.request_id == request.id).order_by(col(FlowRun.id).desc())
        ).first()
        if run is None or run.status != "active":
            return Reply(prompts=[self._notice(self._status_text(session, request))])
        return Reply(prompts=flow_engine.prompts(self.flow, self._ctx(session, run, member.name)))

    def _extend(self: Conversation, session: Session, request: RecordsRequest, member: Member) -> Reply:
        """Take the one extension from wherever the run stands, then come back there."""
        run = session.exec(
            select(FlowRun)
            .where(FlowRun.request_id == request.id, FlowRun.status == "active")
            .order_by(col(FlowRun.id).desc())
        ).first()
        today = self.today()
        allowed = request.extension_open(today)
        if run is None or not allowed:
            return Reply(prompts=[self._notice(say("no_extension", request=request, today=today))])
        if run.step in NOT_FROM_HERE:
            early = run.step in BEFORE_TIMEFRAME
            return Reply(prompts=[self._notice(say("extend_not_now", step=run.step, early=early))])
        back = None if run.step in ("timeframe", "target") else run.step
        answers = {**run.answers, "return_to": back}
        session.execute(
            update(FlowRun)
            .where(col(FlowRun.id) == run.id)
            .values(step="extension_reason", answers=answers, version=run.version + 1, updated_at=utcnow())
        )
        session.refresh(run)
        requests.update_request(session, request, {"step": run.step}, actor=member.name)
        return Reply(prompts=flow_engine.prompts(self.flow, self._ctx(session, run, member.name)), accepted=True)

    def _cancel(
        self: Conversation,
        session: Session,
        request: RecordsRequest,
        member: Member,
        reason: str,
        *,
        in_chat: bool = False,
    ) -> Reply:
        if not reason:
            return Reply(prompts=[self._notice(say("cancel_needs_reason", reference=request.reference))])
        if len(reason) > 500:
            return Reply(prompts=[self._notice(say("text_too_long", length=len(reason), max_length=500))])
        if request.status not in requests.OPEN_STATUSES:  # released, denied or closed: nothing left to cancel
            return Reply(prompts=[self._notice(say("already_closed", request=request))])
        requests.update_request(
            session,
            request,
            {"status": "cancelled", "outcome": "cancelled", "outcome_note": reason, "closed_on": self.today()},
            actor=member.name,
        )
        session.execute(update(FlowRun).where(col(FlowRun.request_id) == request.id).values(status="cancelled"))
        plan_reminders(session, request, self.practice, now=utcnow())  # retires every reminder still pending
        # colleagues asked about it are not nudged about a request that no longer exists
        session.execute(
            update(Consult)
            .where(col(Consult.request_id) == request.id, col(Consult.status) == "waiting")
            .values(status="withdrawn")
        )
        return Reply(
            prompts=[self._closing(say("cancelled", request=request, in_chat=in_chat), request, in_chat)],
            outbound=[channel_post(self.practice, "cancelled", request, owner_name(session, request))],
        )

    def _status_text(self: Conversation, session: Session, request: RecordsRequest) -> str:
        owner = session.get(Member, request.owner_id) if request.owner_id else None
        asked = consults.states(session, request)  # each consult as it stands now: answered (with the note) or waiting
        return say("status", request=request, today=self.today(), owner=owner.name if owner else "", consults=asked)
